#pragma once
// The address form: a customer whose mail address is unknown, missing or not arriving proves who
// they are with the registered contact phone number and gets a code at a new address, which
// starts to replace the registered one only when that code is verified, and the registered
// address is told at once (core/login/address_change.hpp). Wrong numbers
// count against the account; the address.phone_strikes-th locks the form until an operator runs
// `nidan user unlock` - the phone number is a knowledge check, so it gets a strict limit.
//
//   address_step step(context, session, email, phone, client, now);
//   if (step.well_formed()) error = write { step.write(writer); }   // one transaction
//   outcome = step.finish(error);
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/login/code_issue.hpp"
#include "core/login/login_context.hpp"

namespace nidan::login {

// not_offered: address_change.only_without_working_address keeps this account off the form.
enum class address_result {
    code_sent, wrong_phone, locked, rate_limited, no_account, bad_email, bad_phone, unavailable, not_offered
};

struct address_outcome {
    address_result result = address_result::no_account;
    std::uint32_t strikes = 0;         // wrong_phone, locked
    std::string masked_email;          // code_sent
    std::optional<std::string> phone;  // the normalised number, once it passed the format check
    bool mail_queued = false;
};

class address_step {
public:
    // phone: as typed (hyphens, blanks and full-width digits are fine).
    address_step(const context& c, const current_session& session, std::string email, std::string_view phone,
                 std::string client, std::int64_t now);

    // False: the address or number breaks the rules; nothing is written, finish() says which.
    bool well_formed() const { return result_ != address_result::bad_email && result_ != address_result::bad_phone; }
    void write(record_writer& w);
    address_outcome finish(const std::error_code& write_error);

private:
    const context& c_;
    const current_session session_;
    std::string email_;
    std::optional<std::string> phone_;
    std::string client_;
    std::int64_t now_;
    std::optional<code_issue> code_;
    address_result result_ = address_result::no_account;
    std::uint32_t strikes_ = 0;
    bool notice_queued_ = false;
};

}  // namespace nidan::login
