#pragma once
// A mail waiting for the SMTP relay, as the login flow makes it and the outbox stores it
// (storage/lmdb/outbox.hpp keeps and orders these; server/smtp/mail_delivery.hpp sends them).
#include <cstdint>
#include <string>
#include <vector>

namespace nidan {

// Lower sorts first: a login code goes ahead of a notice.
enum class mail_priority : std::uint8_t { code = 0, notice = 1 };

struct outbox_mail {
    std::uint64_t id = 0;                 // assigned by the outbox when queued, unique and increasing
    mail_priority priority = mail_priority::code;
    std::string kind;                     // "login_code", "address_notice", "test" ...
    std::int64_t created_at = 0;          // unix seconds
    std::int64_t due_at = 0;              // unix milliseconds: not sent before this
    std::int64_t expires_at = 0;          // unix seconds; 0: never (a code mail is useless after its code expired)
    std::uint32_t attempts = 0;           // delivery attempts so far
    std::string mail_from;
    std::vector<std::string> rcpt_to;
    std::string message;                  // the complete RFC 5322 text
    std::string last_error;               // the last failure (relay reply or connection error)
    std::int64_t failed_at = 0;           // unix seconds, set in outbox_failed; 0 while queued
};

}  // namespace nidan
