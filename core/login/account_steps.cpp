#include "core/login/account_steps.hpp"

#include "core/account/account_rules.hpp"
#include "core/login/address_change.hpp"
#include "core/account/credentials.hpp"
#include "core/base/log.hpp"

namespace nidan::login {
namespace {

constexpr std::int64_t touch_interval_s = 60;

void log_refused_busy(const current_password_check& check, const char* event, const std::string& portal,
                      const std::string& id, const std::string& client) {
    log::audit(event).add("portal", portal).add("id", id).add("client", client).add("reason", name_of(*check.refused()))
        .add("delay_ms", static_cast<std::int64_t>(check.delay().count()));
}

}  // namespace

email_change_step::email_change_step(const context& c, const current_session& session, std::string email,
                                     std::string current, std::string client, std::int64_t now)
    : c_(c), session_(session), email_(std::move(email)), client_(std::move(client)), now_(now),
      check_(c, session_, std::move(current), client_, now) {
    if (!email_.empty() && !email_problem(email_))
        code_ = prepare_code(c_, session_.record.selfcare_id, email_, code_purpose::address_change, session_.hash, now_);
}

void email_change_step::write(record_writer& w) {
    if (!code_ || !check_.checked()) return;
    if (!check_.ok()) {
        check_.write_failure(w);
        return;
    }
    const auto& id = session_.record.selfcare_id;
    const auto acct = w.find_account(c_.portal.id, id);
    revoked_ = !check_.still_current(acct);
    if (revoked_) return;
    rate_limited_ = mail_quota_used(c_, w, id, now_);
    if (rate_limited_) return;
    store_code(c_, w, id, *code_, acct->credential_epoch, now_);
    notice_queued_ = queue_change_notice(c_, w, *acct, email_, now_);
}

email_change_result email_change_step::finish(const std::error_code& write_error) {
    if (!code_) return email_change_result::bad_email;
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    if (!check_.has_account()) return email_change_result::unavailable;
    if (check_.refused()) {
        log_refused_busy(check_, "account.email_change_busy", portal, id, client_);
        return email_change_result::busy;
    }
    if (!check_.ok()) {
        if (write_error) log::warn("account.counter_failed").add("portal", portal).add("error", write_error.message());
        log::audit("account.email_change_refused").add("portal", portal).add("id", id).add("client", client_)
            .add("delay_ms", static_cast<std::int64_t>(check_.delay().count()));
        return email_change_result::wrong_password;
    }
    if (write_error) {
        log::error("address.store_failed").add("portal", portal).add("id", id).add("error", write_error.message());
        return email_change_result::unavailable;
    }
    if (revoked_) {
        log::audit("account.refused_revoked").add("portal", portal).add("id", id).add("form", "email");
        return email_change_result::unavailable;
    }
    if (rate_limited_) {
        log::audit("code.rate_limited").add("portal", portal).add("id", id);
        return email_change_result::rate_limited;
    }
    log::audit("code.sent").add("portal", portal).add("id", id).add("to", log::mask_email(email_)).add("purpose", "address_change");
    if (notice_queued_)
        log::audit("address.change_notice_sent").add("portal", portal).add("id", id).add("client", client_)
            .add("new", log::mask_email(email_));
    return email_change_result::code_sent;
}

password_change_step::password_change_step(const context& c, const current_session& session, std::string current,
                                           std::string replacement, std::string client, std::int64_t now)
    : c_(c), session_(session), replacement_(std::move(replacement)), client_(std::move(client)), now_(now),
      check_(c, session_, std::move(current), client_, now) {
    acceptable_ = !password_problem(replacement_, c_.cfg.password.min_length, password_config::max_length);
}

void password_change_step::write(record_writer& w) {
    if (!check_.checked()) return;
    if (!check_.ok()) {
        check_.write_failure(w);
        return;
    }
    if (new_hash_.empty()) return;
    auto latest = w.find_account(c_.portal.id, session_.record.selfcare_id);
    // The current password was checked against the hash read before the wait: a reset or change
    // committed since then, or a revocation of this session, wins.
    if (!check_.still_current(latest)) {
        stale_ = true;
        return;
    }
    latest->password_hash = new_hash_;
    latest->updated_at = now_;
    // Every other session, pending code and device token of the account ends; this session goes
    // on under the new epoch, and its browser gets a device token for it.
    revoke_credentials(*latest);
    w.save_account(*latest);
    auto kept = session_.record;
    kept.credential_epoch = latest->credential_epoch;
    w.save_session(session_.hash, kept);
    device_token_ = sign_device_token(c_, session_.record.selfcare_id, latest->credential_epoch, now_);
}

password_change_result password_change_step::finish(const std::error_code& write_error) {
    if (!acceptable_) return password_change_result::bad_password;
    if (!check_.has_account()) return password_change_result::no_account;
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    if (check_.refused()) {
        log_refused_busy(check_, "account.password_change_busy", portal, id, client_);
        return password_change_result::busy;
    }
    if (!check_.ok()) {
        if (write_error) log::warn("account.counter_failed").add("portal", portal).add("error", write_error.message());
        log::audit("account.password_change_refused").add("portal", portal).add("id", id).add("client", client_)
            .add("delay_ms", static_cast<std::int64_t>(check_.delay().count()));
        return password_change_result::wrong_password;
    }
    if (stale_ && !write_error) {
        log::audit("account.password_change_refused_stale").add("portal", portal).add("id", id).add("client", client_);
        return password_change_result::unavailable;
    }
    if (write_error || new_hash_.empty()) {
        log::error("account.password_store_failed").add("portal", portal).add("id", id)
            .add("error", write_error ? write_error.message() : "no new hash");
        return password_change_result::unavailable;
    }
    log::audit("account.password_changed").add("portal", portal).add("id", id).add("client", client_)
        .add("other_sessions", "ended");
    return password_change_result::changed;
}

bool logout_step::finish(const std::error_code& write_error) {
    if (write_error) {
        log::error("logout.store_failed").add("portal", c_.portal.id).add("error", write_error.message());
        return false;
    }
    log::audit("logout").add("portal", c_.portal.id).add("id", session_.record.selfcare_id).add("client", client_);
    return true;
}

touch_step::touch_step(const context& c, const current_session& session, std::int64_t now)
    : session_(session), record_(session.record) {
    due_ = now - session.record.last_seen >= touch_interval_s;
    record_.last_seen = now;
    record_.idle_expires_at = now + c.cfg.session.idle_timeout.count();
}

void touch_step::finish(const std::error_code& write_error) {
    if (write_error) log::warn("session.touch_failed").add("error", write_error.message());
}

}  // namespace nidan::login
