#include "core/mail/code_mailer.hpp"

#include <ctime>

#include "core/base/clock.hpp"
#include "core/mail/code_mail.hpp"
#include "core/mail/mail_message.hpp"

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

outbox_mail code_mailer::address_notice(const address_notice_request& request) const {
    template_data data;
    data.set("portal_name", request.portal_name);
    data.set("operator_name", cfg_.operator_info.name);
    data.set("selfcare_id", request.selfcare_id);
    data.set("requested_at", japan_time(request.requested_at));
    if (request.effective_at != 0) data.set("effective_at", japan_time(request.effective_at));
    data.set("new_address", request.new_address);
    data.set("cancel_url", request.cancel_url);
    data.set("support_phone", cfg_.operator_info.support_phone);
    data.set("support_hours", cfg_.operator_info.support_hours);
    auto mail = wrap(cfg_, request.registered_address, "【" + cfg_.operator_info.name + "】登録メールアドレス変更のお知らせ",
                     templates_.render("address_notice.txt", data), request.requested_at);
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
