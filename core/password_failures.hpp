#pragma once
// The failure counters one password check reads and writes (the login's password step and the
// account page's password change alike): the client address (an IPv6 client as its /64) and,
// when the ID is well formed, the account; their windows; the delays they set; the
// attempt_gate subjects of those delays.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/login_records.hpp"

namespace nidan::login {

class password_failures {
public:
    // account: account_subject() of the ID; "" when there is none to count (a malformed ID).
    password_failures(const throttle_config& t, std::string_view client, std::string account, std::int64_t now);

    // account_delay_applies: false for the owner's own device, which failures from elsewhere
    // do not slow. other_checks: checks of the account running now, counted as failures to come.
    void read(const record_reader& r, bool account_delay_applies, std::uint32_t other_checks = 0);
    std::chrono::milliseconds delay() const { return std::max(address_delay_, account_delay_); }
    // The account paired with the address: a stranger's waiting guess must not refuse the owner.
    std::vector<std::string> gate_subjects() const;

    // One more failure on each counter (kept until the window after theirs ends, so the sweep
    // never removes a live one); the account's count afterwards, 0 without an account.
    std::uint32_t add_failure(record_writer& w) const;
    // A successful login forgets the account's failures (not the address's).
    void clear_account(record_writer& w) const;

private:
    const throttle_config& t_;
    std::int64_t now_;
    std::string address_;
    std::string account_;
    std::int64_t address_window_;
    std::int64_t account_window_;
    std::chrono::milliseconds address_delay_{0};
    std::chrono::milliseconds account_delay_{0};
};

}  // namespace nidan::login
