#include "core/mail/code_mailer.hpp"

#include <ctime>

#include "core/base/clock.hpp"
#include "core/mail/code_mail.hpp"
#include "core/mail/mail_message.hpp"

namespace nidan {

const std::string& code_mailer::language_of(const std::string& language) const {
    return templates_.has_language(language) ? language : templates_.default_language();
}

outbox_mail code_mailer::wrap(const std::string& language, const std::string& to, const std::string& subject,
                              const std::string& body, std::int64_t now) const {
    mail::message_fields fields;
    fields.from_address = cfg_.mail.from_address;
    fields.from_name = templates_.text(language, "mail.from_name");
    fields.to_address = to;
    fields.subject = subject;
    fields.body = body;
    fields.date_unix = now;
    fields.message_id = mail::make_message_id(cfg_.operator_info.mail_domain, now);
    outbox_mail mail;
    mail.created_at = now;
    mail.mail_from = cfg_.mail.from_address;
    mail.rcpt_to = {to};
    mail.message = mail::build_message(fields);
    return mail;
}

outbox_mail code_mailer::address_notice(const address_notice_request& request) const {
    const auto& lang = language_of(request.language);
    const auto& when = templates_.text(lang, "format.datetime");
    const auto& operator_name = templates_.text(lang, "operator.name");
    template_data data;
    data.set("portal_name", templates_.text(lang, "portal." + request.portal + ".name"));
    data.set("operator_name", operator_name);
    data.set("selfcare_id", request.selfcare_id);
    data.set("requested_at", local_time_text(request.requested_at, when));
    if (request.effective_at != 0) data.set("effective_at", local_time_text(request.effective_at, when));
    data.set("new_address", request.new_address);
    data.set("cancel_url", request.cancel_url);
    data.set("support_phone", cfg_.operator_info.support_phone);
    data.set("support_hours", templates_.text(lang, "operator.support_hours"));
    auto mail = wrap(lang, request.registered_address,
                     templates_.text_with(lang, "mail.address_notice_subject", {{"operator_name", operator_name}}),
                     templates_.render(lang, "address_notice.txt", data), request.requested_at);
    mail.priority = mail_priority::notice;
    mail.kind = "address_notice";
    return mail;
}

outbox_mail code_mailer::login_code(const code_mail_request& request) const {
    const auto& lang = language_of(request.language);
    const auto lifetime_minutes = static_cast<int>((cfg_.code.lifetime.count() + 59) / 60);
    const auto text = mail::render_code_mail(
        templates_, {request.portal, lang, templates_.text(lang, "portal." + request.portal + ".name"),
                     templates_.text(lang, "operator.name"), cfg_.operator_info.mail_domain,
                     cfg_.operator_info.enquiry_url, request.code, lifetime_minutes});
    auto mail = wrap(lang, request.to, text.subject, text.body, request.now);
    mail.priority = mail_priority::code;
    mail.kind = "login_code";
    mail.expires_at = request.expires_at;
    return mail;
}

}  // namespace nidan
