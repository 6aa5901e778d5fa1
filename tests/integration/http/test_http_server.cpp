// Starts the real `nidan serve` on a free loopback port and checks the HTTP layer: health
// endpoints, routing errors, size limits, request smuggling, keep-alive, deadlines, static files,
// the connection cap and graceful shutdown.
#define BOOST_TEST_MODULE http_server
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;

namespace {

const std::string host = "Host: 127.0.0.1\r\n";

struct running_server {
    temp_dir dir;
    server_process server;
    explicit running_server(const std::vector<std::string>& overrides = {})
        : server((dir / "data").string(), overrides) {}
    unsigned short port() const { return server.port(); }
};

void expect_refused(unsigned short port, const std::string& bytes, int status) {
    connection c(port);
    c.send(bytes);
    auto reply = c.read_reply();
    BOOST_REQUIRE_MESSAGE(reply, "no reply to: " << bytes.substr(0, 60));
    BOOST_TEST(reply->status == status);
    BOOST_TEST(reply->header("connection") == "close");
    BOOST_TEST(c.closed_by_peer(3s));
}

}  // namespace

BOOST_AUTO_TEST_CASE(health_and_readiness) {
    running_server s;
    auto health = get(s.port(), "/healthz");
    BOOST_REQUIRE(health);
    BOOST_TEST(health->status == 200);
    BOOST_TEST(health->body == "ok\n");
    BOOST_TEST(health->header("x-content-type-options") == "nosniff");
    auto ready = get(s.port(), "/readyz");
    BOOST_REQUIRE(ready);
    BOOST_TEST(ready->status == 200);
    BOOST_TEST(ready->body == "ready\n");
}

BOOST_AUTO_TEST_CASE(the_buffered_access_log_is_written_within_its_interval_and_at_exit) {
    running_server s({"log.flush_interval_ms=300"});
    const auto count = [&](const std::string& path) {
        const auto log = s.server.log_text();
        std::size_t n = 0;
        for (auto at = log.find("event=http.request "); at != std::string::npos;
             at = log.find("event=http.request ", at + 1)) {
            const auto end = log.find('\n', at);
            if (log.substr(at, end - at).find(" path=" + path + " ") != std::string::npos) ++n;
        }
        return n;
    };
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(get(s.port(), "/healthz"));
    bool written = false;
    for (int i = 0; i < 100 && !written; ++i) {
        std::this_thread::sleep_for(30ms);
        written = count("/healthz") == 3;
    }
    BOOST_TEST(written, s.server.log_text());

    // Lines logged just before SIGTERM are written before the process exits.
    for (int i = 0; i < 5; ++i) BOOST_REQUIRE(get(s.port(), "/readyz"));
    s.server.signal(SIGTERM);
    const auto exit_code = s.server.wait_exit(15s);
    BOOST_TEST_REQUIRE(exit_code.has_value());
    BOOST_TEST(*exit_code == 0);
    BOOST_TEST(count("/readyz") == 5u, s.server.log_text());
}

BOOST_AUTO_TEST_CASE(threads_carry_names_that_say_what_they_do) {
    running_server s({"server.io_threads=3", "log.flush_interval_ms=1000"});
    BOOST_REQUIRE(get(s.port(), "/readyz"));  // the writer has run a transaction
    std::multiset<std::string> names;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(s.server.pid()) + "/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        names.insert(name);
    }
    std::string all;
    for (const auto& n : names) all += n + " ";
    BOOST_TEST(names.count("nidan") >= 1u, all);  // the main thread keeps the program's name
    BOOST_TEST(names.count("nidan-io-1") == 1u, all);
    BOOST_TEST(names.count("nidan-io-2") == 1u, all);
    BOOST_TEST(names.count("nidan-io-3") == 0u, all);
    BOOST_TEST(names.count("nidan-writer") == 1u, all);
    BOOST_TEST(names.count("nidan-log") == 1u, all);
}

BOOST_AUTO_TEST_CASE(routing_errors) {
    running_server s;
    auto missing = get(s.port(), "/no/such/page");
    BOOST_REQUIRE(missing);
    BOOST_TEST(missing->status == 404);
    BOOST_TEST(missing->header("content-type") == "text/html; charset=utf-8");
    BOOST_TEST(missing->body.find("404") != std::string::npos);
    BOOST_TEST(missing->header("content-security-policy").find("default-src 'none'") != std::string::npos);
    BOOST_TEST(missing->header("x-frame-options") == "DENY");

    auto wrong = request(s.port(), "DELETE /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
    BOOST_REQUIRE(wrong);
    BOOST_TEST(wrong->status == 405);
    BOOST_TEST(wrong->header("allow") == "GET, HEAD");

    auto head = request(s.port(), "HEAD /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", true);
    BOOST_REQUIRE(head);
    BOOST_TEST(head->status == 200);
    BOOST_TEST(head->header("content-length") == "3");
}

BOOST_AUTO_TEST_CASE(size_limits) {
    running_server s;
    // The declared length alone is enough to refuse: the body is never read.
    expect_refused(s.port(), "POST /healthz HTTP/1.1\r\n" + host + "Content-Length: 17000\r\n\r\n", 413);
    // A chunked body that grows past the limit while it is read.
    std::string chunked = "POST /healthz HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) chunked += "400\r\n" + std::string(1024, 'a') + "\r\n";
    chunked += "0\r\n\r\n";
    expect_refused(s.port(), chunked, 413);
    expect_refused(s.port(), "GET /healthz HTTP/1.1\r\n" + host + "X-Big: " + std::string(9000, 'b') + "\r\n\r\n", 431);
    // Many fields of moderate size, over the 8 KiB limit in total and sent in one piece: the limit
    // counts the whole header, not only what arrives after the server's first read.
    std::string many = "GET /healthz HTTP/1.1\r\n" + host;
    for (int i = 0; i < 10; ++i) many += "X-Fill-" + std::to_string(i) + ": " + std::string(990, 'f') + "\r\n";
    expect_refused(s.port(), many + "\r\n", 431);
    // Just under the limit is served.
    std::string fits = "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n";
    for (int i = 0; i < 7; ++i) fits += "X-Fill-" + std::to_string(i) + ": " + std::string(990, 'f') + "\r\n";
    const auto served = request(s.port(), fits + "\r\n");
    BOOST_TEST_REQUIRE(served.has_value());
    BOOST_TEST(served->status == 200);
}

BOOST_AUTO_TEST_CASE(malformed_requests) {
    running_server s;
    expect_refused(s.port(), "this is not http\r\n\r\n", 400);
    expect_refused(s.port(), "GET /healthz HTTP/1.1\r\n" + host + "Bad Header Line\r\n\r\n", 400);
    expect_refused(s.port(), "GET /healthz HTTP/9.9\r\n" + host + "\r\n", 400);
    expect_refused(s.port(), "GET /healthz HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n", 400);
    // Absolute-form targets are for proxies.
    auto absolute = request(s.port(), "GET http://example.jp/healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
    BOOST_REQUIRE(absolute);
    BOOST_TEST(absolute->status == 400);
    // The server still answers afterwards.
    auto health = get(s.port(), "/healthz");
    BOOST_REQUIRE(health);
    BOOST_TEST(health->status == 200);
}

BOOST_AUTO_TEST_CASE(request_smuggling_is_refused) {
    running_server s;
    const std::string post = "POST /healthz HTTP/1.1\r\n";
    expect_refused(s.port(), post + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    expect_refused(s.port(), post + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400);
    expect_refused(s.port(), post + host + "Transfer-Encoding: identity\r\n\r\n", 400);
    expect_refused(s.port(), post + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    expect_refused(s.port(), "POST /healthz HTTP/1.0\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    expect_refused(s.port(), post + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
    expect_refused(s.port(), "GET /healthz HTTP/1.1\r\n\r\n", 400);
    expect_refused(s.port(), "GET /healthz HTTP/1.1\r\n" + host + host + "\r\n", 400);
}

BOOST_AUTO_TEST_CASE(keep_alive_and_pipelining) {
    running_server s;
    connection c(s.port());
    for (int i = 0; i < 3; ++i) {
        c.send("GET /healthz HTTP/1.1\r\n" + host + "\r\n");
        auto reply = c.read_reply();
        BOOST_REQUIRE(reply);
        BOOST_TEST(reply->status == 200);
        BOOST_TEST(reply->header("connection") != "close");
    }
    // Two requests in one write are answered in order on the same connection.
    c.send("GET /healthz HTTP/1.1\r\n" + host + "\r\nGET /nope HTTP/1.1\r\n" + host + "\r\n");
    auto first = c.read_reply();
    auto second = c.read_reply();
    BOOST_REQUIRE(first);
    BOOST_REQUIRE(second);
    BOOST_TEST(first->status == 200);
    BOOST_TEST(second->status == 404);

    // HTTP/1.0 without keep-alive is closed after its response.
    connection old(s.port());
    old.send("GET /healthz HTTP/1.0\r\n\r\n");
    auto reply = old.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 200);
    BOOST_TEST(old.closed_by_peer(3s));
}

BOOST_AUTO_TEST_CASE(deadlines_close_slow_and_idle_clients) {
    running_server s({"server.idle_timeout_ms=300", "server.header_timeout_ms=400", "server.body_timeout_ms=400"});
    {
        connection idle(s.port());
        idle.send("GET /healthz HTTP/1.1\r\n" + host + "\r\n");
        BOOST_REQUIRE(idle.read_reply());
        BOOST_TEST(idle.closed_by_peer(3s));
    }
    {
        // A header that never ends (slowloris).
        connection slow(s.port());
        slow.send("GET /healthz HTTP/1.1\r\n" + host + "X-Slow: ");
        std::this_thread::sleep_for(200ms);
        slow.send("still");
        BOOST_TEST(slow.closed_by_peer(3s));
    }
    {
        // A body shorter than its Content-Length.
        connection slow(s.port());
        slow.send("POST /healthz HTTP/1.1\r\n" + host + "Content-Length: 100\r\n\r\nshort");
        BOOST_TEST(slow.closed_by_peer(3s));
    }
    {
        // A connection that never sends anything.
        connection silent(s.port());
        BOOST_TEST(silent.closed_by_peer(3s));
    }
    auto health = get(s.port(), "/healthz");
    BOOST_REQUIRE(health);
    BOOST_TEST(health->status == 200);
}

BOOST_AUTO_TEST_CASE(static_files) {
    running_server s;
    auto css = get(s.port(), "/static/style.css");
    BOOST_REQUIRE(css);
    BOOST_TEST(css->status == 200);
    BOOST_TEST(css->header("content-type") == "text/css; charset=utf-8");
    BOOST_TEST(css->header("cache-control").find("max-age=") != std::string::npos);
    BOOST_TEST(!css->body.empty());
    const auto etag = css->header("etag");
    BOOST_REQUIRE(!etag.empty());

    auto again = request(s.port(), "GET /static/style.css HTTP/1.1\r\n" + host + "If-None-Match: " + etag +
                                       "\r\nConnection: close\r\n\r\n");
    BOOST_REQUIRE(again);
    BOOST_TEST(again->status == 304);
    BOOST_TEST(again->body.empty());

    for (const char* path : {"/static/../conf/nidan.toml", "/static/%2e%2e/conf/nidan.toml", "/static/missing.css",
                             "/static/"}) {
        auto reply = get(s.port(), path);
        BOOST_REQUIRE(reply);
        BOOST_TEST(reply->status == 404, path);
    }
}

BOOST_AUTO_TEST_CASE(connection_cap) {
    running_server s({"server.max_connections=2"});
    connection a(s.port());
    connection b(s.port());
    // Make sure both are admitted before the third arrives.
    a.send("GET /healthz HTTP/1.1\r\n" + host + "\r\n");
    b.send("GET /healthz HTTP/1.1\r\n" + host + "\r\n");
    BOOST_REQUIRE(a.read_reply());
    BOOST_REQUIRE(b.read_reply());
    connection c(s.port());
    auto refused = c.read_reply();
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 503);
    BOOST_TEST(refused->header("retry-after") == "1");
}

BOOST_AUTO_TEST_CASE(sigterm_shuts_down_cleanly) {
    running_server s({"server.shutdown_grace_ms=2000"});
    connection idle(s.port());
    idle.send("GET /healthz HTTP/1.1\r\n" + host + "\r\n");
    BOOST_REQUIRE(idle.read_reply());
    s.server.signal(SIGTERM);
    auto code = s.server.wait_exit(10s);
    BOOST_REQUIRE(code);
    BOOST_TEST(*code == 0);
    BOOST_TEST(idle.closed_by_peer(1s));
    const auto log = s.server.log_text();
    BOOST_TEST(log.find("event=server.stopping") != std::string::npos);
    BOOST_TEST(log.find("event=server.stopped") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shutdown_grace_bounds_a_stuck_request) {
    running_server s({"server.shutdown_grace_ms=300", "server.header_timeout_ms=60000"});
    // A request whose header never completes keeps its connection busy, not idle.
    connection stuck(s.port());
    stuck.send("GET /healthz HTTP/1.1\r\n" + host);
    std::this_thread::sleep_for(100ms);
    const auto started = std::chrono::steady_clock::now();
    s.server.signal(SIGINT);
    auto code = s.server.wait_exit(10s);
    BOOST_REQUIRE(code);
    BOOST_TEST(*code == 0);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 5s));
    BOOST_TEST(s.server.log_text().find("shutdown_grace_expired") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_config_stops_startup_naming_the_key) {
    temp_dir dir;
    auto result = run_nidan({"serve", "--config", source_dir() + "/conf/nidan.toml", "--set",
                             "storage.data_dir=" + (dir / "data").string(), "--set", "server.io_threads=0"});
    BOOST_TEST(result.exit_code == 2);
    BOOST_TEST(result.err.find("server.io_threads") != std::string::npos);

    auto unknown = run_nidan({"serve", "--set", "server.no_such_key=1"});
    BOOST_TEST(unknown.exit_code == 2);
    BOOST_TEST(unknown.err.find("server.no_such_key") != std::string::npos);
}
