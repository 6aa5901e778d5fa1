#include "core/login/address_change.hpp"

#include "core/mail/sealed_mail.hpp"

#include <vector>

#include "core/account/credentials.hpp"
#include "core/base/log.hpp"
#include "core/base/tokens.hpp"

namespace nidan::login {
namespace {

std::string cancel_payload(std::string_view portal, std::string_view id, std::string_view old_email,
                           std::string_view new_email) {
    std::string payload;
    for (const auto part : {portal, id, old_email}) {
        payload.append(part);
        payload.push_back('\0');
    }
    payload.append(new_email);
    return payload;
}

std::vector<std::string> split_nul(const std::string& text) {
    std::vector<std::string> parts(1);
    for (const char ch : text) {
        if (ch == '\0')
            parts.emplace_back();
        else
            parts.back().push_back(ch);
    }
    return parts;
}

}  // namespace

bool settle_address_change(account& a, std::int64_t now) {
    if (a.pending_email.empty() || now < a.pending_email_at) return false;
    a.email = std::move(a.pending_email);
    a.pending_email.clear();
    a.pending_email_at = 0;
    a.updated_at = now;
    return true;
}

bool begin_address_change(const context& c, account& a, const std::string& new_email, std::int64_t now) {
    settle_address_change(a, now);
    a.updated_at = now;
    const auto hold = std::chrono::duration_cast<std::chrono::seconds>(c.cfg.address_change.hold).count();
    if (hold == 0 || a.email.empty() || a.email == new_email) {
        a.email = new_email;
        a.pending_email.clear();
        a.pending_email_at = 0;
        return true;
    }
    a.pending_email = new_email;
    a.pending_email_at = now + hold;
    return false;
}

bool queue_change_notice(const context& c, record_writer& w, const account& a, const std::string& new_email,
                         std::int64_t now) {
    auto settled = a;
    settle_address_change(settled, now);
    if (settled.email.empty() || settled.email == new_email) return false;
    const auto hold = std::chrono::duration_cast<std::chrono::seconds>(c.cfg.address_change.hold).count();
    const auto token = sign_token(c.server_secret, address_cancel_purpose,
                                  cancel_payload(c.portal.id, a.selfcare_id, settled.email, new_email),
                                  now + hold + cancel_grace_s);
    const auto link = c.cfg.server.public_url + "/portal/" + c.portal.id + "/address/cancel?t=" + token;
    auto notice = c.mailer.address_notice({c.portal.id, std::string(c.language), a.selfcare_id, settled.email, new_email,
                                           now, hold == 0 ? 0 : now + hold, link});
    // Its cancel link is a credential of sorts: sealed in the outbox like a code.
    notice.message = mail::seal_message(mail::outbox_key(c.server_secret), notice.message);
    w.queue_mail(std::move(notice), now * 1000);
    return true;
}

address_cancel_step::address_cancel_step(const context& c, std::string_view token, std::string client,
                                         std::int64_t now)
    : c_(c), client_(std::move(client)), now_(now) {
    const auto payload = verify_token(c_.server_secret, address_cancel_purpose, token, now_);
    if (!payload) return;
    auto parts = split_nul(*payload);
    if (parts.size() != 4 || parts[0] != c_.portal.id) return;
    id_ = std::move(parts[1]);
    old_email_ = std::move(parts[2]);
    new_email_ = std::move(parts[3]);
    valid_ = true;
}

void address_cancel_step::write(record_writer& w) {
    if (!valid_) return;
    auto acct = w.find_account(c_.portal.id, id_);
    found_ = acct.has_value();
    if (!acct) return;
    const auto code = w.find_code(c_.portal.id, id_);
    const bool code_on_its_way = code && code->purpose == code_purpose::address_change && code->target_email == new_email_;
    const bool held = acct->pending_email == new_email_;
    const bool in_effect = !held && acct->email == new_email_;
    // A first use after the code expired unverified still ends the sessions and locks the form,
    // as the notice promised; a second finds the form locked and nothing of the change left.
    if (!code_on_its_way && !held && !in_effect && acct->address_form_locked) {
        already_done_ = true;
        return;
    }
    if (held) {
        acct->pending_email.clear();
        acct->pending_email_at = 0;
    } else if (in_effect) {
        acct->email = old_email_;
        restored_ = true;
    }
    // The code on its way to the new address dies too.
    if (code_on_its_way) w.drop_code(c_.portal.id, id_);
    acct->address_form_locked = true;
    acct->updated_at = now_;
    revoke_credentials(*acct);
    w.save_account(*acct);
}

address_cancel_result address_cancel_step::finish(const std::error_code& write_error) {
    if (!valid_) {
        log::audit("address.cancel_refused").add("portal", c_.portal.id).add("client", client_).add("reason", "bad_link");
        return address_cancel_result::invalid_link;
    }
    if (write_error) {
        log::error("address.cancel_store_failed").add("portal", c_.portal.id).add("id", id_).add("error", write_error.message());
        return address_cancel_result::unavailable;
    }
    if (!found_) {
        log::audit("address.cancel_refused").add("portal", c_.portal.id).add("client", client_).add("reason", "no_account");
        return address_cancel_result::invalid_link;
    }
    if (already_done_) {
        log::audit("address.cancel_repeated").add("portal", c_.portal.id).add("id", id_).add("client", client_)
            .add("new", log::mask_email(new_email_));
        return address_cancel_result::already_done;
    }
    log::audit("address.change_cancelled").add("portal", c_.portal.id).add("id", id_).add("client", client_)
        .add("new", log::mask_email(new_email_)).add("restored", restored_).add("sessions", "ended")
        .add("address_form", "locked");
    return address_cancel_result::cancelled;
}

}  // namespace nidan::login
