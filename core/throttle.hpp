#pragma once
// Growing delays after failed passwords. A delay only slows guessing, so an attacker cannot lock
// a customer out by failing on purpose, while the cost of each further guess doubles. (A hard lock
// exists only when an operator asks for it: throttle.account_lock_after, core/password_step.hpp.)
//
// Failures are counted per fixed window (counters table: kind \0 subject \0 window_start) and two
// subjects are throttled independently, the caller waiting for the larger delay:
//  - the client address, against credential stuffing (many accounts tried from one place);
//  - the account, against guessing one account's password from many addresses.
// A request that carries a valid device cookie for the account (the browser completed a login for
// it before) is exempt from the per-account delay: that delay exists for strangers, and the
// exemption keeps an attacker's failures from slowing the customer down. Deciding that is the
// caller's job; nothing here knows about cookies.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace nidan {

struct throttle_policy {
    unsigned free_failures;               // failures in a window that cost nothing
    std::chrono::milliseconds base_delay;  // the first delay after the free ones
    std::chrono::milliseconds max_delay;   // the doubling stops here
    std::chrono::seconds window;           // failures are counted per window of this length
};

// The shipped defaults (throttle_config in core/config.hpp starts from these; conf/nidan.toml
// documents them).
// One address: an office or a carrier NAT may hold several customers, and ten free failures let
// them all mistype a few times; stuffing, which tries thousands of accounts, soon waits 30 s
// per guess.
inline constexpr throttle_policy per_address_throttle{10, std::chrono::seconds{1},
                                                      std::chrono::seconds{30},
                                                      std::chrono::minutes{15}};

// One account: a customer mistyping a few times is never slowed, while a guesser spreading over
// many addresses reaches a minute per guess, about 15 guesses a window.
inline constexpr throttle_policy per_account_throttle{5, std::chrono::seconds{1},
                                                      std::chrono::seconds{60},
                                                      std::chrono::minutes{15}};

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

// `now` (Unix seconds) rounded down to a multiple of policy.window; before 1970 it rounds toward
// the past too. A non-positive window counts every second on its own (returns now).
std::int64_t window_start(const throttle_policy& policy, std::int64_t now) noexcept;

}  // namespace nidan
