#include "server/http/error_response.hpp"

#include <system_error>

#include "core/base/error.hpp"
#include "core/base/log.hpp"
#include "server/http/error_status.hpp"

namespace nidan::server {

http::status failed_request_status(std::exception_ptr failure, std::string_view path) {
    std::error_code code = make_error_code(std::errc::io_error);
    try {
        std::rethrow_exception(failure);
    } catch (const std::system_error& e) {
        code = e.code();
        const bool full = code == errc::storage_full;
        auto event = full ? log::error("storage.full") : log::error("request.failed");
        event.add("path", path).add("error", e.what());
        if (full) event.add("hint", "raise storage.map_size_mib");
    } catch (const std::exception& e) {
        log::error("request.failed").add("path", path).add("error", e.what());
    } catch (...) {
        log::error("request.failed").add("path", path).add("error", "unknown exception");
    }
    return status_for(code);
}

}  // namespace nidan::server
