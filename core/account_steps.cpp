#include "core/account_steps.hpp"

#include "core/account_rules.hpp"
#include "core/log.hpp"

namespace nidan::login {
namespace {

constexpr std::int64_t touch_interval_s = 60;

}  // namespace

email_change_step::email_change_step(const context& c, const current_session& session, std::string email,
                                     std::int64_t now)
    : c_(c), session_(session), email_(std::move(email)), now_(now) {
    if (!email_.empty() && email_problem(email_).empty())
        code_ = prepare_code(c_, session_.record.selfcare_id, email_, code_purpose::address_change, session_.hash, now_);
}

void email_change_step::write(record_writer& w) {
    if (!code_) return;
    const auto& id = session_.record.selfcare_id;
    rate_limited_ = mail_quota_used(c_, w, id, now_);
    if (!rate_limited_) store_code(c_, w, id, *code_, now_);
}

email_change_result email_change_step::finish(const std::error_code& write_error) {
    if (!code_) return email_change_result::bad_email;
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    if (write_error) {
        log::error("address.store_failed").add("portal", portal).add("id", id).add("error", write_error.message());
        return email_change_result::unavailable;
    }
    if (rate_limited_) {
        log::audit("code.rate_limited").add("portal", portal).add("id", id);
        return email_change_result::rate_limited;
    }
    log::audit("code.sent").add("portal", portal).add("id", id).add("to", log::mask_email(email_)).add("purpose", "address_change");
    return email_change_result::code_sent;
}

password_change_step::password_change_step(const context& c, const current_session& session, std::string current,
                                           std::string replacement, std::string client, std::int64_t now)
    : c_(c), session_(session), current_(std::move(current)), replacement_(std::move(replacement)),
      client_(std::move(client)), now_(now),
      failures_(c.cfg.throttle, client_, account_subject(c.portal.id, session_.record.selfcare_id), now) {
    acceptable_ = password_problem(replacement_, c_.cfg.password.min_length, password_config::max_length).empty();
}

void password_change_step::read(const record_reader& r, checks_in_flight others) {
    const auto& id = session_.record.selfcare_id;
    if (auto acct = r.find_account(c_.portal.id, id)) stored_hash_ = acct->password_hash;
    // A session is no device token: the thief of one waits like any stranger.
    failures_.read(r, false, others);
}

bool password_change_step::verified(password_hasher::verdict v) {
    // An empty or oversized current password is no guess at the stored one: refused uncounted.
    checked_ = needs_check();
    current_ok_ = checked_ && v != password_hasher::verdict::mismatch;
    return current_ok_;
}

void password_change_step::write(record_writer& w) {
    if (!checked_) return;
    if (!current_ok_) {
        failures_.add_failure(w);
        return;
    }
    if (new_hash_.empty()) return;
    auto latest = w.find_account(c_.portal.id, session_.record.selfcare_id);
    if (!latest) return;
    latest->password_hash = new_hash_;
    latest->updated_at = now_;
    w.save_account(*latest);
}

password_change_result password_change_step::finish(const std::error_code& write_error) {
    if (!acceptable_) return password_change_result::bad_password;
    if (!has_account()) return password_change_result::no_account;
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    if (refused_) {
        log::audit("account.password_change_busy").add("portal", portal).add("id", id).add("client", client_)
            .add("reason", name_of(*refused_)).add("delay_ms", static_cast<std::int64_t>(delay().count()));
        return password_change_result::busy;
    }
    if (!current_ok_) {
        if (write_error) log::warn("account.counter_failed").add("portal", portal).add("error", write_error.message());
        log::audit("account.password_change_refused").add("portal", portal).add("id", id).add("client", client_)
            .add("delay_ms", static_cast<std::int64_t>(delay().count()));
        return password_change_result::wrong_password;
    }
    if (write_error || new_hash_.empty()) {
        log::error("account.password_store_failed").add("portal", portal).add("id", id)
            .add("error", write_error ? write_error.message() : "no new hash");
        return password_change_result::unavailable;
    }
    log::audit("account.password_changed").add("portal", portal).add("id", id).add("client", client_);
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
