#pragma once
// Step 1 of the login: self-care ID and password. The step decides; its caller supplies the
// waiting, the hashing and the transactions, in this order:
//
//   password_step step(context, attempt, now);
//   [a, na] = gate.track(step.address_key()); [b, nb] = gate.track(step.account_key())
//   step.read(reader, {na, nb});            // account, failure counters, mail quota
//   if (step.holder_key() != "") {          // a device holder (core/login/password_failures.hpp)
//       b.reset(); [h, nh] = gate.track(step.holder_key());
//       step.recount(new reader, {na, 0, nh});
//   }
//   if (step.over_budget()) return step.refuse_busy(account_budget), step.finish({});
//   if (step.delay() > 0) {                 // growing delay after failures (core/security/throttle.hpp)
//       pass = gate.admit(step.gate_plan()); // core/security/attempt_gate.hpp
//       if (!pass) return step.refuse_busy(why), step.finish({});
//       wait until pass.served(), then step.delay();   // held until the write below is done
//   }
//   verdict = verify(step.stored_hash(), step.password())   // "" → the hasher's dummy
//   if (step.verified(verdict)) {           // false: refused without a write
//       if (step.rehash_wanted()) step.set_rehash(hash(step.password()));
//       error = write { step.write(writer); }   // one transaction
//   }
//   outcome = step.finish(error);           // audit log, result
//
// Wrong ID and wrong password are one outcome, and an unknown ID costs a dummy hash, so neither
// the answer nor its timing tells which IDs exist. A locked account (throttle.account_lock_after,
// or support's `nidan user lock`) answers a wrong password the same way; only the right password
// shows the lock notice. The account's device token passes the first lock, never the second.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <system_error>

#include "core/login/code_issue.hpp"
#include "core/base/log.hpp"
#include "core/login/login_context.hpp"
#include "core/login/password_failures.hpp"
#include "core/security/password_hasher.hpp"

namespace nidan::login {

// busy: refused unchecked by the throttle (its audit line says why).
enum class password_result { code_sent, address_required, invalid_credentials, locked, too_many_codes, busy, unavailable };

struct password_outcome {
    password_result result = password_result::invalid_credentials;
    std::int64_t retry_after_s = 0;  // busy: when the waiting attempt will have been checked
    bool locked_by_support = false;  // locked: `nidan user lock`, not the failures' lock
    std::string session_id;    // the new session (code_sent, address_required)
    std::string masked_email;  // where the code went (code_sent)
    bool mail_queued = false;  // the delivery loop has a mail to send
};

struct password_attempt {
    std::string id;
    std::string password;
    std::string client;            // the client address, for the per-address counter and the log
    std::string device_token;      // the device cookie's value; "" when none
    std::string old_session_hash;  // the caller's current session of this portal; "" when none
};

class password_step {
public:
    password_step(const context& c, password_attempt attempt, std::int64_t now);

    // The attempt_gate::track subjects before read(): the client address, and the account
    // ("" for a malformed ID).
    std::string address_key() const { return failures_.address_key(); }
    std::string account_key() const { return failures_.account_key(); }
    // others: the checks of those subjects running now, each counted as a failure to come.
    void read(const record_reader& r, checks_in_flight others = {});
    // After read(): the subject of the account's device holders when this request carries a
    // valid device token for the account, "" otherwise. Its checks in flight are registered
    // then, and recount() reads the counters again with them.
    std::string holder_key() const { return failures_.holder_key(); }
    void recount(const record_reader& r, checks_in_flight others) { failures_.recount(r, others); }
    std::chrono::milliseconds delay() const { return failures_.delay(); }
    // The account's budget is spent: refuse_busy(account_budget), nothing is checked.
    bool over_budget() const { return failures_.over_budget(); }
    // What the delayed attempt must hold from the gate (core/security/attempt_gate.hpp).
    gate_plan plan() const { return failures_.plan(); }
    // Refused by the throttle: nothing is checked or written, finish() says busy.
    void refuse_busy(throttle_refusal why) {
        phase_ = phase::busy;
        refused_ = why;
    }
    // The server is stopping during the delay: nothing is checked or written, finish() says
    // unavailable (the client may retry elsewhere at once).
    void give_up() { phase_ = phase::given_up; }
    // The stored PHC string to check the password against; "" for an unknown ID (check the dummy).
    const std::string& stored_hash() const { return stored_hash_; }
    const std::string& password() const { return attempt_.password; }

    // True when there is something to write: counting a failure, or starting the session.
    bool verified(password_hasher::verdict v);
    bool rehash_wanted() const { return phase_ == phase::success && rehash_; }
    // A fresh hash of the password with today's parameters, stored with the session.
    void set_rehash(std::string phc) { new_hash_ = std::move(phc); }

    // Inside the transaction; the code-mail quota is checked again here (concurrent logins), so
    // a success can still end as too_many_codes with nothing written.
    void write(record_writer& w);
    // write_error: how write() ended, empty when committed (none when verified() was false).
    password_outcome finish(const std::error_code& write_error);

private:
    // stale: the password was checked against a hash that a reset or change replaced meanwhile.
    enum class phase { reading, failure, locked, too_many_codes, busy, given_up, stale, success };

    bool locked_for_this_attempt(const account& a) const;
    log::event& log_unknown_tag(log::event& e) const;
    void write_failure(record_writer& w);
    void write_success(record_writer& w);

    const context& c_;
    password_attempt attempt_;
    std::int64_t now_;
    bool well_formed_ = false;
    std::string subject_;  // account_subject of the ID, when well formed
    bool known_device_ = false;
    password_failures failures_;
    std::optional<account> found_;
    std::string stored_hash_;
    bool quota_used_ = false;
    phase phase_ = phase::reading;
    bool rehash_ = false;
    std::string new_hash_;
    bool locked_now_ = false;  // this failure locked the account
    throttle_refusal refused_ = throttle_refusal::busy_same_account;
    std::string session_id_;
    std::optional<code_issue> code_;
};

}  // namespace nidan::login
