#include "core/mail/code_mail.hpp"

#include <algorithm>
#include <stdexcept>

namespace nidan::mail {
namespace {

constexpr const char* default_template = "code_mail.txt";

bool is_digits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A portal may word its mail differently (its own support channel, say) without touching the
// others; the portal name is only a map key here, never a path.
std::string template_for(const template_store& templates, const std::string& portal) {
    if (!portal.empty()) {
        std::string own = "code_mail." + portal + ".txt";
        if (templates.has(own)) return own;
    }
    return default_template;
}

template_data mail_data(const code_mail_params& params) {
    template_data data;
    data.set("portal", params.portal);
    data.set("portal_name", params.portal_name);
    data.set("operator_name", params.operator_name);
    data.set("sender_domain", params.sender_domain);
    data.set("support_url", params.support_url);
    data.set("code", params.code);
    data.set("lifetime_minutes", std::to_string(params.lifetime_minutes));
    return data;
}

}  // namespace

rendered_mail render_code_mail(const template_store& templates, const code_mail_params& params) {
    // A mail with an empty code or a nonsensical lifetime would send the customer to a dead end.
    if (!is_digits(params.code)) throw std::invalid_argument("code mail: the code must be digits");
    if (params.lifetime_minutes <= 0)
        throw std::invalid_argument("code mail: the lifetime must be positive");

    rendered_mail mail;
    // The manual fixes the Japanese subject and quotes it on the code entry screen, so that
    // customers can find the mail.
    mail.subject = templates.text_with(params.language, "mail.code_subject", {{"operator_name", params.operator_name}});
    mail.body = templates.render(params.language, template_for(templates, params.portal), mail_data(params));
    return mail;
}

}  // namespace nidan::mail
