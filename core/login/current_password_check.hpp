#pragma once
// The current password that the account page's forms ask for (a new password, a new address):
// checked like a login's password, so that a stolen session cannot be used to guess it at full
// speed or to take the account over without it. A wrong one counts as a password failure of the
// account and of the client address, with the login's delays (core/login/password_failures.hpp).
//
//   track check.address_key(), check.account_key() in flight   // as the login
//   check.read(reader, others);
//   if (check.needs_check()) {
//       refused (check.refuse_busy(why)) if check.over_budget() or the gate refuses check.plan();
//       otherwise wait the address's queue and check.delay(), as the login, then
//       check.verified(verify(check.stored_hash(), check.typed()));
//   }
//   ... inside the form's write: check.write_failure(w) when !check.ok(), and
//   check.still_current(latest) before acting on the verdict.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/login/login_context.hpp"
#include "core/login/password_failures.hpp"
#include "core/security/password_hasher.hpp"

namespace nidan::login {

class current_password_check {
public:
    current_password_check(const context& c, const current_session& session, std::string typed, std::string client,
                           std::int64_t now);

    // The attempt_gate::track subjects, registered before read() (see password_step).
    std::string address_key() const { return failures_.address_key(); }
    std::string account_key() const { return failures_.account_key(); }
    void read(const record_reader& r, checks_in_flight others = {});
    bool has_account() const { return !stored_hash_.empty(); }
    // An account and a typed password that could be it: only then is Argon2id worth running (an
    // empty or oversized one is refused unchecked and uncounted).
    bool needs_check() const {
        return has_account() && !typed_.empty() && typed_.size() <= password_config::max_length;
    }
    std::chrono::milliseconds delay() const { return failures_.delay(); }
    // As password_step's: the budget, and what a delayed check must hold from the gate.
    bool over_budget() const { return failures_.over_budget(); }
    gate_plan plan() const { return failures_.plan(); }
    // Refused unchecked by the throttle: the form answers busy (and its audit line says why).
    void refuse_busy(throttle_refusal why) { refused_ = why; }
    const std::optional<throttle_refusal>& refused() const { return refused_; }
    // Refused: when to try again (as a login's 429 says it).
    std::int64_t retry_after_s() const { return refused_ ? failures_.retry_after_s(*refused_) : 0; }
    const std::string& stored_hash() const { return stored_hash_; }
    const std::string& typed() const { return typed_; }

    // True when the password is right; also remembers that it was checked.
    bool verified(password_hasher::verdict v);
    bool checked() const { return checked_; }
    bool ok() const { return ok_; }
    // Counts the failure (call inside the write when checked() && !ok()).
    void write_failure(record_writer& w) const { failures_.add_failure(w); }
    // Whether `latest` (read inside the write) still has the hash that was checked and the
    // session's credential epoch: a reset, a change or a revocation since then wins.
    bool still_current(const std::optional<account>& latest) const;

private:
    const current_session& session_;
    std::string typed_;
    std::string stored_hash_;
    password_failures failures_;
    bool checked_ = false;
    bool ok_ = false;
    std::optional<throttle_refusal> refused_;
};

}  // namespace nidan::login
