#include "server/http/error_status.hpp"

#include "core/base/error.hpp"

namespace nidan::server {

http::status status_for(const std::error_code& ec) {
    if (ec.category() != nidan_category()) return http::status::internal_server_error;
    switch (static_cast<errc>(ec.value())) {
    case errc::ok: return http::status::ok;
    case errc::not_found: return http::status::not_found;
    case errc::already_exists: return http::status::conflict;
    case errc::invalid_input: return http::status::bad_request;
    case errc::storage_full:
    case errc::storage_unavailable:
    case errc::overloaded:
    case errc::shutting_down: return http::status::service_unavailable;
    case errc::storage_corrupt: return http::status::internal_server_error;
    }
    return http::status::internal_server_error;
}

}  // namespace nidan::server
