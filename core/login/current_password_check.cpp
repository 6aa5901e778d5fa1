#include "core/login/current_password_check.hpp"

namespace nidan::login {

current_password_check::current_password_check(const context& c, const current_session& session, std::string typed,
                                               std::string client, std::int64_t now)
    : session_(session),
      typed_(std::move(typed)),
      failures_(c.cfg.throttle, client, account_subject(c.portal.id, session.record.selfcare_id), now) {}

void current_password_check::read(const record_reader& r, checks_in_flight others) {
    if (auto acct = r.find_account(session_.record.portal, session_.record.selfcare_id))
        stored_hash_ = acct->password_hash;
    // A session is no device token: the thief of one waits like any stranger.
    failures_.read(r, false, others);
}

bool current_password_check::verified(password_hasher::verdict v) {
    checked_ = needs_check();
    ok_ = checked_ && v != password_hasher::verdict::mismatch;
    return ok_;
}

bool current_password_check::still_current(const std::optional<account>& latest) const {
    return latest && latest->password_hash == stored_hash_ && latest->credential_epoch == session_.record.credential_epoch;
}

}  // namespace nidan::login
