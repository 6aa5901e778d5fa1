#include "core/login_context.hpp"

#include "core/log.hpp"
#include "core/tokens.hpp"

namespace nidan::login {

std::string account_subject(std::string_view portal, std::string_view id) {
    std::string subject;
    subject.reserve(portal.size() + 1 + id.size());
    subject.append(portal);
    subject.push_back('\0');
    subject.append(id);
    return subject;
}

std::optional<current_session> find_session(const context& c, const record_reader& r, std::string_view id,
                                            std::int64_t now) {
    if (id.empty() || id.size() > 128) return std::nullopt;
    auto hash = sha256(id);
    auto record = r.find_session(hash, now);
    if (!record || record->portal != c.portal.id) return std::nullopt;
    return current_session{std::move(hash), std::move(*record)};
}

std::optional<session_record> authenticated_session(const record_reader& r, std::string_view id, std::int64_t now) {
    if (id.empty() || id.size() > 128) return std::nullopt;
    auto record = r.find_session(sha256(id), now);
    if (!record || record->state != session_state::authenticated) return std::nullopt;
    return record;
}

std::optional<pending_code> find_pending_code(const context& c, const record_reader& r, const current_session& s) {
    const auto code = r.find_code(c.portal.id, s.record.selfcare_id);
    if (!code || code->session_hash != s.hash) return std::nullopt;
    return pending_code{log::mask_email(code->target_email), code->purpose == code_purpose::address_change};
}

bool address_form_locked(const context& c, const record_reader& r, const current_session& s) {
    const auto acct = r.find_account(c.portal.id, s.record.selfcare_id);
    return acct && acct->address_form_locked;
}

}  // namespace nidan::login
