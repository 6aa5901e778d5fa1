#pragma once
// Turns "send this code to this address" into an outbox entry: the mail rendered from
// templates/, built as MIME, wrapped with its envelope, priority and expiry. The caller enqueues
// it in the outbox inside the same write transaction as the code itself, then calls
// mail_delivery::notify() once that transaction is committed.
#include <cstdint>
#include <string>

#include "core/config/config.hpp"
#include "core/render/template_store.hpp"
#include "core/mail/outbox_mail.hpp"

namespace nidan {

struct code_mail_request {
    std::string portal;       // "ip-phone"
    std::string language;     // the customer's: a language of the catalogs; empty or unknown: the default
    std::string to;
    std::string code;
    std::int64_t now = 0;          // unix seconds
    std::int64_t expires_at = 0;   // the code's expiry: the mail is not sent after it
};

// The notice to the registered address when a code goes to a new one (core/login/address_change.hpp).
struct address_notice_request {
    std::string portal;       // "ip-phone"
    std::string language;     // as in code_mail_request
    std::string selfcare_id;
    std::string registered_address;  // where the notice goes
    std::string new_address;
    std::int64_t requested_at = 0;   // unix seconds
    std::int64_t effective_at = 0;   // when the new address takes over; 0: once its code is entered
    std::string cancel_url;          // cancels the change, ends the sessions, locks the address form
};

class code_mailer {
public:
    code_mailer(const config& cfg, const template_store& templates) : cfg_(cfg), templates_(templates) {}

    // Throws std::invalid_argument for an address or code that cannot go into a mail.
    outbox_mail login_code(const code_mail_request& request) const;
    // The notice to the registered address that a change to another was asked for (no code in
    // it): when it takes effect, and the link that cancels it.
    outbox_mail address_notice(const address_notice_request& request) const;

private:
    // language when the catalogs have it, else the default.
    const std::string& language_of(const std::string& language) const;
    outbox_mail wrap(const std::string& language, const std::string& to, const std::string& subject,
                     const std::string& body, std::int64_t now) const;

    const config& cfg_;
    const template_store& templates_;
};

}  // namespace nidan
