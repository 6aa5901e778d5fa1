#include "core/login/code_issue.hpp"

#include "core/login/login_code.hpp"
#include "core/mail/sealed_mail.hpp"

namespace nidan::login {
namespace {

std::int64_t hour_of(std::int64_t now) { return now - now % 3600; }

}  // namespace

code_issue prepare_code(const context& c, std::string_view id, const std::string& to, code_purpose purpose,
                        const std::string& session_hash, std::int64_t now) {
    const auto code = generate_code(c.cfg.code.length);
    const auto expires = now + c.cfg.code.lifetime.count();
    code_issue issue;
    issue.record = {code_mac(c.server_secret, account_subject(c.portal.id, id), code), now, expires,
                    c.cfg.code.max_attempts, to, purpose, session_hash};
    issue.mail = c.mailer.login_code({c.portal.id, std::string(c.language), to, code, now, expires});
    // The code must not lie in the outbox in clear (core/mail/sealed_mail.hpp).
    issue.mail.message = mail::seal_message(mail::outbox_key(c.server_secret), issue.mail.message);
    return issue;
}

void store_code(const context& c, record_writer& w, std::string_view id, code_issue& issue, std::uint64_t epoch,
                std::int64_t now) {
    const auto hour = hour_of(now);
    issue.record.credential_epoch = epoch;
    w.save_code(c.portal.id, id, issue.record);
    w.queue_mail(std::move(issue.mail), now * 1000);
    w.add_count(code_mails_per_hour, account_subject(c.portal.id, id), hour, hour + 3600);
}

bool mail_quota_used(const context& c, const record_reader& r, std::string_view id, std::int64_t now) {
    return r.count(code_mails_per_hour, account_subject(c.portal.id, id), hour_of(now), now) >= c.cfg.code.mails_per_hour;
}

}  // namespace nidan::login
