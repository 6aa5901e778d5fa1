#include "core/login/code_step.hpp"

#include "core/login/address_change.hpp"
#include "core/base/log.hpp"
#include "core/login/login_code.hpp"
#include "core/base/tokens.hpp"

namespace nidan::login {

code_step::code_step(const context& c, const current_session& session, std::string_view typed, std::string client,
                     std::int64_t now)
    : c_(c), session_(session), code_(normalise_code_input(typed, c.cfg.code.length)), client_(std::move(client)),
      now_(now) {
    if (code_) new_id_ = random_token(32);
}

void code_step::write(record_writer& w) {
    if (!code_) return;
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    auto stored = w.find_code(portal, id);
    // A code of another session (a newer login killed this one's) counts as gone.
    if (!stored || stored->session_hash != session_.hash) {
        result_ = code_result::expired;
        return;
    }
    // Expired, its session ended (logout, idle) since this request read it, or its account was
    // deleted, locked or given a new password (a new credential epoch): no login from it.
    const auto acct = w.find_account(portal, id);
    if (stored->expires_at <= now_ || !w.find_session(session_.hash, now_) || !acct ||
        acct->credential_epoch != stored->credential_epoch || acct->credential_epoch != session_.record.credential_epoch) {
        w.drop_code(portal, id);
        result_ = code_result::expired;
        return;
    }
    if (!code_matches(stored->mac, c_.server_secret, account_subject(portal, id), *code_)) {
        if (stored->attempts_left <= 1) {
            // The customer must start again from the password: the half-way session goes too.
            w.drop_code(portal, id);
            if (session_.record.state == session_state::code_pending) w.drop_session(session_.hash);
            result_ = code_result::dead;
        } else {
            --stored->attempts_left;
            w.save_code(portal, id, *stored);
            attempts_left_ = stored->attempts_left;
            result_ = code_result::wrong;
        }
        return;
    }
    accept(w, *stored, *acct);
}

void code_step::accept(record_writer& w, const code_record& stored, account acct) {
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    w.drop_code(portal, id);
    if (stored.purpose == code_purpose::address_change) {
        // The code reached the new address: it takes over now or after its hold (the registered
        // address was told when the code was sent).
        old_address_ = acct.email;
        new_address_ = stored.target_email;
        changed_now_ = begin_address_change(c_, acct, stored.target_email, now_);
        held_until_ = acct.pending_email_at;
        w.save_account(acct);
    }
    // A new session id at the change of privilege (session fixation).
    w.drop_session(session_.hash);
    auto record = session_.record;
    record.state = session_state::authenticated;
    record.last_seen = now_;
    record.idle_expires_at = now_ + c_.cfg.session.idle_timeout.count();
    record.csrf_secret = random_token(32);
    w.save_session(sha256(new_id_), record);
    result_ = code_result::accepted;
}

code_outcome code_step::finish(const std::error_code& write_error) {
    code_outcome out;
    out.minutes = std::to_string((c_.cfg.code.lifetime.count() + 59) / 60);
    if (!code_) {
        out.result = code_result::bad_format;
        return out;
    }
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    if (write_error) {
        log::error("code.store_failed").add("portal", portal).add("id", id).add("error", write_error.message());
        out.result = code_result::unavailable;
        return out;
    }
    out.result = result_;
    switch (result_) {
    case code_result::accepted:
        log::audit("code.verified").add("portal", portal).add("id", id).add("client", client_);
        if (!new_address_.empty() && changed_now_)
            log::audit("address.changed").add("portal", portal).add("id", id).add("client", client_)
                .add("old", log::mask_email(old_address_)).add("new", log::mask_email(new_address_));
        if (!new_address_.empty() && !changed_now_)
            log::audit("address.change_held").add("portal", portal).add("id", id).add("client", client_)
                .add("new", log::mask_email(new_address_)).add("until", held_until_);
        out.address_held_until = changed_now_ ? 0 : held_until_;
        out.session_id = new_id_;
        out.device_token = sign_device_token(c_, id, session_.record.credential_epoch, now_);
        break;
    case code_result::wrong:
        log::audit("code.wrong").add("portal", portal).add("id", id).add("client", client_);
        out.attempts_left = attempts_left_;
        break;
    case code_result::dead:
        log::audit("code.dead").add("portal", portal).add("id", id).add("client", client_);
        break;
    case code_result::expired:
        log::audit("code.expired").add("portal", portal).add("id", id).add("client", client_);
        break;
    case code_result::bad_format:
    case code_result::unavailable:
        break;
    }
    return out;
}

}  // namespace nidan::login
