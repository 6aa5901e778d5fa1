// Small-write throughput of the storage layer: one commit per write against the single writer's
// group commit, with 1, 16 and 64 concurrent submitters, in full_sync and no_sync modes.
// Prints figures only; it asserts nothing, since they depend on the disk (fsync cost) and CPU.
//
//   bench_storage_writer [--seconds N] [--dir DIR]
//
// Each case runs for N seconds (default 2) or until max_writes_per_case writes, in a fresh LMDB
// folder under DIR (default: the system temp folder), which is removed afterwards. Run it on
// the disk the server's data folder lives on: a tmpfs makes fsync free and hides the point.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <iostream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "storage/lmdb/environment.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/writer.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;
using nidan::durability_mode;

// Bounds memory (one latency sample per write) and disk use in the fast modes.
constexpr std::size_t max_writes_per_case = 1'000'000;
// Writes cycle over this many keys per submitter, so the data file stays small however fast
// the case runs; every write still dirties and commits pages.
constexpr std::uint64_t keys_per_submitter = 4096;
constexpr std::size_t value_bytes = 120;  // about a session record
constexpr std::uint64_t map_bytes = 256ull << 20;
// The server's defaults (storage.writer_max_batch, storage.writer_max_queue).
constexpr std::size_t writer_max_batch = 256;
constexpr std::size_t writer_max_queue = 10000;

struct settings {
    double seconds = 2;
    fs::path dir = fs::temp_directory_path();
};

struct bench_case {
    durability_mode mode;
    unsigned submitters;  // 0: no writer, one write txn per write on this thread
};

struct result {
    bench_case what;
    std::size_t writes = 0;
    std::size_t failures = 0;
    double elapsed_s = 0;
    double mean_ms = 0;
    double p99_ms = 0;
    double items_per_commit = 1;
    double writes_per_s() const { return elapsed_s > 0 ? static_cast<double>(writes) / elapsed_s : 0; }
};

const char* mode_name(durability_mode mode) {
    switch (mode) {
    case durability_mode::full_sync: return "full_sync";
    case durability_mode::no_meta_sync: return "no_meta_sync";
    case durability_mode::no_sync: return "no_sync";
    }
    return "?";
}

std::string case_name(const bench_case& c) {
    if (c.submitters == 0) return "txn per write (no writer)";
    return "writer, " + std::to_string(c.submitters) + (c.submitters == 1 ? " submitter" : " submitters");
}

// 32-byte keys like the sessions table's hashed ids; distinct per submitter.
std::string key_of(unsigned submitter, std::uint64_t n) {
    char key[33];
    std::snprintf(key, sizeof key, "s%06u-%024llu", submitter,
                  static_cast<unsigned long long>(n % keys_per_submitter));
    return std::string(key, 32);
}

// The write a request would make: one small value into one table.
void small_write(nidan::storage::write_txn& txn, const std::string& key, const std::string& value) {
    txn.put(txn.dbs().sessions, key, value);
}

double to_ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Per-submitter samples, merged after the run so threads never share a vector.
struct samples {
    std::vector<double> latency_ms;
    std::size_t failures = 0;
};

// (a): the cost a server would pay without a writer, one fsync per request.
void run_direct(nidan::storage::environment& env, clock_type::time_point deadline, samples& out) {
    const std::string value(value_bytes, 'v');
    for (std::uint64_t n = 0; clock_type::now() < deadline && out.latency_ms.size() < max_writes_per_case; ++n) {
        const auto start = clock_type::now();
        try {
            auto txn = env.begin_write();
            small_write(txn, key_of(0, n), value);
            txn.commit();
        } catch (const nidan::storage::error&) {
            ++out.failures;
        }
        out.latency_ms.push_back(to_ms(clock_type::now() - start));
    }
}

// Where the writer thread reports one submitter's completions. It outlives the submitter's
// loop (and the writer), so a completion never touches a waiter's stack after it has moved on.
struct completion_slot {
    std::atomic<std::uint64_t> completed{0};
    std::error_code last;  // written before `completed` is bumped
};

// (b), (c): a submitter hands one write to the writer, waits for its completion, repeats, as a
// request coroutine does. The shared count keeps the total under max_writes_per_case.
void run_submitter(nidan::storage::writer& w, unsigned id, clock_type::time_point deadline,
                   std::atomic<std::size_t>& total, completion_slot& slot, samples& out) {
    const std::string value(value_bytes, 'v');
    for (std::uint64_t n = 0; clock_type::now() < deadline && total.fetch_add(1) < max_writes_per_case; ++n) {
        const std::uint64_t before = slot.completed.load();
        const auto start = clock_type::now();
        const bool queued = w.submit([key = key_of(id, n), &value](nidan::storage::write_txn& txn) {
                                         small_write(txn, key, value);
                                     },
                                     [&slot](std::error_code ec) {
                                         slot.last = ec;
                                         slot.completed.fetch_add(1);
                                         slot.completed.notify_one();
                                     });
        if (!queued) {
            ++out.failures;  // queue full: the server would answer 503
            continue;
        }
        slot.completed.wait(before);
        if (slot.last) ++out.failures;
        out.latency_ms.push_back(to_ms(clock_type::now() - start));
    }
}

result summarise(const bench_case& c, std::vector<samples>& per_thread, clock_type::duration elapsed) {
    result r{c};
    std::vector<double> all;
    for (auto& s : per_thread) {
        all.insert(all.end(), s.latency_ms.begin(), s.latency_ms.end());
        r.failures += s.failures;
    }
    r.writes = all.size();
    r.elapsed_s = std::chrono::duration<double>(elapsed).count();
    if (!all.empty()) {
        r.mean_ms = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size());
        const auto p99 = all.begin() + static_cast<std::ptrdiff_t>((all.size() - 1) * 99 / 100);
        std::nth_element(all.begin(), p99, all.end());
        r.p99_ms = *p99;
    }
    return r;
}

result run_case(const settings& s, const bench_case& c, const fs::path& folder) {
    nidan::storage::options opts;
    opts.dir = folder;
    opts.map_size_bytes = map_bytes;
    opts.max_readers = 126;
    opts.durability = c.mode;
    nidan::storage::environment env(opts);

    const auto length = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s.seconds));
    const unsigned threads = std::max(c.submitters, 1u);
    std::vector<samples> per_thread(threads);
    for (auto& p : per_thread) p.latency_ms.reserve(std::min<std::size_t>(max_writes_per_case / threads, 200'000));

    const auto start = clock_type::now();
    const auto deadline = start + length;
    result r{c};
    if (c.submitters == 0) {
        run_direct(env, deadline, per_thread[0]);
        r = summarise(c, per_thread, clock_type::now() - start);
    } else {
        const auto slots = std::make_unique<completion_slot[]>(threads);
        nidan::storage::writer w(env, writer_max_batch, writer_max_queue);
        std::atomic<std::size_t> total{0};
        std::vector<std::thread> pool;
        for (unsigned i = 0; i < threads; ++i)
            pool.emplace_back(run_submitter, std::ref(w), i, deadline, std::ref(total), std::ref(slots[i]),
                              std::ref(per_thread[i]));
        for (auto& t : pool) t.join();
        const auto elapsed = clock_type::now() - start;
        w.stop();
        r = summarise(c, per_thread, elapsed);
        if (w.commits() > 0)
            r.items_per_commit = static_cast<double>(w.items()) / static_cast<double>(w.commits());
    }
    // Not timed: what a no_sync server does at shutdown.
    env.sync();
    return r;
}

bool parse_args(int argc, char** argv, settings& s) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) {
            char* end = nullptr;
            s.seconds = std::strtod(argv[++i], &end);
            if (*end != '\0' || !(s.seconds > 0 && s.seconds <= 600)) return false;
        } else if (arg == "--dir" && i + 1 < argc) {
            s.dir = argv[++i];
        } else {
            return false;
        }
    }
    return true;
}

// A folder of our own under the one given, so cleaning up never touches anything else.
fs::path make_work_dir(const fs::path& parent) {
    std::string pattern = (parent / "nidan-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a folder in " + parent.string());
    return pattern;
}

void print_row(const result& r) {
    std::printf("%-10s %-27s %9zu %11.0f %9.3f %9.3f %13.1f %8zu\n", mode_name(r.what.mode),
                case_name(r.what).c_str(), r.writes, r.writes_per_s(), r.mean_ms, r.p99_ms, r.items_per_commit,
                r.failures);
}

void print_gains(const std::vector<result>& results) {
    std::printf("\ngroup commit gain (writes/s of the writer case / writes/s of one txn per write):\n");
    for (const auto& direct : results) {
        if (direct.what.submitters != 0 || direct.writes_per_s() <= 0) continue;
        for (const auto& grouped : results) {
            if (grouped.what.mode != direct.what.mode || grouped.what.submitters == 0) continue;
            std::printf("  %-10s %-27s x%.2f\n", mode_name(grouped.what.mode), case_name(grouped.what).c_str(),
                        grouped.writes_per_s() / direct.writes_per_s());
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    if (!parse_args(argc, argv, s)) {
        std::cerr << "usage: bench_storage_writer [--seconds N (0 < N <= 600, default 2)] [--dir DIR]\n";
        return 2;
    }
    std::vector<bench_case> cases;
    for (auto mode : {durability_mode::full_sync, durability_mode::no_sync})
        for (unsigned submitters : {0u, 1u, 16u, 64u}) cases.push_back({mode, submitters});

    fs::path work;
    try {
        work = make_work_dir(s.dir);
        std::printf("nidan storage writer: %zu cases x %.1f s, %zu-byte values, writer max_batch %zu, folder %s\n"
                    "(figures depend on the disk's fsync cost; %u hardware threads)\n\n",
                    cases.size(), s.seconds, value_bytes, writer_max_batch, work.c_str(),
                    std::thread::hardware_concurrency());
        std::printf("%-10s %-27s %9s %11s %9s %9s %13s %8s\n", "mode", "case", "writes", "writes/s", "mean ms",
                    "p99 ms", "items/commit", "failed");
        std::vector<result> results;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            results.push_back(run_case(s, cases[i], work / ("case" + std::to_string(i))));
            print_row(results.back());
            std::fflush(stdout);
        }
        print_gains(results);
    } catch (const std::exception& e) {
        std::cerr << "bench_storage_writer: " << e.what() << "\n";
        if (!work.empty()) fs::remove_all(work);
        return 1;
    }
    fs::remove_all(work);
    return 0;
}
