#pragma once
// What an authenticated session does on its account page, and the session's own upkeep:
// a new address (a code goes there; core/login/code_step.hpp and core/login/address_change.hpp take it on
// once it is verified), a new password, logout, and moving the idle expiry on. Same shape as the login steps: the
// caller runs write() in one transaction and passes its outcome to finish().
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/login/code_issue.hpp"
#include "core/login/current_password_check.hpp"
#include "core/login/login_context.hpp"

namespace nidan::login {

// busy: refused unchecked by the throttle (core/security/attempt_gate.hpp, core/login/password_failures.hpp).
enum class email_change_result { code_sent, bad_email, wrong_password, rate_limited, busy, unavailable };

//   email_change_step step(context, session, email, current, client, now);
//   if (step.well_formed()) {
//       step.check().read(reader);
//       if (step.check().needs_check()) {   // as core/login/current_password_check.hpp
//           wait, verify the current password: step.check().verified(verdict)
//           error = write { step.write(writer); }   // the code and the notice, or the failure
//       }
//   }
//   result = step.finish(error);
//
// The code goes to the new address only with the current password, and the registered address
// is told at once, with a link that cancels (core/login/address_change.hpp).
class email_change_step {
public:
    email_change_step(const context& c, const current_session& session, std::string email, std::string current,
                      std::string client, std::int64_t now);
    bool well_formed() const { return code_.has_value(); }
    current_password_check& check() { return check_; }
    void write(record_writer& w);
    email_change_result finish(const std::error_code& write_error);

private:
    const context& c_;
    const current_session session_;
    std::string email_;
    std::string client_;
    std::int64_t now_;
    current_password_check check_;
    std::optional<code_issue> code_;
    bool revoked_ = false;  // the session's credentials were revoked, or the password changed, meanwhile
    bool rate_limited_ = false;
    bool notice_queued_ = false;
};

// busy: refused unchecked by the throttle (core/security/attempt_gate.hpp, core/login/password_failures.hpp).
enum class password_change_result { changed, bad_password, wrong_password, no_account, busy, unavailable };

struct password_change_outcome {
    password_change_result result = password_change_result::unavailable;
    std::string device_token;       // changed: the browser's device token under the account's new epoch
    std::int64_t retry_after_s = 0;  // busy: when to try again
};

struct email_change_outcome {
    email_change_result result = email_change_result::unavailable;
    std::int64_t retry_after_s = 0;  // busy: when to try again
};

//   password_change_step step(context, session, current, replacement, client, now);
//   if (step.acceptable()) {
//       step.check(): tracked, read, throttled and verified as core/login/current_password_check.hpp says;
//       if (step.check().needs_check() && !step.check().refused()) {
//           if (step.check().ok()) step.set_new_hash(hash(step.replacement()));
//           error = write { step.write(writer); }   // the new hash, or the failure's count
//       }
//   }
//   result = step.finish(error);
class password_change_step {
public:
    password_change_step(const context& c, const current_session& session, std::string current, std::string replacement,
                         std::string client, std::int64_t now);
    // False: the new password breaks the rules (password.min_length, the fixed maximum).
    bool acceptable() const { return acceptable_; }
    current_password_check& check() { return check_; }
    const std::string& replacement() const { return replacement_; }
    void set_new_hash(std::string phc) { new_hash_ = std::move(phc); }
    // A change ends every other session, code and device token of the account (a new credential
    // epoch); this session is kept.
    void write(record_writer& w);
    password_change_result finish(const std::error_code& write_error);
    // changed: a device token under the new epoch for the browser that made the change.
    const std::string& device_token() const { return device_token_; }

private:
    const context& c_;
    const current_session session_;
    std::string replacement_;
    std::string client_;
    std::int64_t now_;
    current_password_check check_;
    bool acceptable_ = false;
    std::string new_hash_;
    bool stale_ = false;  // the stored hash or the session's epoch changed while this was checked
    std::string device_token_;
};

// Logout: the session is destroyed server-side.
class logout_step {
public:
    logout_step(const context& c, const current_session& session, std::string client)
        : c_(c), session_(session), client_(std::move(client)) {}
    void write(record_writer& w) { w.drop_session(session_.hash); }
    // True when the session is gone.
    bool finish(const std::error_code& write_error);

private:
    const context& c_;
    const current_session session_;
    std::string client_;
};

// last_seen and the idle expiry move on at most once a minute per session, so browsing does not
// cost a write per page.
class touch_step {
public:
    touch_step(const context& c, const current_session& session, std::int64_t now);
    bool due() const { return due_; }
    // Only a session that still exists: a logout committed since it was read must stay done.
    void write(record_writer& w) {
        if (w.find_session(session_.hash, record_.last_seen)) w.save_session(session_.hash, record_);
    }
    void finish(const std::error_code& write_error);

private:
    const current_session session_;
    session_record record_;
    bool due_ = false;
};

}  // namespace nidan::login
