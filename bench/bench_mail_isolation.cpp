// Does a slow or dead mail relay slow down issuing a code? Measures, in one run, the latency of
// the storage part of a login step -- queue a login-code mail in the outbox through the storage
// writer and wake the delivery loop, awaited from a coroutine on an io thread -- while the
// delivery loop sends to (a) a healthy relay (scripts/mail_sink.py, aiosmtpd) and (b) a relay
// that accepts connections and never answers. Prints p50/p99/max per case and the ratio b/a.
// Bounded: --count mails per case (default 300) at --rate per second (default 100).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "core/base/log.hpp"
#include "core/render/template_store.hpp"
#include "core/mail/code_mailer.hpp"
#include "server/smtp/mail_delivery.hpp"
#include "server/base/storage_bridge.hpp"
#include "storage/open/open_backend.hpp"

namespace net = boost::asio;
namespace fs = std::filesystem;
using namespace nidan;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
    int count = 300;
    int rate = 100;
};

unsigned short free_port() {
    net::io_context ioc;
    net::ip::tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// A relay that accepts and then says nothing: every connection waits for the greeting timeout.
class stalled_relay {
public:
    stalled_relay() : acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
        accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~stalled_relay() {
        ioc_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, net::ip::tcp::socket s) {
            if (!ec) held_.push_back(std::move(s));
            if (acceptor_.is_open()) accept();
        });
    }
    net::io_context ioc_;
    net::ip::tcp::acceptor acceptor_;
    std::vector<net::ip::tcp::socket> held_;
    std::thread thread_;
};

// scripts/mail_sink.py on a port of its own.
class healthy_relay {
public:
    healthy_relay(const fs::path& dir) : port_(free_port()) {
        std::fflush(stdout);  // the child must not print our buffered output again
        pid_ = ::fork();
        if (pid_ == 0) {
            const std::string listen = "127.0.0.1:" + std::to_string(port_);
            const std::string script = std::string(NIDAN_BENCH_SOURCE_DIR) + "/scripts/mail_sink.py";
            const std::string folder = dir.string();
            std::freopen("/dev/null", "w", stdout);
            ::execl("/usr/bin/python3", "python3", script.c_str(), "--listen", listen.c_str(), "--dir", folder.c_str(), nullptr);
            ::_exit(127);
        }
        // Wait until it accepts connections.
        for (int i = 0; i < 100; ++i) {
            net::io_context ioc;
            net::ip::tcp::socket s(ioc);
            boost::system::error_code ec;
            s.connect({net::ip::make_address("127.0.0.1"), port_}, ec);
            if (!ec) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        throw std::runtime_error("the mail sink did not start (is python3-aiosmtpd installed?)");
    }
    ~healthy_relay() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    unsigned short port() const { return port_; }

private:
    unsigned short port_;
    pid_t pid_ = -1;
};

struct latencies {
    std::vector<double> ms;
    std::uint64_t sent = 0;
    std::uint64_t queued_after = 0;
    double at(double q) const {
        auto sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
    }
};

latencies run_case(const settings& s, unsigned short relay_port, const fs::path& dir) {
    config cfg;
    cfg.storage.data_dir = dir / "data";
    cfg.smtp.relay = {"127.0.0.1", relay_port};
    cfg.smtp.greeting_timeout = std::chrono::milliseconds(10'000);  // a relay answering after 10 s
    cfg.smtp.retry_backoff = {std::chrono::seconds(5)};
    const auto store = storage::open_backend(cfg.storage);
    template_store templates(fs::path(NIDAN_BENCH_SOURCE_DIR) / "templates");
    code_mailer mailer(cfg, templates);

    net::io_context ioc(2);
    server::mail_delivery delivery(ioc, cfg, *store);
    delivery.start();
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([&ioc] { ioc.run(); });

    auto issue_codes = [&]() -> net::awaitable<latencies> {
        latencies out;
        net::steady_timer pace(co_await net::this_coro::executor);
        const auto interval = std::chrono::microseconds(1'000'000 / s.rate);
        for (int i = 0; i < s.count; ++i) {
            const auto now = static_cast<std::int64_t>(std::time(nullptr));
            auto mail = mailer.login_code({"ip-phone", "IP電話サービス", "user" + std::to_string(i) + "@example.jp",
                                           "123456", now, now + 1200});
            const auto started = clock_type::now();
            auto ec = co_await server::write(*store, [&mail](storage::record_store& records) {
                records.queue_mail(std::move(mail), 0);
            });
            delivery.notify();
            out.ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - started).count());
            if (ec) std::cerr << "enqueue failed: " << ec.message() << "\n";
            pace.expires_after(interval);
            co_await pace.async_wait(net::as_tuple(net::use_awaitable));
        }
        co_return out;
    };
    auto result = net::co_spawn(ioc, issue_codes(), net::use_future).get();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    result.sent = delivery.metrics().sent.load();
    delivery.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ioc.stop();
    for (auto& t : threads) t.join();
    storage::read_now(*store, [&result](const storage::record_view& v) { result.queued_after = v.outbox_statistics().queued; });
    store->stop();
    return result;
}

void print_row(const char* name, const latencies& l) {
    std::printf("%-34s %6zu %9.3f %9.3f %9.3f %8llu %8llu\n", name, l.ms.size(), l.at(0.5), l.at(0.99),
                *std::max_element(l.ms.begin(), l.ms.end()), static_cast<unsigned long long>(l.sent),
                static_cast<unsigned long long>(l.queued_after));
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--count") s.count = std::clamp(std::atoi(argv[i + 1]), 10, 100000);
        else if (flag == "--rate") s.rate = std::clamp(std::atoi(argv[i + 1]), 1, 10000);
        else {
            std::cerr << "usage: bench_mail_isolation [--count N] [--rate PER_SECOND]\n";
            return 2;
        }
    }
    log_config quiet;
    quiet.level = "warn";
    log::init(quiet);
    std::string pattern = (fs::temp_directory_path() / "nidan-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return 1;
    const fs::path work = pattern;
    try {
        std::printf("queue a code mail via the writer + wake delivery, %d mails at %d/s per case (latency in ms)\n\n",
                    s.count, s.rate);
        std::printf("%-34s %6s %9s %9s %9s %8s %8s\n", "relay", "mails", "p50", "p99", "max", "sent", "queued");
        latencies healthy, stalled;
        {
            healthy_relay relay(work / "sink");
            healthy = run_case(s, relay.port(), work / "healthy");
        }
        print_row("healthy (aiosmtpd)", healthy);
        {
            stalled_relay relay;
            stalled = run_case(s, relay.port(), work / "stalled");
        }
        print_row("stalled (accepts, never answers)", stalled);
        std::printf("\nstalled / healthy: p50 x%.2f, p99 x%.2f\n", stalled.at(0.5) / healthy.at(0.5),
                    stalled.at(0.99) / healthy.at(0.99));
    } catch (const std::exception& e) {
        std::cerr << "bench_mail_isolation: " << e.what() << "\n";
        fs::remove_all(work);
        return 1;
    }
    fs::remove_all(work);
    return 0;
}
