#include "server/code_mailer.hpp"

#include "core/code_mail.hpp"
#include "core/mail_message.hpp"

namespace nidan::server {

storage::outbox_mail code_mailer::login_code(const code_mail_request& request) const {
    const auto lifetime_minutes = static_cast<int>((cfg_.code.lifetime.count() + 59) / 60);
    const auto text = mail::render_code_mail(templates_, {request.portal, request.portal_name, cfg_.operator_info.name,
                                                          cfg_.operator_info.mail_domain, cfg_.operator_info.enquiry_url,
                                                          request.code, lifetime_minutes});
    mail::message_fields fields;
    fields.from_address = cfg_.mail.from_address;
    fields.from_name = cfg_.mail.from_name;
    fields.to_address = request.to;
    fields.subject = text.subject;
    fields.body = text.body;
    fields.date_unix = request.now;
    fields.message_id = mail::make_message_id(cfg_.operator_info.mail_domain, request.now);

    storage::outbox_mail mail;
    mail.priority = storage::mail_priority::code;
    mail.kind = "login_code";
    mail.created_at = request.now;
    mail.expires_at = request.expires_at;
    mail.mail_from = cfg_.mail.from_address;
    mail.rcpt_to = {request.to};
    mail.message = mail::build_message(fields);
    return mail;
}

}  // namespace nidan::server
