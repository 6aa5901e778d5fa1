// failed_request_status: the one way an exception from a handler (page or API) becomes a status
// and a log line. A full LMDB map must be named as such, with the operator's hint.
#define BOOST_TEST_MODULE error_response
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/base/error.hpp"
#include "core/base/log.hpp"
#include "nidan_test/temp_dir.hpp"
#include "server/http/error_response.hpp"

namespace {

std::string read_all(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_map_logs_storage_full_with_its_hint) {
    nidan_test::temp_dir dir;
    const auto file = dir.path() / "nidan.log";
    nidan::log_config cfg;
    cfg.file = file;
    nidan::log::init(cfg);

    namespace server = nidan::server;
    const auto full = std::make_exception_ptr(std::system_error(nidan::make_error_code(nidan::errc::storage_full), "put"));
    BOOST_TEST(server::failed_request_status(full, "/api/v1/ip-phone/login") == server::http::status::service_unavailable);
    const auto other = std::make_exception_ptr(std::runtime_error("boom"));
    BOOST_TEST(server::failed_request_status(other, "/portal/ip-phone/code") == server::http::status::internal_server_error);
    nidan::log::flush();

    const auto log = read_all(file);
    BOOST_TEST(contains(log, "event=storage.full path=/api/v1/ip-phone/login"), log);
    BOOST_TEST(contains(log, "raise storage.map_size_mib"), log);
    BOOST_TEST(contains(log, "event=request.failed path=/portal/ip-phone/code"), log);
    BOOST_TEST(!contains(log, "event=request.failed path=/api/v1/ip-phone/login"), log);
}
