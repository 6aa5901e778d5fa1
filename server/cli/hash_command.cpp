// `nidan hash calibrate`: the Argon2id cost to configure on this machine. Operators size
// hash.memory_kib and hash.iterations per machine (as Ory Kratos's `hashers argon2 calibrate`
// does): a login costs one hash check, so the time per hash sets both how slow a stolen hash is
// to crack and how many logins per second the hash threads allow. Measures password_hasher
// itself (core/security/hash_calibration.hpp), prints the [hash] lines to paste, progress on
// stderr. Bounded: about 25 s of hashing at most, whatever the target.
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "core/security/hash_calibration.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"

namespace nidan::cli {
namespace {

constexpr const char* hash_usage = R"(usage:
  nidan hash calibrate [--target-ms N] [--memory-kib M] [--threads T]
                   measure Argon2id on this machine and print the [hash] memory_kib and
                   iterations that take about N ms per hash (what one login costs), with
                   the logins per second they allow
  --target-ms N    1 to 10000, default 500 (Ory Kratos's; the configured cost's own time
                   would only give back the configured iterations)
  --memory-kib M   8 to 4194304, default hash.memory_kib; kept, and lowered (not below
                   8192) only when even iterations = 1 takes longer than N
  --threads T      1 to 256, default hash.threads: the logins per second T threads allow
a few seconds for the default target, at most about 30 s; progress goes to stderr
also takes --config FILE and --set section.key=value
)";

// The ranges of hash.memory_kib, hash.iterations and hash.threads (core/config/config.cpp), so
// that what is printed is always a valid config.
constexpr std::uint32_t min_memory_kib = 8;
constexpr std::uint32_t max_memory_kib = 4'194'304;
constexpr std::uint32_t max_iterations = 100;
constexpr std::uint32_t max_threads = 256;
// Lowering memory stops here: below it Argon2id is cheap to attack with GPUs whatever t is.
constexpr std::uint32_t memory_floor_kib = 8192;
// Each measurement is a median of runs; a large target or memory gets fewer runs, never more
// time than this in all.
constexpr double budget_ms = 25'000;
constexpr std::uint32_t max_target_ms = 10'000;
constexpr std::uint32_t default_target_ms = 500;

std::optional<std::uint32_t> take_number(std::vector<std::string>& args, const std::string& name, std::uint32_t low,
                                         std::uint32_t high) {
    std::string text;
    if (!take_option(args, name, text)) return std::nullopt;
    const bool digits = !text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos;
    const auto value = digits ? std::stoull(text) : 0ULL;
    if (!digits || value < low || value > high)
        throw std::invalid_argument(name + ": must be a whole number from " + std::to_string(low) + " to " +
                                    std::to_string(high) + ", not '" + text + "'");
    return static_cast<std::uint32_t>(value);
}

std::string one_decimal(double value) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << value;
    return out.str();
}

std::string params_text(hash_params p) {
    return "memory_kib = " + std::to_string(p.memory_kib) + ", iterations = " + std::to_string(p.iterations);
}

std::string runs_text(const hash_timing& t) {
    return t.runs == 1 ? "1 run" : "median of " + std::to_string(t.runs) + " runs";
}

// The configured parameters' time: from the search when it measured them, measured now when the
// budget allows (estimated from the chosen ones: time grows with memory x passes), else that
// estimate.
std::string configured_text(hash_bench& bench, const calibration_result& result, hash_params configured) {
    const auto same = [configured](const hash_timing& t) {
        return t.params.memory_kib == configured.memory_kib && t.params.iterations == configured.iterations;
    };
    std::optional<hash_timing> timing;
    for (const auto& t : result.tried)
        if (same(t)) timing = t;
    const auto& chosen = result.chosen;
    const double estimate = chosen.ms * (double(configured.memory_kib) * configured.iterations) /
                            (double(chosen.params.memory_kib) * chosen.params.iterations);
    if (!timing && bench.can_afford(estimate)) timing = bench.measure(configured);
    if (!timing) return "about " + one_decimal(estimate) + " ms per hash (estimated: measuring it would take too long)";
    return one_decimal(timing->ms) + " ms per hash, " + one_decimal(1000 / timing->ms) + " logins/s per core";
}

int calibrate_command(const config& cfg, std::optional<std::uint32_t> target_ms,
                      std::optional<std::uint32_t> memory_kib, std::optional<std::uint32_t> threads) {
    calibration_request request;
    request.target_ms = target_ms.value_or(default_target_ms);
    request.memory_kib = memory_kib.value_or(cfg.hash.memory_kib);
    request.memory_floor_kib = memory_floor_kib;
    request.max_iterations = max_iterations;
    const unsigned thread_count = threads.value_or(cfg.hash.threads);

    std::cerr << "nidan hash: looking for about " << request.target_ms << " ms per hash at memory_kib = "
              << request.memory_kib << " (at most about " << budget_ms / 1000 << " s)\n";
    hash_bench bench(time_argon2id, budget_ms, [](const hash_timing& t) {
        std::cerr << "nidan hash: " << params_text(t.params) << ": " << one_decimal(t.ms) << " ms (" << runs_text(t) << ")\n";
    });
    const auto result = calibrate(bench, request);
    const auto& chosen = result.chosen;
    const auto configured = configured_text(bench, result, {cfg.hash.memory_kib, cfg.hash.iterations});

    const double per_core = 1000 / chosen.ms;
    const unsigned cores = std::thread::hardware_concurrency();
    std::cout << "# nidan hash calibrate: about " << request.target_ms << " ms per hash on this machine";
    if (cores > 0) std::cout << " (" << cores << " cores)";
    std::cout << "\n# paste into the [hash] section of the config:\n"
              << "memory_kib = " << chosen.params.memory_kib << "\n"
              << "iterations = " << chosen.params.iterations << "\n";
    if (result.memory_lowered)
        std::cout << "# memory lowered from " << request.memory_kib << " KiB: even iterations = 1 took "
                  << one_decimal(result.first_at_requested.ms) << " ms there\n";
    if (result.over_target_at_one_pass)
        std::cout << "# even iterations = 1 takes longer than " << request.target_ms << " ms at "
                  << chosen.params.memory_kib << " KiB"
                  << (chosen.params.memory_kib <= memory_floor_kib ? ", the lowest memory calibrate goes to\n"
                                                                    : " (the time limit stopped the search)\n");
    if (result.at_iteration_cap)
        std::cout << "# iterations is at its limit (" << max_iterations
                  << ") and still under the target: a larger --memory-kib makes each hash costlier\n";
    std::cout << "# measured: " << one_decimal(chosen.ms) << " ms per hash (" << runs_text(chosen) << ")\n"
              << "# whole logins/s per core: " << one_decimal(per_core) << " (a login checks one hash)\n"
              << "# with threads = " << thread_count << ": " << one_decimal(per_core * thread_count) << " logins/s";
    if (cores > 0 && thread_count > cores)
        std::cout << " if each thread had a core; this machine's " << cores << " give at most "
                  << one_decimal(per_core * cores);
    std::cout << "\n# configured now (" << params_text({cfg.hash.memory_kib, cfg.hash.iterations}) << "): "
              << configured << "\n";
    return 0;
}

}  // namespace

int hash_command(std::vector<std::string> args) {
    return run_command("hash", hash_usage, [&]() -> int {
        if (take_flag(args, "--help") || take_flag(args, "-h")) {
            std::cout << hash_usage;
            return 0;
        }
        auto options = take_common_options(args);
        if (args.empty() || args.front() != "calibrate") throw std::invalid_argument("unknown or missing hash command");
        args.erase(args.begin());
        const auto target_ms = take_number(args, "--target-ms", 1, max_target_ms);
        const auto memory_kib = take_number(args, "--memory-kib", min_memory_kib, max_memory_kib);
        const auto threads = take_number(args, "--threads", 1, max_threads);
        if (!args.empty()) throw std::invalid_argument("unexpected argument: " + args.front());
        return calibrate_command(load(options), target_ms, memory_kib, threads);
    });
}

}  // namespace nidan::cli
