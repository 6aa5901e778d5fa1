#pragma once
// The throttle of one password check (the login's password step and the account page's password
// change alike), as README.md's security section describes it: which subjects count its failure,
// the sliding counts read from the counters table, the delay, the account's budget, and the
// attempt_gate plan a delayed check needs.
//
// Subjects: the client address (address_subject(): an IPv6 client as its /64); when the ID is
// well formed, the account (portal + ID, across all addresses); and the account's device holders,
// requests that carry a valid device token for it. A device holder is exempt from the address's
// delay and queue and from the account's delay, concurrency limit and budget; its failures are
// counted on the device holders' subject instead of the account's, under the account's policy.
// Every failure also counts on the address.
//
// The caller registers the check in flight (attempt_gate::track) under address_key() and
// account_key() before read(), and, when read() was told the request is a device holder, under
// holder_key() before recount(): a check counts the others in flight as failures to come.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/security/attempt_gate.hpp"
#include "core/config/config.hpp"
#include "core/login/login_records.hpp"

namespace nidan::login {

// Other checks of each subject running now (attempt_gate::track's counts).
struct checks_in_flight {
    std::uint32_t address = 0;
    std::uint32_t account = 0;  // strangers' checks of the account
    std::uint32_t holder = 0;   // device holders' checks of the account
};

class password_failures {
public:
    // account: account_subject() of the ID; "" when there is none to count (a malformed ID).
    password_failures(const throttle_config& t, std::string_view client, std::string account, std::int64_t now);

    // The attempt_gate::track subjects; "" for the account's two without an account, and for
    // holder_key() unless read() was told the request is a device holder.
    std::string address_key() const;
    std::string account_key() const;
    std::string holder_key() const;

    // device_holder: the request carries a valid device token for this account.
    void read(const record_reader& r, bool device_holder, checks_in_flight others);
    // The counters again, after holder_key() was registered (so no holder's failure committed
    // meanwhile is missed).
    void recount(const record_reader& r, checks_in_flight others) { read(r, holder_, others); }
    bool device_holder() const { return holder_; }

    // Zero, or the longer of the address's and the account's (or the holders') delays.
    std::chrono::milliseconds delay() const { return std::max(address_delay(), account_delay()); }
    // The account's (or its holders') failures, with those in flight, reached
    // throttle.account_budget: the check is refused unchecked.
    bool over_budget() const;
    // When the account's count falls below the budget, in seconds from now (at least 1).
    std::int64_t budget_retry_after_s() const;
    // A refused attempt's Retry-After in seconds: when the account's budget has room again
    // (account_budget), else when this attempt's delay has passed; at least 1.
    std::int64_t retry_after_s(throttle_refusal why) const;
    // What a delayed check must hold from the gate; empty without a delay.
    gate_plan plan() const;

    // One more failure on the address and on the account's (or the holders') subject; the
    // account side's sliding count afterwards, 0 without an account. Each bucket is kept until
    // the window after its own ends, which the sliding count still reads.
    std::uint32_t add_failure(record_writer& w) const;
    // A successful check forgets the failures of its side of the account (a stranger's success
    // the account's, a device holder's the holders'); the address keeps its count.
    void clear_account(record_writer& w) const;

private:
    std::chrono::milliseconds address_delay() const;
    std::chrono::milliseconds account_delay() const;
    std::string_view account_kind() const;  // the counter kind of the account's side
    std::uint32_t account_in_flight() const { return holder_ ? others_.holder : others_.account; }

    const throttle_config& t_;
    std::int64_t now_;
    std::string address_;
    std::string account_;
    std::int64_t address_window_;
    std::int64_t account_window_;
    bool holder_ = false;
    checks_in_flight others_;
    std::uint32_t address_count_ = 0;   // sliding, stored failures only
    std::uint32_t account_current_ = 0; // the account side's buckets
    std::uint32_t account_previous_ = 0;
};

}  // namespace nidan::login
