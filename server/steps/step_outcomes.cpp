#include "server/steps/step_outcomes.hpp"

#include <array>

namespace nidan::server {
namespace {

using login::address_cancel_result;
using login::address_result;
using login::code_result;
using login::password_result;
using s = http::status;

// Indexed by the enum's value; the static_asserts below keep the order honest.
constexpr std::array<outcome_row, 7> password_rows{{
    {s::ok, "", "", "", "code_sent", ""},
    {s::ok, "", "", "", "address_required", ""},
    {s::unauthorized, "invalid_credentials", "The self-care ID or password is wrong.", "message.bad_credentials",
     "invalid_credentials", ""},
    {s::forbidden, "account_locked", "Password login is locked for this account; contact support.", "", "locked", ""},
    {s::too_many_requests, "too_many_codes", "Too many codes were sent for this account; retry later.",
     "message.too_many_mails", "too_many_codes", ""},
    {s::too_many_requests, "too_many_attempts",
     "Another attempt for this address or account is being checked; retry later.", "message.try_later", "busy", ""},
    {s::service_unavailable, "unavailable", "The service is temporarily unavailable; retry later.", "message.unavailable",
     "unavailable", ""},
}};
static_assert(static_cast<int>(password_result::code_sent) == 0 && static_cast<int>(password_result::address_required) == 1 &&
              static_cast<int>(password_result::invalid_credentials) == 2 && static_cast<int>(password_result::locked) == 3 &&
              static_cast<int>(password_result::too_many_codes) == 4 && static_cast<int>(password_result::busy) == 5 &&
              static_cast<int>(password_result::unavailable) == 6);

constexpr std::array<outcome_row, 6> code_rows{{
    {s::ok, "", "", "", "accepted", ""},
    {s::unauthorized, "wrong_code", "The code is wrong.", "message.wrong_code", "wrong", ""},
    {s::unauthorized, "code_dead", "Too many wrong codes; log in again with the password.", "message.code_dead", "dead", ""},
    {s::unauthorized, "code_expired", "The code has expired; log in again for a new one.", "message.code_expired",
     "expired", ""},
    {s::bad_request, "bad_code_format", "The code must be digits.", "message.code_format", "bad_format", ""},
    {s::service_unavailable, "unavailable", "The service is temporarily unavailable; retry later.", "message.unavailable",
     "unavailable", ""},
}};
static_assert(static_cast<int>(code_result::accepted) == 0 && static_cast<int>(code_result::wrong) == 1 &&
              static_cast<int>(code_result::dead) == 2 && static_cast<int>(code_result::expired) == 3 &&
              static_cast<int>(code_result::bad_format) == 4 && static_cast<int>(code_result::unavailable) == 5);

constexpr std::array<outcome_row, 9> address_rows{{
    {s::ok, "", "", "", "code_sent", ""},
    {s::unauthorized, "wrong_phone", "The phone number does not match the registered one.", "message.wrong_phone",
     "wrong_phone", ""},
    {s::forbidden, "address_form_locked", "The address form is locked for this account; contact support.", "", "locked", ""},
    {s::too_many_requests, "too_many_codes", "Too many codes were sent for this account; retry later.",
     "message.too_many_mails", "rate_limited", ""},
    {s::unauthorized, "unauthenticated", "A valid bearer token is required.", "", "no_account", ""},
    {s::bad_request, "bad_email", "The mail address is not valid.", "message.bad_address", "bad_email", ""},
    {s::bad_request, "bad_phone", "The phone number must be digits without hyphens.", "message.bad_phone", "bad_phone", ""},
    {s::service_unavailable, "unavailable", "The service is temporarily unavailable; retry later.", "message.unavailable",
     "unavailable", ""},
    {s::forbidden, "address_form_not_offered",
     "This account has a working registered address; contact support to change it.", "", "not_offered", ""},
}};

static_assert(static_cast<int>(address_result::code_sent) == 0 && static_cast<int>(address_result::wrong_phone) == 1 &&
              static_cast<int>(address_result::locked) == 2 && static_cast<int>(address_result::rate_limited) == 3 &&
              static_cast<int>(address_result::no_account) == 4 && static_cast<int>(address_result::bad_email) == 5 &&
              static_cast<int>(address_result::bad_phone) == 6 && static_cast<int>(address_result::unavailable) == 7 &&
              static_cast<int>(address_result::not_offered) == 8);

// Only the page answers the link: no API error. An unavailable store shows the error page.
constexpr std::array<outcome_row, 4> address_cancel_rows{{
    {s::ok, "", "", "address_cancel.done", "cancelled", "done"},
    {s::bad_request, "", "", "address_cancel.invalid", "invalid_link", "invalid"},
    {s::service_unavailable, "", "", "", "unavailable", ""},
    {s::ok, "", "", "address_cancel.done", "already_done", "done"},
}};
static_assert(static_cast<int>(address_cancel_result::cancelled) == 0 &&
              static_cast<int>(address_cancel_result::invalid_link) == 1 &&
              static_cast<int>(address_cancel_result::unavailable) == 2 &&
              static_cast<int>(address_cancel_result::already_done) == 3);

template <class Rows, class Result>
const outcome_row& row_in(const Rows& rows, Result r) noexcept {
    const auto i = static_cast<std::size_t>(r);
    return i < rows.size() ? rows[i] : rows.back();
}

}  // namespace

const outcome_row& outcome_of(password_result r) noexcept { return row_in(password_rows, r); }
const outcome_row& outcome_of(code_result r) noexcept { return row_in(code_rows, r); }
const outcome_row& outcome_of(address_result r) noexcept { return row_in(address_rows, r); }
const outcome_row& outcome_of(address_cancel_result r) noexcept { return row_in(address_cancel_rows, r); }

}  // namespace nidan::server
