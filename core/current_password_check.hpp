#pragma once
// The current password that the account page's forms ask for (a new password, a new address):
// checked like a login's password, so that a stolen session cannot be used to guess it at full
// speed or to take the account over without it. A wrong one counts as a password failure of the
// account and of the client address, with the login's delays (core/password_failures.hpp).
//
//   check.read(reader);
//   if (check.needs_check()) {
//       wait check.delay();              // behind an attempt_gate pass, as the login
//       check.verified(verify(check.stored_hash(), check.typed()));
//   }
//   ... inside the form's write: check.write_failure(w) when !check.ok(), and
//   check.still_current(latest) before acting on the verdict.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/login_context.hpp"
#include "core/password_failures.hpp"
#include "core/password_hasher.hpp"

namespace nidan::login {

class current_password_check {
public:
    current_password_check(const context& c, const current_session& session, std::string typed, std::string client,
                           std::int64_t now);

    void read(const record_reader& r);
    bool has_account() const { return !stored_hash_.empty(); }
    // An account and a typed password that could be it: only then is Argon2id worth running (an
    // empty or oversized one is refused unchecked and uncounted).
    bool needs_check() const {
        return has_account() && !typed_.empty() && typed_.size() <= password_config::max_length;
    }
    std::chrono::milliseconds delay() const { return failures_.delay(); }
    std::vector<std::string> delayed_subjects() const { return failures_.gate_subjects(); }
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
};

}  // namespace nidan::login
