#pragma once
// Step 2 of the login: the code from the mail, for the session's pending code. Also verifies the
// code of an address change (the address form, the account page), which is when the new address
// starts to take over from the registered one (core/login/address_change.hpp).
//
//   code_step step(context, session, typed, client, now);
//   if (step.well_formed()) error = write { step.write(writer); }   // one transaction
//   outcome = step.finish(error);
//
// The verdict is taken inside the write transaction, so two concurrent guesses cannot both use
// the same remaining attempt.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/login/login_context.hpp"

namespace nidan::login {

enum class code_result { accepted, wrong, dead, expired, bad_format, unavailable };

struct code_outcome {
    code_result result = code_result::expired;
    std::string session_id;           // accepted: the new id of the now authenticated session
    std::string device_token;         // accepted: signed token for the device cookie
    std::uint32_t attempts_left = 0;  // wrong
    std::string minutes;              // the code lifetime in minutes, for the messages
    bool mail_queued = false;         // the delivery loop has a mail to send
    // accepted for an address change that waits its hold (core/login/address_change.hpp): when the new
    // address takes over (unix seconds); 0 when it took over now, or for a login code.
    std::int64_t address_held_until = 0;
};

class code_step {
public:
    // typed: what the customer entered (half- or full-width digits, blanks around them).
    code_step(const context& c, const current_session& session, std::string_view typed, std::string client,
              std::int64_t now);

    // False: not a code of the configured length; nothing to write, finish() says bad_format.
    bool well_formed() const { return code_.has_value(); }
    void write(record_writer& w);
    code_outcome finish(const std::error_code& write_error);

private:
    void accept(record_writer& w, const code_record& stored, account acct);

    const context& c_;
    const current_session session_;
    std::optional<std::string> code_;
    std::string client_;
    std::int64_t now_;
    std::string new_id_;
    code_result result_ = code_result::expired;
    std::uint32_t attempts_left_ = 0;
    std::string old_address_;
    std::string new_address_;
    bool changed_now_ = false;
    std::int64_t held_until_ = 0;
};

}  // namespace nidan::login
