#include "core/login/address_step.hpp"

#include "core/account/account_rules.hpp"
#include "core/login/address_change.hpp"
#include "core/base/log.hpp"
#include "core/base/tokens.hpp"

namespace nidan::login {

address_step::address_step(const context& c, const current_session& session, std::string email, std::string_view phone,
                           std::string client, std::int64_t now)
    : c_(c), session_(session), email_(std::move(email)), client_(std::move(client)), now_(now) {
    if (email_.empty() || email_problem(email_).has_value()) {
        result_ = address_result::bad_email;
        return;
    }
    phone_ = normalise_phone(phone);
    if (!phone_) {
        result_ = address_result::bad_phone;
        return;
    }
    code_ = prepare_code(c_, session_.record.selfcare_id, email_, code_purpose::address_change, session_.hash, now_);
}

void address_step::write(record_writer& w) {
    if (!well_formed()) return;
    const auto& id = session_.record.selfcare_id;
    auto acct = w.find_account(c_.portal.id, id);
    // Deleted, or locked or given a new password since the session began.
    if (!acct || acct->credential_epoch != session_.record.credential_epoch) {
        result_ = address_result::no_account;
        return;
    }
    if (acct->address_form_locked) {
        result_ = address_result::locked;
        return;
    }
    if (!address_form_offered(c_, w, *acct, now_)) {
        result_ = address_result::not_offered;
        return;
    }
    if (!constant_time_equal(*phone_, acct->phone)) {
        strikes_ = ++acct->phone_strikes;
        if (strikes_ >= c_.cfg.address.phone_strikes) acct->address_form_locked = true;
        acct->updated_at = now_;
        w.save_account(*acct);
        result_ = acct->address_form_locked ? address_result::locked : address_result::wrong_phone;
        return;
    }
    if (mail_quota_used(c_, w, id, now_)) {
        result_ = address_result::rate_limited;
        return;
    }
    if (acct->phone_strikes != 0) {
        acct->phone_strikes = 0;
        w.save_account(*acct);
    }
    // The address changes only when this code is verified, and the registered one hears of it now.
    store_code(c_, w, id, *code_, acct->credential_epoch, now_);
    notice_queued_ = queue_change_notice(c_, w, *acct, email_, now_);
    result_ = address_result::code_sent;
}

address_outcome address_step::finish(const std::error_code& write_error) {
    address_outcome out;
    out.phone = phone_;
    if (!well_formed()) {
        out.result = result_;
        return out;
    }
    const auto& portal = c_.portal.id;
    const auto& id = session_.record.selfcare_id;
    if (write_error) {
        log::error("address.store_failed").add("portal", portal).add("id", id).add("error", write_error.message());
        out.result = address_result::unavailable;
        return out;
    }
    out.result = result_;
    out.strikes = strikes_;
    switch (result_) {
    case address_result::code_sent:
        out.masked_email = log::mask_email(email_);
        out.mail_queued = true;
        log::audit("address.phone_ok").add("portal", portal).add("id", id).add("client", client_);
        log::audit("code.sent").add("portal", portal).add("id", id).add("to", out.masked_email).add("purpose", "address_change");
        if (notice_queued_)
            log::audit("address.change_notice_sent").add("portal", portal).add("id", id).add("client", client_)
                .add("new", out.masked_email);
        break;
    case address_result::not_offered:
        log::audit("address.form_not_offered").add("portal", portal).add("id", id).add("client", client_);
        break;
    case address_result::wrong_phone:
        log::audit("address.phone_wrong").add("portal", portal).add("id", id).add("client", client_)
            .add("phone", log::mask_phone(*phone_)).add("strikes", strikes_);
        break;
    case address_result::locked:
        // Logged once, when this strike locked the form; later visits only see it locked.
        if (strikes_ >= c_.cfg.address.phone_strikes)
            log::audit("address.locked").add("portal", portal).add("id", id).add("client", client_).add("strikes", strikes_);
        break;
    case address_result::rate_limited:
        log::audit("code.rate_limited").add("portal", portal).add("id", id).add("client", client_);
        break;
    case address_result::no_account:
    case address_result::bad_email:
    case address_result::bad_phone:
    case address_result::unavailable:
        break;
    }
    return out;
}

}  // namespace nidan::login
