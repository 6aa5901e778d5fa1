// The search of `nidan hash calibrate` against made-up machines whose Argon2id time is a known
// function of memory and passes, so the answers can be checked exactly without timing anything;
// and the real timer once, with small parameters.
#define BOOST_TEST_MODULE hash_calibration
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <deque>
#include <vector>

#include "core/security/hash_calibration.hpp"

using nidan::calibrate;
using nidan::calibration_request;
using nidan::hash_bench;
using nidan::hash_params;
using nidan::hash_timing;

namespace {

constexpr double budget_ms = 25'000;

// A machine where one computation takes ms_per_mib_pass per MiB of memory per pass, plus a
// fixed overhead; noise (0.1: up to +-10%) runs through a cycle of five whose median is none, so
// a median of five runs lands on the truth and fewer runs may not. Remembers every computation
// it was asked for.
struct fake_machine {
    explicit fake_machine(double per_mib_pass, double overhead = 0, double noise_share = 0)
        : ms_per_mib_pass(per_mib_pass), overhead_ms(overhead), noise(noise_share) {}

    double ms_per_mib_pass;
    double overhead_ms;
    double noise;
    std::vector<hash_params> computed;
    double spent_ms = 0;

    double truth(hash_params p) const { return overhead_ms + ms_per_mib_pass * p.memory_kib / 1024.0 * p.iterations; }

    nidan::hash_timer timer() {
        return [this](hash_params p, unsigned runs) {
            std::vector<double> ms;
            for (unsigned i = 0; i < runs; ++i) {
                static constexpr double cycle[] = {1, -1, 0, 0.5, -0.5};
                ms.push_back(truth(p) * (1 + cycle[computed.size() % 5] * noise));
                computed.push_back(p);
                spent_ms += ms.back();
            }
            return ms;
        };
    }
};

calibration_request request(double target_ms, std::uint32_t memory_kib) {
    calibration_request r;
    r.target_ms = target_ms;
    r.memory_kib = memory_kib;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(keeps_memory_and_finds_the_passes_nearest_the_target) {
    fake_machine machine(0.5);  // 19 MiB: 9.5 ms a pass
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(100, 19456));
    BOOST_TEST(r.chosen.params.memory_kib == 19456U);
    BOOST_TEST(r.chosen.params.iterations == 11U);  // 104.5 ms; 10 passes would be 95
    BOOST_TEST(r.chosen.ms == machine.truth({19456, 11}), boost::test_tools::tolerance(1e-9));
    BOOST_TEST(!r.memory_lowered);
    BOOST_TEST(!r.over_target_at_one_pass);
    BOOST_TEST(!r.at_iteration_cap);
    for (const auto& p : machine.computed) BOOST_TEST(p.memory_kib == 19456U);
}

BOOST_AUTO_TEST_CASE(an_overhead_and_noise_still_end_near_the_target) {
    fake_machine machine(1, 15, 0.1);  // 16 MiB: 16 ms a pass
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(300, 16384));
    // 15 + 16 t = 300 at t = 17.8: 18 is nearest, 17 or 19 within the noise.
    BOOST_TEST(r.chosen.params.iterations >= 17U);
    BOOST_TEST(r.chosen.params.iterations <= 19U);
    BOOST_TEST(r.chosen.runs == 5U);
}

BOOST_AUTO_TEST_CASE(lowers_memory_only_when_one_pass_is_too_slow) {
    fake_machine machine(4);  // 256 MiB, one pass: 1024 ms
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(200, 262144));
    BOOST_TEST(r.memory_lowered);
    BOOST_TEST(r.first_at_requested.params.memory_kib == 262144U);
    BOOST_TEST(r.first_at_requested.ms == 1024, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(r.chosen.params.memory_kib < 262144U);
    BOOST_TEST(r.chosen.params.memory_kib % 1024 == 0U);
    BOOST_TEST(r.chosen.ms <= 200);
    BOOST_TEST(r.chosen.ms >= 150);
    BOOST_TEST(!r.over_target_at_one_pass);
}

BOOST_AUTO_TEST_CASE(never_lowers_memory_below_the_floor) {
    fake_machine machine(5);  // 8 MiB, one pass: 40 ms
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(10, 65536));
    BOOST_TEST(r.chosen.params.memory_kib == 8192U);
    BOOST_TEST(r.chosen.params.iterations == 1U);
    BOOST_TEST(r.memory_lowered);
    BOOST_TEST(r.over_target_at_one_pass);
    for (const auto& p : machine.computed) BOOST_TEST(p.memory_kib >= 8192U);
}

BOOST_AUTO_TEST_CASE(memory_asked_below_the_floor_is_kept) {
    fake_machine machine(5);
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(1, 4096));  // 20 ms, over the target
    BOOST_TEST(r.chosen.params.memory_kib == 4096U);
    BOOST_TEST(!r.memory_lowered);
    BOOST_TEST(r.over_target_at_one_pass);
    for (const auto& p : machine.computed) BOOST_TEST(p.memory_kib == 4096U);
}

BOOST_AUTO_TEST_CASE(passes_stop_at_the_limit) {
    fake_machine machine(0.1);  // 8 MiB: 0.8 ms a pass
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(5000, 8192));
    BOOST_TEST(r.chosen.params.iterations == 100U);
    BOOST_TEST(r.at_iteration_cap);
}

BOOST_AUTO_TEST_CASE(a_large_target_stays_within_the_budget) {
    // 4 GiB, one pass: 2 s; the target needs about five of those per measurement.
    fake_machine machine(0.5, 0, 0.2);
    hash_bench bench(machine.timer(), budget_ms);
    const auto r = calibrate(bench, request(10000, 4194304));
    BOOST_TEST(r.chosen.params.iterations >= 4U);
    BOOST_TEST(r.chosen.params.iterations <= 6U);
    // Only the first measurement at the predicted passes is taken whatever the budget.
    BOOST_TEST(machine.spent_ms <= budget_ms);
    BOOST_TEST(bench.spent_ms() == machine.spent_ms, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(a_measurement_is_the_median_and_shrinks_with_the_budget) {
    std::deque<double> answers{50, 10, 30, 20, 40};
    const nidan::hash_timer timer = [&](hash_params, unsigned runs) {
        std::vector<double> ms;
        for (unsigned i = 0; i < runs; ++i) {
            ms.push_back(answers.front());
            answers.pop_front();
        }
        return ms;
    };
    std::vector<hash_timing> told;
    hash_bench bench(timer, 2000, [&](const hash_timing& t) { told.push_back(t); });
    const auto t = bench.measure({8192, 1});
    BOOST_TEST(t.runs == 5U);
    BOOST_TEST(t.ms == 30);
    BOOST_TEST(bench.spent_ms() == 150);
    BOOST_TEST(told.size() == 1U);

    // 1850 ms left: a first run of 200 leaves 1650, a quarter of it pays 2 more runs, not 4.
    answers = {200, 100, 300};
    const auto fewer = bench.measure({8192, 2});
    BOOST_TEST(fewer.runs == 3U);
    BOOST_TEST(fewer.ms == 200);
    BOOST_TEST(bench.spent_ms() == 750);
    BOOST_TEST(bench.can_afford(1250));
    BOOST_TEST(!bench.can_afford(1300));

    // Too little left even for 2 more: one run.
    answers = {500};
    const auto single = bench.measure({8192, 3});
    BOOST_TEST(single.runs == 1U);
    BOOST_TEST(single.ms == 500);
    BOOST_TEST(told.size() == 3U);
}

BOOST_AUTO_TEST_CASE(the_real_timer_times_each_run) {
    const auto ms = nidan::time_argon2id({8192, 1}, 3);
    BOOST_TEST(ms.size() == 3U);
    for (const double m : ms) BOOST_TEST(m > 0);
}
