#pragma once
// What an authenticated session does on its account page, and the session's own upkeep:
// a new address (a code goes there; core/code_step.hpp changes the address once it is verified),
// a new password, logout, and moving the idle expiry on. Same shape as the login steps: the
// caller runs write() in one transaction and passes its outcome to finish().
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/code_issue.hpp"
#include "core/login_context.hpp"
#include "core/password_failures.hpp"
#include "core/password_hasher.hpp"

namespace nidan::login {

enum class email_change_result { code_sent, bad_email, rate_limited, unavailable };

class email_change_step {
public:
    email_change_step(const context& c, const current_session& session, std::string email, std::int64_t now);
    bool well_formed() const { return code_.has_value(); }
    void write(record_writer& w);
    email_change_result finish(const std::error_code& write_error);

private:
    const context& c_;
    const current_session session_;
    std::string email_;
    std::int64_t now_;
    std::optional<code_issue> code_;
    bool rate_limited_ = false;
};

// busy: refused unchecked by the throttle (core/attempt_gate.hpp, core/password_failures.hpp).
enum class password_change_result { changed, bad_password, wrong_password, no_account, busy, unavailable };

//   password_change_step step(context, session, current, replacement, client, now);
//   if (step.acceptable()) {
//       track step.address_key(), step.account_key() in flight   // as the login
//       step.read(reader, others);
//       if (step.needs_check()) {
//           refused if step.over_budget() or the gate refuses step.plan(), as the login
//           wait the queue, then step.delay();
//           verdict = verify(step.stored_hash(), step.current_password())
//           if (step.verified(verdict)) step.set_new_hash(hash(step.replacement()));
//           error = write { step.write(writer); }   // the new hash, or the failure's count
//       }
//   }
//   result = step.finish(error);
//
// A wrong current password counts as a password failure of the account and of the client address
// (the same counters, delays, queue, concurrency limit and budget as a stranger's login), so a
// stolen session cannot be used to guess the password at full speed.
class password_change_step {
public:
    password_change_step(const context& c, const current_session& session, std::string current, std::string replacement,
                         std::string client, std::int64_t now);
    // False: the new password breaks the rules (password.min_length, the fixed maximum).
    bool acceptable() const { return acceptable_; }
    // The attempt_gate::track subjects, registered before read() (see password_step).
    std::string address_key() const { return failures_.address_key(); }
    std::string account_key() const { return failures_.account_key(); }
    void read(const record_reader& r, checks_in_flight others = {});
    bool has_account() const { return !stored_hash_.empty(); }
    // An account and a current password that could be it: only then is Argon2id worth running
    // (an empty or oversized one is refused unchecked and uncounted).
    bool needs_check() const {
        return has_account() && !current_.empty() && current_.size() <= password_config::max_length;
    }
    std::chrono::milliseconds delay() const { return failures_.delay(); }
    // As password_step's: the budget, and what a delayed check must hold from the gate.
    bool over_budget() const { return failures_.over_budget(); }
    gate_plan plan() const { return failures_.plan(); }
    // Refused by the throttle: finish() says busy (and the audit line why).
    void refuse_busy(throttle_refusal why) { refused_ = why; }
    const std::string& stored_hash() const { return stored_hash_; }
    const std::string& current_password() const { return current_; }
    const std::string& replacement() const { return replacement_; }
    bool verified(password_hasher::verdict v);
    void set_new_hash(std::string phc) { new_hash_ = std::move(phc); }
    void write(record_writer& w);
    password_change_result finish(const std::error_code& write_error);

private:
    const context& c_;
    const current_session session_;
    std::string current_;
    std::string replacement_;
    std::string client_;
    std::int64_t now_;
    bool acceptable_ = false;
    std::string stored_hash_;
    password_failures failures_;
    bool checked_ = false;
    bool current_ok_ = false;
    std::string new_hash_;
    std::optional<throttle_refusal> refused_;
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
