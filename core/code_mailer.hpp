#pragma once
// Turns "send this code to this address" into an outbox entry: the mail rendered from
// templates/, built as MIME, wrapped with its envelope, priority and expiry. The caller enqueues
// it in the outbox inside the same write transaction as the code itself, then calls
// mail_delivery::notify() once that transaction is committed.
#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/template_store.hpp"
#include "core/outbox_mail.hpp"

namespace nidan {

struct code_mail_request {
    std::string portal;       // "ip-phone"
    std::string portal_name;  // shown in the mail
    std::string to;
    std::string code;
    std::int64_t now = 0;          // unix seconds
    std::int64_t expires_at = 0;   // the code's expiry: the mail is not sent after it
};

class code_mailer {
public:
    code_mailer(const config& cfg, const template_store& templates) : cfg_(cfg), templates_(templates) {}

    // Throws std::invalid_argument for an address or code that cannot go into a mail.
    outbox_mail login_code(const code_mail_request& request) const;
    // The notice to the previous address after the registered address changed (no code in it;
    // it tells the customer to call support if they did not make the change).
    outbox_mail address_notice(const std::string& portal_name, const std::string& selfcare_id,
                                        const std::string& old_address, const std::string& new_address,
                                        std::int64_t now) const;

private:
    const config& cfg_;
    const template_store& templates_;
};

}  // namespace nidan
