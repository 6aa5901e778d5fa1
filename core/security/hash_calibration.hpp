#pragma once
// Finding the Argon2id parameters that take about a target time per hash on this machine
// (`nidan hash calibrate`). Memory stays as asked and the passes (t) are raised or lowered to
// meet the target; only when even t = 1 is too slow is memory lowered, never below a floor.
//
// The search is arithmetic over timings that a hash_timer supplies, so it can be tested with a
// made-up machine; time_argon2id() is the real one and times password_hasher itself, the code a
// login runs. Everything measured is charged to a budget, so a large target or a huge memory
// still ends in bounded time: a measurement takes fewer runs, and refinements are skipped, when
// the budget cannot pay for them.
#include <cstdint>
#include <functional>
#include <vector>

#include "core/security/password_hasher.hpp"

namespace nidan {

// Runs `runs` Argon2id computations with params and returns each one's milliseconds.
using hash_timer = std::function<std::vector<double>(hash_params params, unsigned runs)>;

// The real timer: one hash() with password_hasher (the first run), then verify() of that hash
// for the others; each is one Argon2id computation, what one login costs. Throws what
// password_hasher throws (parameters outside libsodium's limits, memory that cannot be had).
std::vector<double> time_argon2id(hash_params params, unsigned runs);

struct hash_timing {
    hash_params params{};
    double ms = 0;      // the median of the runs
    unsigned runs = 0;  // 1, 3 or 5
};

// Measures through a timer while charging every run to one budget.
class hash_bench {
public:
    using progress = std::function<void(const hash_timing&)>;

    // Told every finished measurement (for progress lines).
    hash_bench(hash_timer timer, double budget_ms, progress on_measured = {});

    // One run first; then 2 or 4 more for a median of 3 or 5 when a quarter of what is left of
    // the budget pays for them.
    hash_timing measure(hash_params params);

    // Whether a measurement expected to take about ms per run still fits (one run).
    bool can_afford(double ms) const noexcept;
    double spent_ms() const noexcept { return spent_ms_; }

private:
    hash_timer timer_;
    double budget_ms_;
    double spent_ms_ = 0;
    progress on_measured_;
};

struct calibration_request {
    double target_ms = 500;
    std::uint32_t memory_kib = 19456;
    // Memory is never lowered below this (nor below memory_kib itself, when that is smaller).
    std::uint32_t memory_floor_kib = 8192;
    std::uint32_t max_iterations = 100;  // hash.iterations' upper limit
};

struct calibration_result {
    hash_timing chosen;                    // the measured parameters closest to the target
    std::vector<hash_timing> tried;        // every measurement, in order (chosen among them)
    hash_timing first_at_requested{};      // t = 1 at the requested memory
    bool memory_lowered = false;           // chosen memory is below the requested memory
    bool over_target_at_one_pass = false;  // even t = 1 at the chosen memory exceeds the target
    bool at_iteration_cap = false;         // t = max_iterations and still under the target
};

calibration_result calibrate(hash_bench& bench, const calibration_request& request);

}  // namespace nidan
