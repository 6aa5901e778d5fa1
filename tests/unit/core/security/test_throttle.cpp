#define BOOST_TEST_MODULE throttle
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "core/security/throttle.hpp"

using namespace std::chrono_literals;
using namespace nidan;

namespace {

std::int64_t ms(std::chrono::milliseconds d) { return d.count(); }

}  // namespace

BOOST_AUTO_TEST_CASE(named_policies) {
    BOOST_TEST(per_address_throttle.free_failures == 10u);
    BOOST_TEST(ms(per_address_throttle.base_delay) == 1000);
    BOOST_TEST(ms(per_address_throttle.max_delay) == 30'000);
    BOOST_TEST(per_address_throttle.window.count() == 900);
    BOOST_TEST(per_account_throttle.free_failures == 5u);
    BOOST_TEST(ms(per_account_throttle.base_delay) == 1000);
    BOOST_TEST(ms(per_account_throttle.max_delay) == 60'000);
    BOOST_TEST(per_account_throttle.window.count() == 900);
}

BOOST_AUTO_TEST_CASE(account_delay_table) {
    const std::int64_t expected[] = {0,    0,    0,    0,     0,     0,  // 0..5 failures: free
                                     1000, 2000, 4000, 8000,  16000, 32000,
                                     60000, 60000, 60000};
    for (unsigned failures = 0; failures < std::size(expected); ++failures) {
        BOOST_TEST_INFO("failures " << failures);
        BOOST_TEST(ms(delay_for(per_account_throttle, failures)) == expected[failures]);
    }
}

BOOST_AUTO_TEST_CASE(address_delay_table) {
    const std::int64_t expected[] = {0,    0,    0,    0,    0,     0, 0, 0, 0, 0, 0,  // 0..10
                                     1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (unsigned failures = 0; failures < std::size(expected); ++failures) {
        BOOST_TEST_INFO("failures " << failures);
        BOOST_TEST(ms(delay_for(per_address_throttle, failures)) == expected[failures]);
    }
}

BOOST_AUTO_TEST_CASE(huge_counts_stay_at_the_cap) {
    for (const unsigned failures : {64u, 65u, 100u, 1000u, 1u << 20,
                                    std::numeric_limits<unsigned>::max()}) {
        BOOST_TEST(ms(delay_for(per_account_throttle, failures)) == 60'000);
        BOOST_TEST(ms(delay_for(per_address_throttle, failures)) == 30'000);
    }
    // A cap at the top of the range: doubling must saturate instead of overflowing.
    const throttle_policy wide{0, 1ms, std::chrono::milliseconds::max(), 60s};
    BOOST_TEST(ms(delay_for(wide, 1)) == 1);
    BOOST_TEST(ms(delay_for(wide, 11)) == 1024);
    BOOST_TEST(ms(delay_for(wide, 63)) == std::int64_t{1} << 62);
    BOOST_TEST(ms(delay_for(wide, 64)) == std::numeric_limits<std::int64_t>::max());
    BOOST_TEST(ms(delay_for(wide, std::numeric_limits<unsigned>::max())) ==
               std::numeric_limits<std::int64_t>::max());
}

BOOST_AUTO_TEST_CASE(odd_policies) {
    // The cap wins over a base above it.
    BOOST_TEST(ms(delay_for({0, 10s, 3s, 60s}, 1)) == 3000);
    // The cap need not be base * 2^n.
    BOOST_TEST(ms(delay_for({0, 3s, 10s, 60s}, 2)) == 6000);
    BOOST_TEST(ms(delay_for({0, 3s, 10s, 60s}, 3)) == 10000);
    // Zero base or cap: never a delay, and no endless loop for big counts.
    BOOST_TEST(ms(delay_for({0, 0ms, 10s, 60s}, std::numeric_limits<unsigned>::max())) == 0);
    BOOST_TEST(ms(delay_for({0, 1s, 0ms, 60s}, 5)) == 0);
    BOOST_TEST(ms(delay_for({0, -1s, 10s, 60s}, 5)) == 0);
    // Every failure free.
    BOOST_TEST(ms(delay_for({std::numeric_limits<unsigned>::max(), 1s, 10s, 60s},
                            std::numeric_limits<unsigned>::max())) == 0);
}

BOOST_AUTO_TEST_CASE(window_rounding) {
    const auto& p = per_account_throttle;  // 900 s
    BOOST_TEST(window_start(p, 0) == 0);
    BOOST_TEST(window_start(p, 899) == 0);
    BOOST_TEST(window_start(p, 900) == 900);
    BOOST_TEST(window_start(p, 1'700'000'123) == 1'700'000'100);  // 1'700'000'100 = 900 * 1'888'889
    BOOST_TEST(window_start(p, -1) == -900);
    BOOST_TEST(window_start(p, -900) == -900);
    BOOST_TEST(window_start(p, -901) == -1800);
    const auto max = std::numeric_limits<std::int64_t>::max();
    const auto min = std::numeric_limits<std::int64_t>::min();
    BOOST_TEST(window_start(p, max) == max - max % 900);
    BOOST_TEST(window_start(p, min) % 900 == 0);
    BOOST_TEST(window_start(p, min) <= min + 900);
    BOOST_TEST(window_start({0, 1s, 1s, 0s}, 12345) == 12345);
    BOOST_TEST(window_start({0, 1s, 1s, 1s}, 12345) == 12345);
    BOOST_TEST(window_start({0, 1s, 1s, std::chrono::seconds::max()}, max - 1) == 0);
}

BOOST_AUTO_TEST_CASE(addresses_are_counted_per_ipv4_address_and_per_ipv6_slash_64) {
    BOOST_TEST(address_subject("192.0.2.7") == "192.0.2.7");
    BOOST_TEST(address_subject("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
    BOOST_TEST(address_subject("2001:db8:1:2::1") == address_subject("2001:db8:1:2:ffff::9"));
    BOOST_TEST(address_subject("2001:db8:1:3::1") != address_subject("2001:db8:1:2::1"));
    BOOST_TEST(address_subject("::1") == "::/64");
    BOOST_TEST(address_subject("::ffff:192.0.2.7") == "192.0.2.7");  // IPv4-mapped: the IPv4 address
    BOOST_TEST(address_subject("not an address") == "not an address");
    BOOST_TEST(address_subject("") == "");
    BOOST_TEST(address_subject("2001:db8::zz") == "2001:db8::zz");
}

BOOST_AUTO_TEST_CASE(the_sliding_count_weighs_the_previous_bucket_by_what_the_window_still_covers) {
    const throttle_policy p{10, 1s, 30s, 100s};
    const std::int64_t bucket = 1'700'000'000;  // a multiple of 100
    // At the boundary the previous bucket counts whole, so a boundary hands out nothing anew.
    BOOST_TEST(sliding_count(p, bucket, 0, 11) == 11u);
    BOOST_TEST(sliding_count(p, bucket, 2, 11) == 13u);
    // Halfway through, half of it (rounded up: a failure partly in the window counts whole).
    BOOST_TEST(sliding_count(p, bucket + 50, 0, 10) == 5u);
    BOOST_TEST(sliding_count(p, bucket + 50, 0, 11) == 6u);
    BOOST_TEST(sliding_count(p, bucket + 50, 3, 11) == 9u);
    // The last second: a trace of it remains; the next bucket it is gone (only current counts).
    BOOST_TEST(sliding_count(p, bucket + 99, 0, 11) == 1u);
    BOOST_TEST(sliding_count(p, bucket + 99, 4, 0) == 4u);
    // Fixed windows would give 0 right after the boundary; two buckets of free failures side by
    // side are never both free.
    for (std::int64_t elapsed = 0; elapsed < 100; ++elapsed) {
        BOOST_TEST_INFO("elapsed " << elapsed);
        // 10 free failures at the end of one bucket, then as many as stay free in the next:
        unsigned more = 0;
        while (sliding_count(p, bucket + elapsed, more, 10) <= 10) ++more;
        BOOST_TEST(more + 10u <= 10u + 1u + static_cast<unsigned>(elapsed / 10));
    }
    // No overflow, and a non-positive window counts the current bucket only.
    BOOST_TEST(sliding_count(p, bucket, std::numeric_limits<std::uint32_t>::max(), 5) ==
               std::numeric_limits<std::uint32_t>::max());
    BOOST_TEST(sliding_count(p, bucket, 7, std::numeric_limits<std::uint32_t>::max()) ==
               std::numeric_limits<std::uint32_t>::max());
    BOOST_TEST(sliding_count({0, 1s, 1s, 0s}, bucket, 3, 9) == 3u);
    const throttle_policy long_window{0, 1s, 1s, std::chrono::seconds{std::int64_t{1} << 40}};
    BOOST_TEST(sliding_count(long_window, 0, 1, 4) == 5u);
}

BOOST_AUTO_TEST_CASE(seconds_until_below_is_when_the_sliding_count_first_falls_below_the_limit) {
    const throttle_policy p{5, 1s, 60s, 100s};
    const std::int64_t bucket = 1'700'000'000;
    // Below already, or no limit: now.
    BOOST_TEST(seconds_until_below(p, bucket + 10, 15, 14, 0) == 0);
    BOOST_TEST(seconds_until_below(p, bucket + 10, 0, 100, 100) == 0);
    // The answer is exact: below at that second, not one second before, for many shapes.
    for (const auto& [current, previous] : std::vector<std::pair<std::uint32_t, std::uint32_t>>{
             {15, 0}, {16, 0}, {30, 0}, {0, 15}, {5, 15}, {14, 40}, {15, 15}, {1, 1000}}) {
        for (const std::int64_t elapsed : {0, 1, 37, 99}) {
            const auto now = bucket + elapsed;
            const auto wait = seconds_until_below(p, now, 15, current, previous);
            BOOST_TEST_INFO("current " << current << " previous " << previous << " elapsed " << elapsed);
            // Walk the buckets forward: at now + wait the count is below, at now + wait - 1 not.
            const auto count_at = [&](std::int64_t t) {
                const auto shift = (window_start(p, t) - bucket) / 100;  // buckets moved on
                if (shift == 0) return sliding_count(p, t, current, previous);
                if (shift == 1) return sliding_count(p, t, 0, current);
                return sliding_count(p, t, 0, 0);
            };
            if (count_at(now) < 15u) {
                BOOST_TEST(wait == 0);
                continue;
            }
            BOOST_TEST_REQUIRE(wait >= 1);
            BOOST_TEST(count_at(now + wait) < 15u);
            BOOST_TEST(count_at(now + wait - 1) >= 15u);
        }
    }
}

BOOST_AUTO_TEST_CASE(refusals_have_names) {
    BOOST_TEST(name_of(throttle_refusal::busy_same_account) == "busy_same_account");
    BOOST_TEST(name_of(throttle_refusal::busy_queue_full) == "busy_queue_full");
    BOOST_TEST(name_of(throttle_refusal::account_concurrency) == "account_concurrency");
    BOOST_TEST(name_of(throttle_refusal::account_budget) == "account_budget");
}
