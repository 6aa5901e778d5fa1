// Idle keep-alive connections held open against a running `nidan serve`: what each costs the
// server. Prints figures; asserts nothing.
//
//   bench_idle_connections --port P --connections N [--per-address K] [--first-address A]
//                          [--server-pid PID] [--hold-seconds S] [--ready-file FILE]
//
// Opens N connections to 127.0.0.1:P, each bound first to a source address of 127.0.0.0/8
// (127.0.0.A, then A+1 after every K connections; all of 127/8 is loopback on Linux), so
// neither the ephemeral port range nor server.max_connections_per_client (256 by default: keep
// K below it) limits them. On each it sends one GET /healthz and reads the answer, then leaves
// the connection idle (keep-alive). With --server-pid it reads the server's VmRSS from
// /proc/PID/status before the first connection and once all are idle, and prints the
// difference per connection. Then it holds them until SIGTERM or SIGINT or --hold-seconds
// (default 600), whichever comes first, counts those the server closed meanwhile,
// and closes them all. --ready-file gets the figures line once all connections are idle, for a
// parent process to wait for.
//
// The soft open-files limit is raised to the hard one; past it connections fail and are
// counted, nothing hangs. Connects run at most 256 at a time (the listen backlog), every one
// bounded by a 10 s timeout.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
template <class T>
using awaitable = net::awaitable<T>;
constexpr auto as_result = net::as_tuple(net::use_awaitable);

constexpr unsigned max_in_flight = 256;
constexpr auto connect_timeout = std::chrono::seconds(10);

struct options {
    unsigned short port = 0;
    unsigned connections = 0;
    unsigned per_address = 200;
    unsigned first_address = 2;
    long server_pid = 0;
    double hold_seconds = 600;
    std::string ready_file;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "bench_idle_connections: %s\n"
                 "usage: bench_idle_connections --port P --connections N (1-1000000) [--per-address K (1-65000)]\n"
                 "         [--first-address A (1-254)] [--server-pid PID] [--hold-seconds S (1-3600)] [--ready-file FILE]\n",
                 why.c_str());
    std::exit(2);
}

long whole_in(const std::string& value, long low, long high, const std::string& flag) {
    char* end = nullptr;
    const long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < low || v > high) usage(flag + " out of range");
    return v;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") usage("idle keep-alive connections against a running server");
        if (i + 1 >= argc) usage("missing value after " + flag);
        const std::string value = argv[++i];
        if (flag == "--port") o.port = static_cast<unsigned short>(whole_in(value, 1, 65535, flag));
        else if (flag == "--connections") o.connections = static_cast<unsigned>(whole_in(value, 1, 1000000, flag));
        else if (flag == "--per-address") o.per_address = static_cast<unsigned>(whole_in(value, 1, 65000, flag));
        else if (flag == "--first-address") o.first_address = static_cast<unsigned>(whole_in(value, 1, 254, flag));
        else if (flag == "--server-pid") o.server_pid = whole_in(value, 1, 1L << 30, flag);
        else if (flag == "--hold-seconds") o.hold_seconds = static_cast<double>(whole_in(value, 1, 3600, flag));
        else if (flag == "--ready-file") o.ready_file = value;
        else usage("unknown option " + flag);
    }
    if (o.port == 0 || o.connections == 0) usage("--port and --connections are required");
    // 127.0.0.A .. 127.255.255.254: the address is counted up across the last three bytes.
    if (static_cast<double>(o.connections) / o.per_address + o.first_address > 16777214.0) usage("too few source addresses");
    return o;
}

// VmRSS of a process in KiB; 0 when unreadable.
long rss_kib(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    for (int n = 0; n < 200 && std::getline(in, line); ++n)
        if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

// The n-th source address: 127.0.0.first, counted on into the higher bytes past .255.
net::ip::address_v4 source_address(const options& o, unsigned index) {
    const auto offset = o.first_address + index / o.per_address;
    return net::ip::address_v4((127u << 24) | offset);
}

struct tally {
    unsigned held = 0, refused = 0, failed = 0, dropped = 0;
    unsigned in_flight = 0, next = 0, finished = 0;
};

// One connection: bind, connect, GET /healthz, read the answer; on 200 with keep-alive the
// socket is kept in `held`.
awaitable<void> open_one(const options& o, unsigned index, tally& t, std::vector<std::unique_ptr<tcp::socket>>& held) {
    auto ex = co_await net::this_coro::executor;
    beast::tcp_stream stream(ex);
    beast::error_code ec;
    stream.socket().open(tcp::v4(), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(source_address(o, index), 0), ec);
    if (ec) {
        ++t.failed;
        co_return;
    }
    stream.expires_after(connect_timeout);
    auto [connect_ec] = co_await stream.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), o.port), as_result);
    if (connect_ec) {
        ++t.failed;
        co_return;
    }
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    auto [write_ec, written] = co_await http::async_write(stream, req, as_result);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (!write_ec) {
        auto [read_ec, read] = co_await http::async_read(stream, buffer, res, as_result);
        write_ec = read_ec;
    }
    if (write_ec) {
        ++t.failed;
        co_return;
    }
    if (res.result_int() != 200 || !res.keep_alive()) {
        ++t.refused;  // 503 past server.max_connections(_per_client)
        co_return;
    }
    stream.expires_never();
    ++t.held;
    held.push_back(std::make_unique<tcp::socket>(stream.release_socket()));
}

// Keeps at most max_in_flight connects going until all N have finished.
awaitable<void> open_all(const options& o, tally& t, std::vector<std::unique_ptr<tcp::socket>>& held) {
    auto ex = co_await net::this_coro::executor;
    net::steady_timer wake(ex);
    while (t.finished < o.connections) {
        while (t.in_flight < max_in_flight && t.next < o.connections) {
            ++t.in_flight;
            net::co_spawn(ex, open_one(o, t.next++, t, held), [&t, &wake](std::exception_ptr) {
                --t.in_flight;
                ++t.finished;
                wake.cancel();
            });
        }
        wake.expires_after(std::chrono::milliseconds(100));
        co_await wake.async_wait(as_result);
    }
}

// Counts a connection the server closes (or that errs) while it should be idle.
awaitable<void> watch(tcp::socket& socket, tally& t) {
    char byte = 0;
    auto [ec, n] = co_await socket.async_read_some(net::buffer(&byte, 1), as_result);
    if (ec != net::error::operation_aborted) ++t.dropped;
}

void raise_open_files_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const auto o = parse(argc, argv);
    raise_open_files_limit();
    net::io_context ioc(1);
    tally t;
    std::vector<std::unique_ptr<tcp::socket>> held;
    held.reserve(o.connections);
    const long rss_before = o.server_pid ? rss_kib(o.server_pid) : 0;
    const auto start = clock_type::now();
    net::co_spawn(ioc, open_all(o, t, held), net::detached);
    ioc.run();
    ioc.restart();
    const double open_s = std::chrono::duration<double>(clock_type::now() - start).count();
    // The server has answered each request; a short pause lets its io threads settle.
    ::usleep(300000);
    const long rss_after = o.server_pid ? rss_kib(o.server_pid) : 0;
    const double kib_per = t.held && o.server_pid ? static_cast<double>(rss_after - rss_before) / t.held : 0;
    char line[512];
    std::snprintf(line, sizeof line,
                  "idle_connections held=%u refused=%u failed=%u open_s=%.2f rss_before_kb=%ld rss_after_kb=%ld "
                  "kb_per_connection=%.2f projected_50000_mb=%.1f\n",
                  t.held, t.refused, t.failed, open_s, rss_before, rss_after, kib_per,
                  (static_cast<double>(rss_before) + 50000 * kib_per) / 1024);
    std::fputs(line, stdout);
    std::fflush(stdout);
    if (!o.ready_file.empty()) {
        const std::string partial = o.ready_file + ".part";
        std::ofstream(partial) << line;
        std::rename(partial.c_str(), o.ready_file.c_str());
    }

    // Hold: until a signal or the time bound.
    for (auto& s : held) net::co_spawn(ioc, watch(*s, t), net::detached);
    net::signal_set signals(ioc, SIGTERM, SIGINT);
    net::steady_timer bound(ioc, std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.hold_seconds)));
    auto stop = [&] {
        signals.cancel();
        bound.cancel();
        for (auto& s : held) {
            beast::error_code ignored;
            s->close(ignored);
        }
    };
    signals.async_wait([&](const beast::error_code& ec, int) { if (!ec) stop(); });
    bound.async_wait([&](const beast::error_code& ec) { if (!ec) stop(); });
    ioc.run_for(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.hold_seconds + 5)));
    std::printf("idle_connections_closed dropped_by_server=%u\n", t.dropped);
    return 0;
}
