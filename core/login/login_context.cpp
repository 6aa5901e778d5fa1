#include "core/login/login_context.hpp"

#include "core/login/address_change.hpp"
#include "core/account/credentials.hpp"
#include "core/base/log.hpp"
#include "core/base/text.hpp"
#include "core/base/tokens.hpp"

namespace nidan::login {

std::string account_subject(std::string_view portal, std::string_view id) {
    std::string subject;
    subject.reserve(portal.size() + 1 + id.size());
    subject.append(portal);
    subject.push_back('\0');
    subject.append(id);
    return subject;
}

std::string sign_device_token(const context& c, std::string_view id, std::uint64_t epoch, std::int64_t now) {
    return sign_token(c.server_secret, device_purpose, device_token_payload(account_subject(c.portal.id, id), epoch),
                      now + device_lifetime_s);
}

bool is_device_of(const context& c, const account& a, std::string_view token, std::int64_t now) {
    if (token.empty()) return false;
    const auto payload = verify_token(c.server_secret, device_purpose, token, now);
    return payload && *payload == device_token_payload(account_subject(a.portal, a.selfcare_id), a.credential_epoch);
}

std::string unknown_id_tag(const context& c, std::string_view typed_id) {
    return hex_prefix(hmac_sha256(c.server_secret, {"log-id", c.portal.id, typed_id}), 6);
}

bool issued_under_current_credentials(const record_reader& r, const session_record& s) {
    const auto acct = r.find_account(s.portal, s.selfcare_id);
    return acct && acct->credential_epoch == s.credential_epoch;
}

std::optional<current_session> find_session(const context& c, const record_reader& r, std::string_view id,
                                            std::int64_t now) {
    if (id.empty() || id.size() > 128) return std::nullopt;
    auto hash = sha256(id);
    auto record = r.find_session(hash, now);
    if (!record || record->portal != c.portal.id || !issued_under_current_credentials(r, *record)) return std::nullopt;
    return current_session{std::move(hash), std::move(*record)};
}

std::optional<session_record> authenticated_session(const record_reader& r, std::string_view id, std::int64_t now) {
    if (id.empty() || id.size() > 128) return std::nullopt;
    auto record = r.find_session(sha256(id), now);
    if (!record || record->state != session_state::authenticated || !issued_under_current_credentials(r, *record))
        return std::nullopt;
    return record;
}

std::optional<pending_code> find_pending_code(const context& c, const record_reader& r, const current_session& s) {
    const auto code = r.find_code(c.portal.id, s.record.selfcare_id);
    if (!code || code->session_hash != s.hash) return std::nullopt;
    const bool change = code->purpose == code_purpose::address_change;
    bool held = false;
    if (change && c.cfg.address_change.hold.count() > 0) {
        if (auto acct = r.find_account(c.portal.id, s.record.selfcare_id)) {
            settle_address_change(*acct, code->issued_at);
            held = !acct->email.empty() && acct->email != code->target_email;
        }
    }
    return pending_code{log::mask_email(code->target_email), change, held};
}

bool address_form_offered(const context& c, const record_reader& r, const account& a, std::int64_t now) {
    if (!c.cfg.address_change.only_without_working_address) return true;
    auto settled = a;
    settle_address_change(settled, now);
    return settled.email.empty() || r.code_mail_failed_to(settled.email);
}

bool address_form_offered(const context& c, const record_reader& r, const current_session& s, std::int64_t now) {
    const auto acct = r.find_account(c.portal.id, s.record.selfcare_id);
    return acct && address_form_offered(c, r, *acct, now);
}

bool address_form_locked(const context& c, const record_reader& r, const current_session& s) {
    return address_form_lock(c, r, s) != address_lock::open;
}

address_lock address_form_lock(const context& c, const record_reader& r, const current_session& s) {
    const auto acct = r.find_account(c.portal.id, s.record.selfcare_id);
    if (!acct || !acct->address_form_locked) return address_lock::open;
    return acct->phone_strikes >= c.cfg.address.phone_strikes ? address_lock::phone_strikes : address_lock::change_cancelled;
}

}  // namespace nidan::login
