#pragma once
// The parameters of a throttle and the shipped defaults, apart from the arithmetic
// (core/security/throttle.hpp) so that the configuration can start from them without depending on the
// security code.
#include <chrono>

namespace nidan {

struct throttle_policy {
    unsigned free_failures;               // failures in a window that cost nothing
    std::chrono::milliseconds base_delay;  // the first delay after the free ones
    std::chrono::milliseconds max_delay;   // the doubling stops here
    std::chrono::seconds window;           // failures are counted per window of this length
};

// The shipped defaults (throttle_config in core/config/config.hpp starts from these; conf/nidan.toml
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

}  // namespace nidan
