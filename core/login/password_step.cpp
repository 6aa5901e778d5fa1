#include "core/login/password_step.hpp"

#include "core/account/account_rules.hpp"
#include "core/login/address_change.hpp"
#include "core/base/log.hpp"
#include "core/base/tokens.hpp"

namespace nidan::login {

namespace {

bool well_formed_attempt(const password_attempt& a) {
    return !selfcare_id_problem(a.id) && !a.password.empty() && a.password.size() <= password_config::max_length;
}

}  // namespace

password_step::password_step(const context& c, password_attempt attempt, std::int64_t now)
    : c_(c),
      attempt_(std::move(attempt)),
      now_(now),
      well_formed_(well_formed_attempt(attempt_)),
      subject_(well_formed_ ? account_subject(c_.portal.id, attempt_.id) : std::string()),
      failures_(c_.cfg.throttle, attempt_.client, subject_, now_) {}

void password_step::read(const record_reader& r, checks_in_flight others) {
    if (well_formed_) found_ = r.find_account(c_.portal.id, attempt_.id);
    // A held address whose time has come is the one the code goes to.
    if (found_) settle_address_change(*found_, now_);
    known_device_ = found_ && is_device_of(c_, *found_, attempt_.device_token, now_);
    // The owner's own browser is not slowed by what strangers did to the account or its address.
    failures_.read(r, known_device_, others);
    if (found_) {
        stored_hash_ = found_->password_hash;
        quota_used_ = mail_quota_used(c_, r, attempt_.id, now_);
    }
}

bool password_step::locked_for_this_attempt(const account& a) const {
    // The throttle's lock keeps strangers out, so the owner's device passes it; support's lock
    // is meant for the owner's devices too (it suspects one of them).
    return a.operator_locked || (a.password_locked && !known_device_);
}

log::event& password_step::log_unknown_tag(log::event& e) const {
    if (!found_ && well_formed_) e.add("id_tag", unknown_id_tag(c_, attempt_.id));
    return e;
}

bool password_step::verified(password_hasher::verdict v) {
    if (v == password_hasher::verdict::mismatch || !found_) {
        phase_ = phase::failure;
        return true;
    }
    if (locked_for_this_attempt(*found_)) {
        phase_ = phase::locked;
        return false;
    }
    if (!found_->email.empty() && quota_used_) {
        phase_ = phase::too_many_codes;
        return false;
    }
    phase_ = phase::success;
    rehash_ = v == password_hasher::verdict::match_needs_rehash;
    session_id_ = random_token(32);
    if (!found_->email.empty())
        code_ = prepare_code(c_, attempt_.id, found_->email, code_purpose::login, sha256(session_id_), now_);
    return true;
}

void password_step::write(record_writer& w) {
    if (phase_ == phase::failure) write_failure(w);
    if (phase_ == phase::success) write_success(w);
}

void password_step::write_failure(record_writer& w) {
    const auto account_failures = failures_.add_failure(w);
    const auto lock_after = c_.cfg.throttle.account_lock_after;
    if (lock_after == 0 || !found_ || account_failures < lock_after) return;
    // Read again inside the transaction: the account may have changed since read().
    auto acct = w.find_account(c_.portal.id, attempt_.id);
    if (!acct || acct->password_locked) return;
    acct->password_locked = true;
    acct->updated_at = now_;
    w.save_account(*acct);
    locked_now_ = true;
}

void password_step::write_success(record_writer& w) {
    // Asked again inside the transaction: logins running side by side all passed read()'s checks,
    // and a failure among them may have locked the account meanwhile.
    auto latest = w.find_account(c_.portal.id, attempt_.id);
    const bool settled = latest && settle_address_change(*latest, now_);
    if (!latest) {
        phase_ = phase::failure;  // deleted meanwhile: as for an unknown ID
        return;
    }
    // A password reset or change committed while this attempt waited or hashed: the password
    // checked is no longer the account's, and a re-hash of it must not bring it back.
    if (latest->password_hash != stored_hash_) {
        phase_ = phase::stale;
        return;
    }
    if (locked_for_this_attempt(*latest)) {
        phase_ = phase::locked;
        return;
    }
    // The registered address may have changed since read() (a change took effect or was
    // cancelled): the code goes to the one registered now.
    if (latest->email != found_->email) {
        found_ = *latest;
        code_.reset();
        if (!latest->email.empty())
            code_ = prepare_code(c_, attempt_.id, latest->email, code_purpose::login, sha256(session_id_), now_);
    }
    if (code_ && mail_quota_used(c_, w, attempt_.id, now_)) {
        phase_ = phase::too_many_codes;
        return;
    }
    if (!attempt_.old_session_hash.empty()) w.drop_session(attempt_.old_session_hash);
    const auto& s = c_.cfg.session;
    const session_record session{c_.portal.id, attempt_.id, session_state::code_pending, now_, now_,
                                 now_ + s.idle_timeout.count(), now_ + s.absolute_lifetime.count(), random_token(32),
                                 latest->credential_epoch};
    w.save_session(sha256(session_id_), session);
    failures_.clear_account(w);
    if (code_) store_code(c_, w, attempt_.id, *code_, latest->credential_epoch, now_);
    if (!new_hash_.empty() || settled) {
        // Only the hash (and a held address whose time came) changes: anything else about the
        // account may have changed meanwhile.
        auto acct = *latest;
        if (!new_hash_.empty()) acct.password_hash = new_hash_;
        acct.updated_at = now_;
        w.save_account(acct);
    }
}

password_outcome password_step::finish(const std::error_code& write_error) {
    password_outcome out;
    const auto& portal = c_.portal.id;
    const auto& id = attempt_.id;
    const auto delay_ms = static_cast<std::int64_t>(delay().count());
    // What was typed into the ID field goes to the log only when it names an account: anything
    // else is often a password typed into the wrong field. A keyed tag still lets the operator
    // see one unknown ID tried again and again.
    const std::string logged_id = found_ ? id : "(unknown)";
    switch (phase_) {
    case phase::reading:
    case phase::failure:
        if (write_error) log::warn("login.counter_failed").add("portal", portal).add("error", write_error.message());
        log_unknown_tag(log::audit("login.failed").add("portal", portal).add("id", logged_id))
            .add("client", attempt_.client).add("known_id", found_.has_value()).add("delay_ms", delay_ms);
        if (locked_now_ && !write_error)
            log::audit("login.password_locked").add("portal", portal).add("id", id).add("client", attempt_.client)
                .add("failures", c_.cfg.throttle.account_lock_after);
        out.result = password_result::invalid_credentials;
        return out;
    case phase::stale:
        log::audit("login.refused_stale_password").add("portal", portal).add("id", id).add("client", attempt_.client);
        out.result = password_result::invalid_credentials;
        return out;
    case phase::locked:
        log::audit("login.refused_locked").add("portal", portal).add("id", id).add("client", attempt_.client)
            .add("lock", found_ && found_->operator_locked ? "operator" : "failures");
        out.locked_by_support = found_ && found_->operator_locked;
        out.result = password_result::locked;
        return out;
    case phase::busy:
        log_unknown_tag(log::audit("login.refused_busy").add("portal", portal).add("id", logged_id))
            .add("client", attempt_.client).add("reason", name_of(refused_)).add("delay_ms", delay_ms);
        out.retry_after_s = failures_.retry_after_s(refused_);
        out.result = password_result::busy;
        return out;
    case phase::given_up:
        log::info("login.not_checked").add("portal", portal).add("client", attempt_.client).add("reason", "shutdown");
        out.result = password_result::unavailable;
        return out;
    case phase::too_many_codes:
        log::audit("code.rate_limited").add("portal", portal).add("id", id).add("client", attempt_.client);
        out.result = password_result::too_many_codes;
        return out;
    case phase::success:
        break;
    }
    if (write_error) {
        log::error("login.store_failed").add("portal", portal).add("id", id).add("error", write_error.message());
        out.result = password_result::unavailable;
        return out;
    }
    log::audit("login.password_ok").add("portal", portal).add("id", id).add("client", attempt_.client)
        .add("rehashed", !new_hash_.empty()).add("known_device", known_device_).add("delay_ms", delay_ms);
    out.session_id = session_id_;
    if (code_) {
        out.masked_email = log::mask_email(found_->email);
        log::audit("code.sent").add("portal", portal).add("id", id).add("to", out.masked_email);
        out.mail_queued = true;
        out.result = password_result::code_sent;
    } else {
        out.result = password_result::address_required;
    }
    return out;
}

}  // namespace nidan::login
