// Argon2id cost, and what the hash pool does with it. Prints figures; asserts nothing.
//
//   bench_hash [--seconds N] [--memory-kib M] [--iterations T] [--coroutines C] [--sodium-only K]
//
// --sodium-only K: only libsodium's own crypto_pwhash_argon2id_str_verify, on K threads at once
// (1 to 64), for M and T, printed as one line "sodium_verify_per_s=R count=N ms=X" with R the
// threads' total (bench/hash_limit.sh divides the whole-login rate by it: K=1 is one core's
// rate, K=2 what two hashes at once really get, sharing the memory bus and the caches).
//
// 1. One thread calling password_hasher directly: hash() and verify() per second, ms each.
// 2. verify_dummy() (the unknown-ID path) against verify() with the right and a wrong password:
//    the ratio should be ~1.0, so response time does not tell which IDs exist.
// 3. The server's arrangement: an io_context run by one thread, C coroutines each co_await-ing
//    hash_pool::run(verify) in a loop, with hash.threads = 1 and 2. Besides verifies/s it reports
//    how much the io thread is disturbed: its own CPU time per request (it should only resume
//    coroutines, never hash) and the lateness of a 1 ms periodic timer running on it.
//
// Every loop stops after --seconds (default 2) or a fixed count, whichever comes first.
#include <sodium.h>
#include <sys/resource.h>
#include <time.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config/config.hpp"
#include "core/security/password_hasher.hpp"
#include "server/base/hash_pool.hpp"

namespace {

namespace net = boost::asio;
using nidan::server::awaitable;
using clock_type = std::chrono::steady_clock;
using std::chrono::duration;

constexpr std::size_t max_ops_per_case = 100000;  // count bound next to the time bound
constexpr std::string_view password = "correct horse battery staple";
constexpr std::string_view wrong_password = "correct horse battery stapler";

struct options {
    double seconds = 2.0;
    std::uint32_t memory_kib = nidan::hash_config{}.memory_kib;
    std::uint32_t iterations = nidan::hash_config{}.iterations;
    unsigned coroutines = 4;
    unsigned sodium_threads = 0;  // 0: the full benchmark
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "bench_hash: %s\nusage: bench_hash [--seconds N (0.1-60)] [--memory-kib M] [--iterations T] "
                 "[--coroutines C (1-64)] [--sodium-only K (1-64)]\n",
                 why);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") usage("measures Argon2id and the hash pool");
        if (i + 1 >= argc) usage("missing value after an option");
        const char* value = argv[++i];
        char* end = nullptr;
        const double v = std::strtod(value, &end);
        if (end == value || *end != '\0') usage("option values are numbers");
        if (arg == "--seconds" && v >= 0.1 && v <= 60) o.seconds = v;
        else if (arg == "--memory-kib" && v >= 8 && v <= 4194304) o.memory_kib = static_cast<std::uint32_t>(v);
        else if (arg == "--iterations" && v >= 1 && v <= 100) o.iterations = static_cast<std::uint32_t>(v);
        else if (arg == "--coroutines" && v >= 1 && v <= 64) o.coroutines = static_cast<unsigned>(v);
        else if (arg == "--sodium-only" && v >= 0 && v <= 64 && v == static_cast<unsigned>(v))
            o.sodium_threads = static_cast<unsigned>(v);
        else usage("unknown option or value out of range");
    }
    return o;
}

double ms_since(clock_type::time_point start) {
    return duration<double, std::milli>(clock_type::now() - start).count();
}

// CPU time consumed by the calling thread only (Linux), in ms.
double thread_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU time of the whole process (all threads), user and system, in ms.
struct cpu_times {
    double user_ms = 0, sys_ms = 0;
};
cpu_times process_cpu() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ms = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3; };
    return {ms(ru.ru_utime), ms(ru.ru_stime)};
}

// Calls op() until the time or count bound; returns {count, total ms}.
template <class Op>
std::pair<std::size_t, double> repeat(double seconds, Op op) {
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration_cast<clock_type::duration>(duration<double>(seconds));
    std::size_t n = 0;
    do {
        op();
        ++n;
    } while (n < max_ops_per_case && clock_type::now() < deadline);
    return {n, ms_since(start)};
}

void print_direct(const char* what, std::pair<std::size_t, double> r) {
    std::printf("  %-28s %8zu %10.1f %12.2f\n", what, r.first, static_cast<double>(r.first) * 1e3 / r.second,
                r.second / static_cast<double>(r.first));
}

struct tick_stats {
    std::size_t ticks = 0;
    double worst_ms = 0;
    double total_ms = 0;
    std::size_t over_1ms = 0;  // ticks more than a whole period late
};

// A 1 ms periodic timer on the io thread: how late each expiry is delivered.
awaitable<void> ticker(net::steady_timer& timer, const bool& done, tick_stats& stats) {
    constexpr auto period = std::chrono::milliseconds(1);
    while (!done && stats.ticks < max_ops_per_case) {
        const auto due = clock_type::now() + period;
        timer.expires_at(due);
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || done) break;
        const double late = duration<double, std::milli>(clock_type::now() - due).count();
        ++stats.ticks;
        stats.total_ms += late;
        stats.worst_ms = std::max(stats.worst_ms, late);
        if (late > 1.0) ++stats.over_1ms;
    }
}

struct pool_result {
    unsigned threads = 0;
    std::size_t verifies = 0;
    std::size_t mismatches = 0;  // should stay 0: every verify uses the right password
    std::size_t off_io_thread = 0;  // resumptions not on the io thread: should stay 0
    double wall_ms = 0;
    double request_ms_total = 0;  // co_await start to resume, summed over requests
    double io_cpu_ms = 0;         // CPU time of the io thread during the run
    cpu_times cpu;                // CPU time of the whole process during the run
    tick_stats ticks;
    std::string error;
};

// threads = 0: no hashing at all, only the ticker (the idle baseline of the io thread).
pool_result run_pool(const nidan::password_hasher& hasher, const std::string& phc, unsigned threads,
                     unsigned coroutines, double seconds) {
    pool_result r;
    r.threads = threads;
    net::io_context ioc(1);
    nidan::server::hash_pool pool(std::max(threads, 1u), coroutines);
    net::steady_timer timer(ioc);
    bool done = false;
    const auto io_thread = std::this_thread::get_id();  // ioc.run() is called on this thread
    unsigned active = threads ? coroutines : 0;
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration_cast<clock_type::duration>(duration<double>(seconds));

    auto worker = [&]() -> awaitable<void> {
        try {
            while (clock_type::now() < deadline && r.verifies < max_ops_per_case) {
                const auto asked = clock_type::now();
                const auto verdict = co_await pool.run([&hasher, &phc] { return hasher.verify(phc, password); });
                r.request_ms_total += ms_since(asked);
                if (std::this_thread::get_id() != io_thread) ++r.off_io_thread;
                ++r.verifies;
                if (verdict == nidan::password_hasher::verdict::mismatch) ++r.mismatches;
            }
        } catch (const std::exception& e) {
            if (r.error.empty()) r.error = e.what();
        }
        if (--active == 0) {
            done = true;
            timer.cancel();
        }
    };

    net::co_spawn(ioc, ticker(timer, done, r.ticks), net::detached);
    if (threads == 0) {
        net::steady_timer stop(ioc);
        stop.expires_at(deadline);
        stop.async_wait([&](boost::system::error_code) {
            done = true;
            timer.cancel();
        });
        const double cpu0 = thread_cpu_ms();
        const auto all0 = process_cpu();
        ioc.run();
        r.io_cpu_ms = thread_cpu_ms() - cpu0;
        const auto all1 = process_cpu();
        r.cpu = {all1.user_ms - all0.user_ms, all1.sys_ms - all0.sys_ms};
    } else {
        for (unsigned i = 0; i < coroutines; ++i) net::co_spawn(ioc, worker(), net::detached);
        const double cpu0 = thread_cpu_ms();
        const auto all0 = process_cpu();
        ioc.run();
        r.io_cpu_ms = thread_cpu_ms() - cpu0;
        const auto all1 = process_cpu();
        r.cpu = {all1.user_ms - all0.user_ms, all1.sys_ms - all0.sys_ms};
    }
    r.wall_ms = ms_since(start);
    pool.stop();
    return r;
}

void print_throughput(const std::vector<const pool_result*>& runs) {
    std::printf("  %-12s %8s %10s %14s %10s %10s %12s\n", "hash.threads", "verifies", "verifies/s", "request ms",
                "cores busy", "of it sys", "per CPU s");
    for (const auto* r : runs) {
        const double n = static_cast<double>(std::max<std::size_t>(r->verifies, 1));
        const double busy = (r->cpu.user_ms + r->cpu.sys_ms) / r->wall_ms;
        const double cpu_ms = std::max(r->cpu.user_ms + r->cpu.sys_ms, 1e-9);
        std::printf("  %-12u %8zu %10.1f %14.2f %10.2f %9.0f%% %12.1f\n", r->threads, r->verifies,
                    static_cast<double>(r->verifies) * 1e3 / r->wall_ms, r->request_ms_total / n, busy,
                    100.0 * r->cpu.sys_ms / cpu_ms, static_cast<double>(r->verifies) * 1e3 / cpu_ms);
        if (!r->error.empty()) std::printf("  (stopped early: %s)\n", r->error.c_str());
        if (r->mismatches) std::printf("  (%zu verifies said mismatch)\n", r->mismatches);
        if (r->off_io_thread) std::printf("  (%zu coroutines resumed off the io thread)\n", r->off_io_thread);
    }
}

void print_io_thread(const pool_result& idle, const std::vector<const pool_result*>& runs) {
    std::printf("  %-14s %12s %14s %14s %14s %12s\n", "hash.threads", "io thread", "io us/request", "tick late",
                "tick worst", "ticks late");
    std::printf("  %-14s %12s %14s %14s %14s %12s\n", "", "CPU %", "(above idle)", "mean ms", "ms", ">1 ms");
    const double idle_rate = idle.io_cpu_ms / idle.wall_ms;  // the ticker's own cost
    auto row = [&](const std::string& label, const pool_result& r) {
        const double ticks = static_cast<double>(std::max<std::size_t>(r.ticks.ticks, 1));
        char per_request[32] = "-";
        if (r.verifies)
            std::snprintf(per_request, sizeof per_request, "%.1f",
                          std::max(0.0, r.io_cpu_ms - idle_rate * r.wall_ms) * 1e3 / static_cast<double>(r.verifies));
        std::printf("  %-14s %11.2f%% %14s %14.3f %14.3f %5zu/%-6zu\n", label.c_str(), 100.0 * r.io_cpu_ms / r.wall_ms,
                    per_request, r.ticks.total_ms / ticks, r.ticks.worst_ms, r.ticks.over_1ms, r.ticks.ticks);
    };
    row("idle (no hash)", idle);
    for (const auto* r : runs) row(std::to_string(r->threads), *r);
}

}  // namespace

// libsodium alone, no nidan code in the loop: the ceiling a login's password step can reach
// with these parameters on sodium_threads threads at once.
int sodium_only(const options& o) {
    if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
    char phc[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_argon2id_str(phc, password.data(), password.size(), o.iterations,
                                   static_cast<std::size_t>(o.memory_kib) * 1024) != 0)
        throw std::runtime_error("crypto_pwhash_argon2id_str failed (out of memory?)");
    std::vector<std::pair<std::size_t, double>> results(o.sodium_threads);
    std::vector<char> right(o.sodium_threads, 1);
    {
        std::vector<std::jthread> threads;
        for (unsigned i = 0; i < o.sodium_threads; ++i) {
            threads.emplace_back([&, i] {
                results[i] = repeat(o.seconds, [&] {
                    if (crypto_pwhash_argon2id_str_verify(phc, password.data(), password.size()) != 0) right[i] = 0;
                });
            });
        }
    }
    if (std::find(right.begin(), right.end(), 0) != right.end())
        throw std::runtime_error("crypto_pwhash_argon2id_str_verify refused the right password");
    double per_s = 0, longest_ms = 0;
    std::size_t count = 0;
    for (const auto& [n, ms] : results) {
        per_s += static_cast<double>(n) * 1e3 / ms;
        count += n;
        longest_ms = std::max(longest_ms, ms);
    }
    std::printf("sodium_verify_per_s=%.2f count=%zu ms=%.1f m=%u t=%u threads=%u\n", per_s, count, longest_ms,
                o.memory_kib, o.iterations, o.sodium_threads);
    return 0;
}

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        if (o.sodium_threads > 0) return sodium_only(o);
        const nidan::password_hasher hasher({o.memory_kib, o.iterations});
        std::printf("Argon2id m=%u KiB t=%u p=1; %.1f s per case; %u coroutines on the pool\n\n", o.memory_kib,
                    o.iterations, o.seconds, o.coroutines);
        if (std::ifstream load("/proc/loadavg"); load) {
            std::string l1, l5;
            load >> l1 >> l5;
            std::printf("load average before the run: %s (1 min) %s (5 min) on %u cores\n\n", l1.c_str(), l5.c_str(),
                        std::thread::hardware_concurrency());
        }

        // 1. Direct calls on this thread.
        const std::string phc = hasher.hash(password);  // also warms the allocator
        std::printf("single thread, direct calls\n  %-28s %8s %10s %12s\n", "operation", "count", "per s",
                    "mean ms");
        print_direct("hash", repeat(o.seconds / 2, [&] { (void)hasher.hash(password); }));
        print_direct("verify (right password)", repeat(o.seconds / 2, [&] { (void)hasher.verify(phc, password); }));
        {
            // The hardware's own scaling, without the pool: two threads calling verify at once.
            std::pair<std::size_t, double> a{}, b{};
            std::thread other([&] { a = repeat(o.seconds / 2, [&] { (void)hasher.verify(phc, password); }); });
            b = repeat(o.seconds / 2, [&] { (void)hasher.verify(phc, password); });
            other.join();
            const std::size_t n = a.first + b.first;
            const double wall = std::max(a.second, b.second);
            std::printf("  %-28s %8zu %10.1f %12.2f\n", "verify, 2 threads at once", n,
                        static_cast<double>(n) * 1e3 / wall, (a.second + b.second) / static_cast<double>(n));
        }

        // 2. Unknown ID vs known ID. The first verify_dummy builds the dummy hash (one hash()).
        const auto first = clock_type::now();
        hasher.verify_dummy(password);
        const double first_dummy_ms = ms_since(first);
        // Interleaved, so drift of the machine (other load, frequency) hits all three alike.
        double right_ms = 0, wrong_ms = 0, dummy_ms = 0;
        std::size_t rounds = 0;
        const auto deadline = clock_type::now() + duration<double>(o.seconds);
        while (rounds < max_ops_per_case && clock_type::now() < deadline) {
            auto t = clock_type::now();
            (void)hasher.verify(phc, password);
            right_ms += ms_since(t);
            t = clock_type::now();
            (void)hasher.verify(phc, wrong_password);
            wrong_ms += ms_since(t);
            t = clock_type::now();
            hasher.verify_dummy(password);
            dummy_ms += ms_since(t);
            ++rounds;
        }
        const double nr = static_cast<double>(rounds);
        std::printf("\nunknown ID vs known ID (interleaved, %zu rounds)\n  %-28s %12s\n", rounds, "operation",
                    "mean ms");
        std::printf("  %-28s %12.2f\n  %-28s %12.2f\n  %-28s %12.2f\n", "verify (right password)", right_ms / nr,
                    "verify (wrong password)", wrong_ms / nr, "verify_dummy", dummy_ms / nr);
        std::printf("  verify_dummy / verify right = %.3f, verify_dummy / verify wrong = %.3f\n",
                    dummy_ms / right_ms, dummy_ms / wrong_ms);
        std::printf("  first verify_dummy (builds the dummy hash) = %.2f ms\n", first_dummy_ms);

        // 3. Through hash_pool, io_context on one thread.
        std::printf("\nhash_pool: io_context on 1 thread, %u coroutines co_await hash_pool::run(verify)\n",
                    o.coroutines);
        const auto idle = run_pool(hasher, phc, 0, o.coroutines, std::min(o.seconds, 1.0));
        const auto one = run_pool(hasher, phc, 1, o.coroutines, o.seconds);
        const auto two = run_pool(hasher, phc, 2, o.coroutines, o.seconds);
        print_throughput({&one, &two});
        if (one.verifies && two.verifies) {
            const double rate1 = static_cast<double>(one.verifies) / one.wall_ms;
            const double rate2 = static_cast<double>(two.verifies) / two.wall_ms;
            std::printf("  verifies/s 2 threads / 1 thread = %.2f\n", rate2 / rate1);
        }
        if (!one.off_io_thread && !two.off_io_thread)
            std::printf("  every coroutine resumed on the io thread after its hash\n");
        std::printf("  request ms: co_await to resume, queueing included; cores busy: process CPU / wall time;\n"
                    "  per CPU s: verifies per second of process CPU. cores busy below hash.threads means other\n"
                    "  processes held the cores, and the ratio then understates the scaling.\n");
        std::printf("\nio thread while the pool hashes (a 1 ms periodic timer runs on it)\n");
        print_io_thread(idle, {&one, &two});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_hash: %s\n", e.what());
        return 1;
    }
    return 0;
}
