#include "core/password_failures.hpp"

#include <algorithm>

#include "core/login_context.hpp"
#include "core/throttle.hpp"

namespace nidan::login {

password_failures::password_failures(const throttle_config& t, std::string_view client, std::string account,
                                     std::int64_t now)
    : t_(t),
      now_(now),
      address_(address_subject(client)),
      account_(std::move(account)),
      address_window_(window_start(t.per_address(), now)),
      account_window_(window_start(t.per_account(), now)) {}

void password_failures::read(const record_reader& r, bool account_delay_applies, std::uint32_t other_checks) {
    address_delay_ = delay_for(t_.per_address(), r.count(failures_per_address, address_, address_window_, now_));
    if (!account_.empty() && account_delay_applies)
        account_delay_ =
            delay_for(t_.per_account(), r.count(failures_per_account, account_, account_window_, now_) + other_checks);
}

std::vector<std::string> password_failures::gate_subjects() const {
    std::vector<std::string> subjects;
    if (address_delay_.count() > 0) subjects.push_back(std::string(failures_per_address) + '\0' + address_);
    if (account_delay_.count() > 0)
        subjects.push_back(std::string(failures_per_account) + '\0' + account_ + '\0' + address_);
    return subjects;
}

std::uint32_t password_failures::add_failure(record_writer& w) const {
    w.add_count(failures_per_address, address_, address_window_, address_window_ + 2 * t_.address_window.count());
    if (account_.empty()) return 0;
    w.add_count(failures_per_account, account_, account_window_, account_window_ + 2 * t_.account_window.count());
    return w.count(failures_per_account, account_, account_window_, now_);
}

void password_failures::clear_account(record_writer& w) const {
    if (!account_.empty()) w.clear_count(failures_per_account, account_, account_window_);
}

}  // namespace nidan::login
