#include "core/security/hash_calibration.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace nidan {
namespace {

double median(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    const auto n = samples.size();
    return n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Argon2id's time grows about linearly with t at a fixed memory: the line through a (t = 1) and
// b, or a's time per pass when there is no second point or noise made the line fall.
struct time_line {
    double slope;
    double intercept;

    static time_line through(const hash_timing& a, const hash_timing& b) {
        const double ta = a.params.iterations, tb = b.params.iterations;
        if (tb != ta) {
            const double slope = (b.ms - a.ms) / (tb - ta);
            if (slope > 0) return {slope, a.ms - slope * ta};
        }
        return {b.ms / tb, 0};
    }
    double at(std::uint32_t t) const { return intercept + slope * t; }
    std::uint32_t passes_for(double target_ms, std::uint32_t max_t) const {
        const double t = std::round((target_ms - intercept) / slope);
        return static_cast<std::uint32_t>(std::clamp(t, 1.0, static_cast<double>(max_t)));
    }
};

}  // namespace

std::vector<double> time_argon2id(hash_params params, unsigned runs) {
    const password_hasher hasher(params);
    constexpr std::string_view password = "nidan hash calibrate";
    std::vector<double> ms;
    if (runs == 0) return ms;
    auto start = std::chrono::steady_clock::now();
    const auto phc = hasher.hash(password);
    ms.push_back(elapsed_ms(start));
    for (unsigned i = 1; i < runs; ++i) {
        start = std::chrono::steady_clock::now();
        const auto verdict = hasher.verify(phc, password);
        ms.push_back(elapsed_ms(start));
        // A mismatch would mean the timed path is not the one a login takes.
        if (verdict != password_hasher::verdict::match) throw std::logic_error("calibration: own hash did not verify");
    }
    return ms;
}

hash_bench::hash_bench(hash_timer timer, double budget_ms, progress on_measured)
    : timer_(std::move(timer)), budget_ms_(budget_ms), on_measured_(std::move(on_measured)) {}

bool hash_bench::can_afford(double ms) const noexcept { return spent_ms_ + ms <= budget_ms_; }

hash_timing hash_bench::measure(hash_params params) {
    auto samples = timer_(params, 1);
    spent_ms_ += samples.front();
    const double first = samples.front();
    const double share = (budget_ms_ - spent_ms_) / 4;
    const unsigned more = 4 * first <= share ? 4 : 2 * first <= share ? 2 : 0;
    if (more > 0) {
        const auto extra = timer_(params, more);
        for (const double ms : extra) spent_ms_ += ms;
        samples.insert(samples.end(), extra.begin(), extra.end());
    }
    const hash_timing timing{params, median(samples), static_cast<unsigned>(samples.size())};
    if (on_measured_) on_measured_(timing);
    return timing;
}

calibration_result calibrate(hash_bench& bench, const calibration_request& request) {
    calibration_result result;
    const double target = request.target_ms;
    const auto memory_floor = std::min(request.memory_floor_kib, request.memory_kib);
    std::uint32_t memory = request.memory_kib;

    auto base = bench.measure({memory, 1});
    result.first_at_requested = base;
    result.tried.push_back(base);
    // Too slow even with one pass: time also grows about linearly with memory, so aim a tenth
    // under the target, in whole MiB. A few steps at most, as the budget allows.
    for (int step = 0; step < 6 && base.ms > target && memory > memory_floor; ++step) {
        const double wanted = memory * (target / base.ms) * 0.9;
        auto next = std::max(memory_floor, static_cast<std::uint32_t>(wanted) / 1024 * 1024);
        if (next >= memory) next = std::max(memory_floor, memory / 2);
        if (!bench.can_afford(base.ms * next / memory)) break;
        memory = next;
        base = bench.measure({memory, 1});
        result.tried.push_back(base);
    }
    result.memory_lowered = memory < request.memory_kib;
    if (base.ms >= target) {
        result.chosen = base;
        result.over_target_at_one_pass = base.ms > target;
        return result;
    }

    // Passes: predicted from t = 1, then from the line through t = 1 and the latest point, until
    // the prediction is a t already measured. The first prediction is always measured (it costs
    // about the target); later ones only within the budget.
    std::vector<hash_timing> at_memory{base};
    auto latest = base;
    for (int step = 0; step < 4; ++step) {
        const auto line = time_line::through(base, latest);
        const auto t = line.passes_for(target, request.max_iterations);
        const bool measured = std::any_of(at_memory.begin(), at_memory.end(),
                                          [t](const hash_timing& m) { return m.params.iterations == t; });
        if (measured || (step > 0 && !bench.can_afford(line.at(t)))) break;
        latest = bench.measure({memory, t});
        at_memory.push_back(latest);
        result.tried.push_back(latest);
    }
    result.chosen = *std::min_element(at_memory.begin(), at_memory.end(), [target](const auto& a, const auto& b) {
        return std::abs(a.ms - target) < std::abs(b.ms - target);
    });
    result.at_iteration_cap = result.chosen.params.iterations == request.max_iterations && result.chosen.ms < target;
    return result;
}

}  // namespace nidan
