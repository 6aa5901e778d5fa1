#pragma once
// The login-code mail's text, rendered from templates/ (code_mail.<portal>.txt when present,
// else code_mail.txt) in the customer's language: subject, the code, its lifetime, the portal's name, and the manual's
// notes (allow mail from the operator's domain; what to do if you did not try to log in).
// Plain text without links: carriers' filters and link scanners treat links badly.
#include <string>

#include "core/render/template_store.hpp"

namespace nidan::mail {

struct code_mail_params {
    std::string portal;           // "ip-phone"
    std::string language;         // a language of the templates' catalogs: "ja"
    std::string portal_name;      // "IP電話サービス"
    std::string operator_name;    // "楽天コミュニケーションズ"
    std::string sender_domain;    // "comm.rakuten.co.jp", for the domain-filter advice
    std::string support_url;      // the enquiry site
    std::string code;             // digits
    int lifetime_minutes = 20;
};

struct rendered_mail {
    std::string subject;  // the catalog's mail.code_subject: 【<operator>】ログイン認証コードの送付
    std::string body;
};

// In params.language (the templates' catalogs must have it). The template sees every field of
// params by name (lifetime_minutes as decimal text). Throws
// std::invalid_argument when the code is not 1+ digits or the lifetime is not positive, and
// std::out_of_range when neither template exists.
rendered_mail render_code_mail(const template_store& templates, const code_mail_params& params);

}  // namespace nidan::mail
