#define BOOST_TEST_MODULE histogram
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/base/histogram.hpp"

using namespace nidan;
using namespace std::chrono_literals;

namespace {

constexpr std::array<double, 3> small_bounds{1, 2, 4};

std::vector<std::uint64_t> cumulative_counts(const histogram& h) {
    std::vector<std::uint64_t> out;
    for (const auto& [bound, count] : h.buckets()) out.push_back(count);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_value_on_a_bound_falls_in_that_bound_as_prometheus_le) {
    histogram h(small_bounds, one_item);
    for (const std::uint64_t v : {0, 1, 2, 3, 4, 5}) h.record(v);
    // le=1: 0 and 1; le=2: and 2; le=4: and 3, 4; +Inf: and 5.
    BOOST_TEST(cumulative_counts(h) == (std::vector<std::uint64_t>{2, 3, 5, 6}), boost::test_tools::per_element());
    const auto b = h.buckets();
    BOOST_TEST(b.size() == 4u);
    BOOST_TEST(b[0].first == 1.0);
    BOOST_TEST(b[2].first == 4.0);
    BOOST_TEST(std::isinf(b[3].first));
    BOOST_TEST(h.count() == 6u);
    BOOST_TEST(h.sum() == 15.0);
}

BOOST_AUTO_TEST_CASE(durations_are_placed_by_their_nanoseconds_and_summed_in_seconds) {
    histogram h;  // duration_bounds_s
    h.record(100us);                 // exactly on 0.0001: the first bucket
    h.record(100us + 1ns);           // just above: the second
    h.record(10s);                   // the last finite bound
    h.record(11s);                   // +Inf
    h.record(-5ms);                  // a clock step backwards counts as 0
    const auto b = h.buckets();
    BOOST_TEST_REQUIRE(b.size() == duration_bounds_s.size() + 1);
    BOOST_TEST(b[0].second == 2u);  // 100 us and the negative one
    BOOST_TEST(b[1].second == 3u);
    BOOST_TEST(b[duration_bounds_s.size() - 2].second == 3u);  // le=5
    BOOST_TEST(b[duration_bounds_s.size() - 1].second == 4u);  // le=10
    BOOST_TEST(b.back().second == 5u);
    BOOST_TEST(h.sum() == 21.000200001);
}

BOOST_AUTO_TEST_CASE(the_text_has_cumulative_buckets_then_sum_and_count) {
    histogram h(small_bounds, one_item);
    h.record(2);
    h.record(3);
    h.record(9);
    std::string out;
    h.append_series(out, "nidan_batch", "kind=\"write\"");
    BOOST_TEST(out ==
               "nidan_batch_bucket{kind=\"write\",le=\"1\"} 0\n"
               "nidan_batch_bucket{kind=\"write\",le=\"2\"} 1\n"
               "nidan_batch_bucket{kind=\"write\",le=\"4\"} 2\n"
               "nidan_batch_bucket{kind=\"write\",le=\"+Inf\"} 3\n"
               "nidan_batch_sum{kind=\"write\"} 14\n"
               "nidan_batch_count{kind=\"write\"} 3\n");
}

BOOST_AUTO_TEST_CASE(without_labels_only_le_is_in_braces_and_seconds_read_as_decimals) {
    static constexpr std::array<double, 2> bounds{0.0005, 0.25};
    histogram h(bounds, nanoseconds_per_second);
    h.record(123us);
    std::string out;
    h.append_series(out, "nidan_wait_seconds");
    BOOST_TEST(out ==
               "nidan_wait_seconds_bucket{le=\"0.0005\"} 1\n"
               "nidan_wait_seconds_bucket{le=\"0.25\"} 1\n"
               "nidan_wait_seconds_bucket{le=\"+Inf\"} 1\n"
               "nidan_wait_seconds_sum 0.000123\n"
               "nidan_wait_seconds_count 1\n");
}

BOOST_AUTO_TEST_CASE(an_empty_histogram_reads_zero_everywhere) {
    const histogram h;
    std::string out;
    h.append_series(out, "x", "a=\"b\"");
    BOOST_TEST(out.find("x_bucket{a=\"b\",le=\"0.0001\"} 0\n") == 0u);
    BOOST_TEST(out.find("x_bucket{a=\"b\",le=\"10\"} 0\nx_bucket{a=\"b\",le=\"+Inf\"} 0\nx_sum{a=\"b\"} 0\n"
                        "x_count{a=\"b\"} 0\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bounds_that_do_not_ascend_or_fall_between_units_are_refused) {
    static constexpr std::array<double, 2> descending{2, 1};
    static constexpr std::array<double, 1> fraction{1.5};
    static constexpr std::array<double, histogram::max_bounds + 1> too_many{};
    BOOST_CHECK_THROW(histogram(descending, one_item), std::invalid_argument);
    BOOST_CHECK_THROW(histogram(fraction, one_item), std::invalid_argument);
    BOOST_CHECK_THROW(histogram(too_many, one_item), std::invalid_argument);
    BOOST_CHECK_NO_THROW(histogram(size_bounds, one_item));
}

BOOST_AUTO_TEST_CASE(threads_recording_together_lose_nothing) {
    histogram h(small_bounds, one_item);
    constexpr std::uint64_t per_thread = 100000;
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < 4; ++t)
        threads.emplace_back([&h, t] {
            for (std::uint64_t i = 0; i < per_thread; ++i) h.record(t);
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(h.count() == 4 * per_thread);
    BOOST_TEST(h.sum() == static_cast<double>((0 + 1 + 2 + 3) * per_thread));
    BOOST_TEST(cumulative_counts(h) == (std::vector<std::uint64_t>{2 * per_thread, 3 * per_thread, 4 * per_thread,
                                                                  4 * per_thread}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(numbers_and_label_values_in_prometheus_text) {
    BOOST_TEST(prometheus_number(0.00025) == "0.00025");
    BOOST_TEST(prometheus_number(2.5) == "2.5");
    BOOST_TEST(prometheus_number(128) == "128");
    BOOST_TEST(prometheus_number(std::numeric_limits<double>::infinity()) == "+Inf");
    BOOST_TEST(prometheus_label_value("/a\"b\\c\nd") == "/a\\\"b\\\\c\\nd");
}
