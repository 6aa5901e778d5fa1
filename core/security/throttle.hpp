#pragma once
// Growing delays after failed passwords. A delay only slows guessing, so an attacker cannot lock
// a customer out by failing on purpose, while the cost of each further guess doubles. (A hard lock
// exists only when an operator asks for it: throttle.account_lock_after, core/login/password_step.hpp.)
//
// The whole model (subjects, windows, delays, the account's budget, what a device token exempts)
// is written down once in README.md's security section; core/login/password_failures.hpp applies it,
// core/security/attempt_gate.hpp holds what cannot be stored (checks in flight, passes, the queue).
// Here: the pure arithmetic.
//
// Windows slide: failures are stored per fixed bucket of the window's length (counters table:
// kind \0 subject \0 bucket_start, each kept two windows), and the count of the last window is
// estimated as the current bucket plus the previous one weighted by the part of it the sliding
// window still covers. A bucket boundary therefore does not hand out the free failures again.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config/throttle_policy.hpp"

namespace nidan {

// Zero while failures_in_window <= free_failures, then
// base_delay * 2^(failures_in_window - free_failures - 1), capped at max_delay. Any count is
// safe (no overflow); a non-positive base or cap gives zero.
std::chrono::milliseconds delay_for(const throttle_policy& policy,
                                    unsigned failures_in_window) noexcept;

// The subject a client address is counted under: an IPv4 address as it is; an IPv6 address as
// its /64 ("2001:db8:1:2::/64"), since one subscriber is routinely given a whole /64 and could
// otherwise spread guesses over 2^64 addresses; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as
// the IPv4 address. Text that is neither comes back unchanged.
std::string address_subject(std::string_view client);

// `now` (Unix seconds) rounded down to a multiple of policy.window (the start of the current
// bucket); before 1970 it rounds toward the past too. A non-positive window counts every second
// on its own (returns now).
std::int64_t window_start(const throttle_policy& policy, std::int64_t now) noexcept;

// The failures of the sliding window that ends at `now`: current + previous * (window - elapsed)
// / window, elapsed being now - window_start(policy, now), rounded up (a failure still partly in
// the window counts whole). A non-positive window: current alone. Saturates instead of
// overflowing.
std::uint32_t sliding_count(const throttle_policy& policy, std::int64_t now, std::uint32_t current,
                            std::uint32_t previous) noexcept;

// Seconds from `now` until sliding_count() falls below `limit` if no failure is added; 0 when it
// is below already (or limit is 0: no limit).
std::int64_t seconds_until_below(const throttle_policy& policy, std::int64_t now, std::uint32_t limit,
                                 std::uint32_t current, std::uint32_t previous) noexcept;

// Why a password check was refused at once, unchecked (429): another delayed check of the same
// address and account is pending; the address's queue is full; the account's concurrency limit
// (throttle.account_parallel_checks) is reached; the account's budget (throttle.account_budget)
// is spent for now.
enum class throttle_refusal : std::uint8_t { busy_same_account, busy_queue_full, account_concurrency, account_budget };
inline constexpr std::size_t throttle_refusal_count = 4;
std::string_view name_of(throttle_refusal r) noexcept;

}  // namespace nidan
