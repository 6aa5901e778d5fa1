// The server over TLS (tls.enabled): a certificate made for the test, a handshake and requests
// through curl, a plain-HTTP client refused, and startup refused with a missing certificate.
#define BOOST_TEST_MODULE tls
#include <boost/test/unit_test.hpp>

#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"
#include "tls_client.hpp"

using namespace nidan_test;

BOOST_AUTO_TEST_CASE(serves_https_with_the_configured_certificate) {
    temp_dir dir;
    certificate tls(dir);
    server_process server((dir / "data").string(), {"tls.enabled=true", "tls.cert_file=" + tls.cert, "tls.key_file=" + tls.key});
    const auto url = "https://127.0.0.1:" + std::to_string(server.port());

    const auto body = run_shell("curl -sS --max-time 10 --cacert " + tls.cert + " " + url + "/healthz");
    BOOST_TEST(body == "ok\n");
    // Two requests on one TLS connection (keep-alive), both answered.
    const auto codes = run_shell("curl -sS --max-time 10 -w '%{http_code} ' --cacert " + tls.cert + " -o /dev/null " +
                                 url + "/readyz -o /dev/null " + url + "/nope");
    BOOST_TEST(codes == "200 404 ");
    // TLS 1.1 and older are refused.
    const auto old = run_shell("curl -sS --max-time 10 --tlsv1.1 --tls-max 1.1 -o /dev/null -w '%{http_code}' --cacert " +
                               tls.cert + " " + url + "/healthz 2>/dev/null");
    BOOST_TEST(old == "000");

    // A plain-HTTP client gets no answer and the server keeps serving.
    {
        connection plain(server.port(), std::chrono::seconds(3));
        plain.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        auto reply = plain.read_reply();
        BOOST_TEST(!reply.has_value());
    }
    BOOST_TEST(run_shell("curl -sS --max-time 10 --cacert " + tls.cert + " " + url + "/healthz") == "ok\n");
}

BOOST_AUTO_TEST_CASE(missing_certificate_stops_startup) {
    temp_dir dir;
    auto result = run_nidan({"serve", "--config", source_dir() + "/conf/nidan.toml", "--set",
                             "storage.data_dir=" + (dir / "data").string(), "--set", "server.listen=127.0.0.1:0",
                             "--set", "tls.enabled=true", "--set", "tls.cert_file=" + (dir / "none.pem").string(),
                             "--set", "tls.key_file=" + (dir / "none.key").string(),
                             "--set", "server.templates_dir=" + source_dir() + "/templates"});
    BOOST_TEST(result.exit_code == 1);
    BOOST_TEST(result.err.find("tls.cert_file") != std::string::npos, result.err);
}
