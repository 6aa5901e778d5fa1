#include "core/code_mailer.hpp"

#include <ctime>

#include "core/code_mail.hpp"
#include "core/mail_message.hpp"

namespace nidan {

namespace {

outbox_mail wrap(const config& cfg, const std::string& to, const std::string& subject, const std::string& body,
                          std::int64_t now) {
    mail::message_fields fields;
    fields.from_address = cfg.mail.from_address;
    fields.from_name = cfg.mail.from_name;
    fields.to_address = to;
    fields.subject = subject;
    fields.body = body;
    fields.date_unix = now;
    fields.message_id = mail::make_message_id(cfg.operator_info.mail_domain, now);
    outbox_mail mail;
    mail.created_at = now;
    mail.mail_from = cfg.mail.from_address;
    mail.rcpt_to = {to};
    mail.message = mail::build_message(fields);
    return mail;
}

}  // namespace

outbox_mail code_mailer::address_notice(const std::string& portal_name, const std::string& selfcare_id,
                                                 const std::string& old_address, const std::string& new_address,
                                                 std::int64_t now) const {
    char when[64];
    const std::time_t t = static_cast<std::time_t>(now + 9 * 3600);  // shown in Japan time
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(when, sizeof when, "%Y年%m月%d日 %H時%M分", &tm);
    template_data data;
    data.set("portal_name", portal_name);
    data.set("operator_name", cfg_.operator_info.name);
    data.set("selfcare_id", selfcare_id);
    data.set("changed_at", std::string(when));
    data.set("new_address", new_address);
    data.set("support_phone", cfg_.operator_info.support_phone);
    data.set("support_hours", cfg_.operator_info.support_hours);
    auto mail = wrap(cfg_, old_address, "【" + cfg_.operator_info.name + "】登録メールアドレス変更のお知らせ",
                     templates_.render("address_notice.txt", data), now);
    mail.priority = mail_priority::notice;
    mail.kind = "address_notice";
    return mail;
}

outbox_mail code_mailer::login_code(const code_mail_request& request) const {
    const auto lifetime_minutes = static_cast<int>((cfg_.code.lifetime.count() + 59) / 60);
    const auto text = mail::render_code_mail(templates_, {request.portal, request.portal_name, cfg_.operator_info.name,
                                                          cfg_.operator_info.mail_domain, cfg_.operator_info.enquiry_url,
                                                          request.code, lifetime_minutes});
    auto mail = wrap(cfg_, request.to, text.subject, text.body, request.now);
    mail.priority = mail_priority::code;
    mail.kind = "login_code";
    mail.expires_at = request.expires_at;
    return mail;
}

}  // namespace nidan
