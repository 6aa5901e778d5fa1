#include "core/login/password_failures.hpp"

#include <algorithm>
#include <limits>

#include "core/login/login_context.hpp"
#include "core/security/throttle.hpp"

namespace nidan::login {
namespace {

std::string key(std::string_view kind, std::string_view subject) {
    std::string out(kind);
    out += '\0';
    out += subject;
    return out;
}

std::uint32_t plus(std::uint32_t a, std::uint32_t b) {
    return a > std::numeric_limits<std::uint32_t>::max() - b ? std::numeric_limits<std::uint32_t>::max() : a + b;
}

}  // namespace

password_failures::password_failures(const throttle_config& t, std::string_view client, std::string account,
                                     std::int64_t now)
    : t_(t),
      now_(now),
      address_(address_subject(client)),
      account_(std::move(account)),
      address_window_(window_start(t.per_address(), now)),
      account_window_(window_start(t.per_account(), now)) {}

std::string_view password_failures::account_kind() const {
    return holder_ ? failures_per_device_holder : failures_per_account;
}

std::string password_failures::address_key() const { return key(failures_per_address, address_); }

std::string password_failures::account_key() const {
    return account_.empty() ? std::string() : key(failures_per_account, account_);
}

std::string password_failures::holder_key() const {
    return account_.empty() || !holder_ ? std::string() : key(failures_per_device_holder, account_);
}

void password_failures::read(const record_reader& r, bool device_holder, checks_in_flight others) {
    holder_ = device_holder && !account_.empty();
    others_ = others;
    const auto address_policy = t_.per_address();
    const auto address_step = address_policy.window.count();
    address_count_ = sliding_count(address_policy, now_,
                                   r.count(failures_per_address, address_, address_window_, now_),
                                   r.count(failures_per_address, address_, address_window_ - address_step, now_));
    account_current_ = account_previous_ = 0;
    if (account_.empty()) return;
    const auto account_step = t_.account_window.count();
    account_current_ = r.count(account_kind(), account_, account_window_, now_);
    account_previous_ = r.count(account_kind(), account_, account_window_ - account_step, now_);
}

std::chrono::milliseconds password_failures::address_delay() const {
    // The device holder is not slowed by what others did from its address.
    if (holder_) return std::chrono::milliseconds{0};
    return delay_for(t_.per_address(), plus(address_count_, others_.address));
}

std::chrono::milliseconds password_failures::account_delay() const {
    if (account_.empty()) return std::chrono::milliseconds{0};
    const auto stored = sliding_count(t_.per_account(), now_, account_current_, account_previous_);
    return delay_for(t_.per_account(), plus(stored, account_in_flight()));
}

bool password_failures::over_budget() const {
    if (account_.empty() || t_.account_budget == 0) return false;
    const auto stored = sliding_count(t_.per_account(), now_, account_current_, account_previous_);
    return plus(stored, account_in_flight()) >= t_.account_budget;
}

std::int64_t password_failures::budget_retry_after_s() const {
    return std::max<std::int64_t>(
        seconds_until_below(t_.per_account(), now_, t_.account_budget, account_current_, account_previous_), 1);
}

std::int64_t password_failures::retry_after_s(throttle_refusal why) const {
    if (why == throttle_refusal::account_budget) return budget_retry_after_s();
    return std::max<std::int64_t>((delay().count() + 999) / 1000, 1);
}

gate_plan password_failures::plan() const {
    gate_plan p;
    if (holder_) {
        // One delayed check of the holders at a time, apart from everything strangers hold.
        if (account_delay().count() > 0) p.account = holder_key();
        return p;
    }
    if (delay().count() == 0) return p;
    if (!account_.empty()) p.pair = key("pair", account_) + '\0' + address_;
    if (account_delay().count() > 0) {
        p.account = account_key();
        p.account_limit = t_.account_parallel_checks;
    }
    if (address_delay().count() > 0) {
        p.line = address_key();
        p.line_max = t_.address_queue_max;
    }
    return p;
}

std::uint32_t password_failures::add_failure(record_writer& w) const {
    w.add_count(failures_per_address, address_, address_window_, address_window_ + 2 * t_.address_window.count());
    if (account_.empty()) return 0;
    const auto step = t_.account_window.count();
    w.add_count(account_kind(), account_, account_window_, account_window_ + 2 * step);
    return sliding_count(t_.per_account(), now_, w.count(account_kind(), account_, account_window_, now_),
                         w.count(account_kind(), account_, account_window_ - step, now_));
}

void password_failures::clear_account(record_writer& w) const {
    if (account_.empty()) return;
    w.clear_count(account_kind(), account_, account_window_);
    w.clear_count(account_kind(), account_, account_window_ - t_.account_window.count());
}

}  // namespace nidan::login
