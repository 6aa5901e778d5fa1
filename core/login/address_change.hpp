#pragma once
// A new registered address, from the address form or the account page. The code sent to the new
// address proves the mailbox; but the address form needs only the password and the contact phone
// number (no secret for a telecom's customers), so whoever has those could take the account over
// by making their own mailbox the registered one. Hence:
//   - the moment a code goes to a new address, the registered address is told, with a link that
//     cancels the change (address_cancel_step below);
//   - once the code is verified, the new address waits address_change.hold_hours before it
//     replaces the registered one (settle_address_change), unless cancelled meanwhile; an account
//     without a registered address has nobody to warn and takes it at once.
// Cancelling drops the change (or puts the old address back, when it already took effect),
// ends every session, code and device token of the account and locks the address form until
// support unlocks it. Once that is done the link does nothing more: using it again must not end
// the sessions its owner has opened since.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/login/login_context.hpp"

namespace nidan::login {

// Moves a held address whose time has come into `email`. True when `a` changed (save it).
bool settle_address_change(account& a, std::int64_t now);

// The code to `new_email` was verified: the address replaces the registered one now (no hold,
// or nothing registered) or at pending_email_at. Returns true when it took effect now.
bool begin_address_change(const context& c, account& a, const std::string& new_email, std::int64_t now);

// Inside the write that sends the code to `new_email`: the notice to the registered address
// (settled at `now`), with the cancel link; nothing when none is registered or it is the same.
// True when a mail was queued.
bool queue_change_notice(const context& c, record_writer& w, const account& a, const std::string& new_email,
                         std::int64_t now);

// The link's token names the account and both addresses; it outlives the hold by a week, so
// that a change that already took effect can still be undone from the old mailbox. It is not
// bound to the credential epoch: a thief changing the password must not void the owner's link.
inline constexpr std::string_view address_cancel_purpose = "address_cancel";
inline constexpr std::int64_t cancel_grace_s = 7 * 24 * 3600;

// already_done: the change is gone (cancelled before, or undone otherwise) and the address form is
// locked; nothing was written.
enum class address_cancel_result { cancelled, invalid_link, unavailable, already_done };

//   address_cancel_step step(context, token, client, now);
//   if (step.valid()) error = write { step.write(writer); }
//   result = step.finish(error);
class address_cancel_step {
public:
    address_cancel_step(const context& c, std::string_view token, std::string client, std::int64_t now);
    // A token of this portal, signed by this server and unexpired.
    bool valid() const { return valid_; }
    void write(record_writer& w);
    address_cancel_result finish(const std::error_code& write_error);

private:
    const context& c_;
    std::string client_;
    std::int64_t now_;
    bool valid_ = false;
    std::string id_;
    std::string old_email_;
    std::string new_email_;
    bool found_ = false;
    bool restored_ = false;  // the change had taken effect: the old address is back
    bool already_done_ = false;
};

}  // namespace nidan::login
