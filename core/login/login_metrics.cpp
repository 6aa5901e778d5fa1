#include "core/login/login_metrics.hpp"

namespace nidan::login {
namespace {

// The counters are indexed by the enum's value: the lists must hold every value, in order.
template <class Result, std::size_t N>
constexpr bool lists_every_value_in_order(const std::array<Result, N>& all) {
    for (std::size_t i = 0; i < N; ++i)
        if (static_cast<std::size_t>(all[i]) != i) return false;
    return true;
}
static_assert(lists_every_value_in_order(all_password_results));
static_assert(lists_every_value_in_order(all_code_results));
static_assert(lists_every_value_in_order(all_address_results));
static_assert(lists_every_value_in_order(all_address_cancel_results));
static_assert(lists_every_value_in_order(all_throttle_refusals));

}  // namespace

std::string_view name_of(password_result r) noexcept {
    switch (r) {
    case password_result::code_sent: return "code_sent";
    case password_result::address_required: return "address_required";
    case password_result::invalid_credentials: return "invalid_credentials";
    case password_result::locked: return "locked";
    case password_result::too_many_codes: return "too_many_codes";
    case password_result::busy: return "busy";
    case password_result::unavailable: return "unavailable";
    }
    return "unknown";
}

std::string_view name_of(code_result r) noexcept {
    switch (r) {
    case code_result::accepted: return "accepted";
    case code_result::wrong: return "wrong";
    case code_result::dead: return "dead";
    case code_result::expired: return "expired";
    case code_result::bad_format: return "bad_format";
    case code_result::unavailable: return "unavailable";
    }
    return "unknown";
}

std::string_view name_of(address_result r) noexcept {
    switch (r) {
    case address_result::code_sent: return "code_sent";
    case address_result::wrong_phone: return "wrong_phone";
    case address_result::locked: return "locked";
    case address_result::rate_limited: return "rate_limited";
    case address_result::no_account: return "no_account";
    case address_result::bad_email: return "bad_email";
    case address_result::bad_phone: return "bad_phone";
    case address_result::unavailable: return "unavailable";
    case address_result::not_offered: return "not_offered";
    }
    return "unknown";
}

std::string_view name_of(address_cancel_result r) noexcept {
    switch (r) {
    case address_cancel_result::cancelled: return "cancelled";
    case address_cancel_result::invalid_link: return "invalid_link";
    case address_cancel_result::unavailable: return "unavailable";
    case address_cancel_result::already_done: return "already_done";
    }
    return "unknown";
}

}  // namespace nidan::login
