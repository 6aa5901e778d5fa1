#pragma once
// What the two-step login keeps between requests, and the small storage interface through which
// the steps (core/*_step.hpp) read and write it. storage/lmdb/login_store.hpp implements the interface
// over an LMDB transaction; the unit tests over plain maps. Either way one step's writes happen
// in one transaction: all of them or none.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/account/account.hpp"
#include "core/mail/outbox_mail.hpp"

namespace nidan {

enum class session_state : std::uint8_t { code_pending = 1, authenticated = 2 };

// A login session, stored under the SHA-256 of its id: the id itself (the cookie value or bearer
// token) is never stored, so a copy of the data folder cannot be used to log in.
struct session_record {
    std::string portal;
    std::string selfcare_id;
    session_state state = session_state::code_pending;
    std::int64_t created_at = 0;           // unix seconds
    std::int64_t last_seen = 0;
    std::int64_t idle_expires_at = 0;
    std::int64_t absolute_expires_at = 0;
    std::string csrf_secret;
    std::uint64_t credential_epoch = 0;  // the account's when the session began (core/account/credentials.hpp)
};

enum class code_purpose : std::uint8_t { login = 1, address_change = 2 };

// The one live code of an account. Only its MAC is kept, never the code.
struct code_record {
    std::string mac;              // HMAC of the code under the server secret (core/login/login_code.hpp)
    std::int64_t issued_at = 0;   // unix seconds
    std::int64_t expires_at = 0;  // unix seconds
    std::uint32_t attempts_left = 0;
    std::string target_email;     // where the code was sent
    code_purpose purpose = code_purpose::login;
    std::string session_hash;     // the session the code was issued to
    std::uint64_t credential_epoch = 0;  // the account's when the code was issued
};

namespace login {

// Reads inside one transaction. Accounts and codes are keyed by (portal, selfcare_id).
class record_reader {
public:
    virtual std::optional<account> find_account(std::string_view portal, std::string_view id) const = 0;
    // nullopt when absent or expired at `now`.
    virtual std::optional<session_record> find_session(std::string_view hash, std::int64_t now) const = 0;
    // The stored code, expired or not, so "expired" can be told from "none".
    virtual std::optional<code_record> find_code(std::string_view portal, std::string_view id) const = 0;
    // The count of a windowed counter (failures, mails sent); 0 when absent or expired at `now`.
    virtual std::uint32_t count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                                std::int64_t now) const = 0;
    // Whether a login code mail to this address is on the outbox's failed list (the relay
    // refused it, or it expired undelivered): the address does not work.
    virtual bool code_mail_failed_to(std::string_view address) const = 0;

protected:
    ~record_reader() = default;
};

// Reads and writes inside one write transaction.
class record_writer : public record_reader {
public:
    virtual void save_account(const account& a) = 0;
    virtual void save_session(std::string_view hash, const session_record& s) = 0;
    virtual void drop_session(std::string_view hash) = 0;
    // Replaces any earlier code of the account (one live code per account).
    virtual void save_code(std::string_view portal, std::string_view id, const code_record& c) = 0;
    virtual void drop_code(std::string_view portal, std::string_view id) = 0;
    // Adds one; the entry lives until expires_at (unix seconds).
    virtual void add_count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                           std::int64_t expires_at) = 0;
    virtual void clear_count(std::string_view kind, std::string_view subject, std::int64_t window_start) = 0;
    // now_ms: unix milliseconds, the mail's due time.
    virtual void queue_mail(outbox_mail mail, std::int64_t now_ms) = 0;

protected:
    ~record_writer() = default;
};

}  // namespace login
}  // namespace nidan
