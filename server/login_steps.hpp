#pragma once
// The steps of the two-step login of one portal, each one function that decides, stores (in one
// write) and logs, and returns a plain outcome. The HTML pages (portal_routes.cpp) and the JSON
// API (api_routes.cpp) only read their input, call a step and present its outcome, so both
// follow the same rules and count against the same counters.
//
// The step coroutines take their text as std::string_view: the caller's strings must outlive
// the co_await (they do: the caller awaits at once). Pass named objects, not temporaries that
// own memory (g++ 12 may destroy a temporary of a co_await expression twice).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "server/http_types.hpp"
#include "server/portal_routes.hpp"
#include "storage/code_table.hpp"
#include "storage/outbox.hpp"
#include "storage/session_table.hpp"

namespace nidan::server {

// A browser (or client) that completed a login on an account gets a signed device token for it;
// password failures from elsewhere do not slow it down (someone who knows the ID cannot lock the
// owner out).
inline constexpr std::string_view device_purpose = "device";
inline constexpr std::int64_t device_lifetime_s = 180 * 24 * 3600;

// A session found from the id a client presented (cookie or bearer token).
struct current_session {
    std::string hash;  // SHA-256 of the id: the key in storage
    storage::session_record record;
};

enum class password_result { code_sent, address_required, invalid_credentials, too_many_codes, unavailable };
struct password_outcome {
    password_result result = password_result::invalid_credentials;
    std::string session_id;    // the new session (code_sent, address_required)
    std::string masked_email;  // where the code went (code_sent)
};

enum class code_result { accepted, wrong, dead, expired, bad_format, unavailable };
struct code_outcome {
    code_result result = code_result::expired;
    std::string session_id;      // accepted: the new id of the now authenticated session
    std::string device_token;    // accepted: signed token for the device cookie
    std::uint32_t attempts_left = 0;  // wrong
    std::string minutes;         // the code lifetime in minutes, for the messages
};

enum class address_result { code_sent, wrong_phone, locked, rate_limited, no_account, bad_email, bad_phone, unavailable };
struct address_outcome {
    address_result result = address_result::no_account;
    std::uint32_t strikes = 0;  // wrong_phone, locked
    std::string masked_email;   // code_sent
    std::optional<std::string> phone;  // the normalised number, once it passed the format check
};

enum class logout_result { done, unavailable };
enum class email_change_result { code_sent, bad_email, rate_limited, unavailable };
enum class password_change_result { changed, bad_password, wrong_password, no_account, unavailable };

class login_steps {
public:
    login_steps(portal_services s, const portal_config& p) : s_(std::move(s)), portal_(p) {}

    // The session of this portal with this id, unexpired; nullopt otherwise.
    std::optional<current_session> find_session(std::string_view id) const;

    // Step 1. device_token: the device cookie's value ("" when none); old_session_hash: the
    // caller's current session of this portal, ended by a successful login ("" when none).
    awaitable<password_outcome> password_step(std::string_view id, std::string_view password, std::string_view client,
                                              std::string_view device_token, std::string_view old_session_hash);
    // Step 2: the code (raw input; its format is checked here) for the session's pending code.
    awaitable<code_outcome> code_step(const current_session& session, std::string_view raw_code, std::string_view client);
    // The address form of a code_pending session without a registered address.
    awaitable<address_outcome> address_step(const current_session& session, std::string_view email,
                                            std::string_view phone_raw, std::string_view client);
    // The account page of an authenticated session: a new address (a code goes there; the
    // address changes once code_step verifies it) and a new password.
    awaitable<email_change_result> email_change_step(const current_session& session, std::string_view email);
    awaitable<password_change_result> password_change_step(const current_session& session, std::string_view current,
                                                           std::string_view replacement, std::string_view client);
    awaitable<logout_result> logout_step(const current_session& session, std::string_view client);
    // Moves last_seen and the idle expiry on, at most once a minute per session.
    awaitable<void> touch_step(const current_session& session);

    // The masked address of the session's pending code; "" when none.
    std::string pending_code_address(const current_session& session) const;
    bool address_form_locked(const current_session& session) const;

private:
    // A code and its mail, made before the write transaction (no rendering inside it).
    struct code_issue {
        storage::code_record record;
        storage::outbox_mail mail;
    };
    code_issue prepare_code(std::string_view id, const std::string& to, storage::code_purpose purpose,
                            const std::string& session_hash, std::int64_t now) const;
    // Inside the caller's write: the code (killing any earlier one of the account), its mail and
    // the hourly mail count, all committed together.
    void store_code(storage::write_txn& txn, std::string_view id, code_issue& issue, std::int64_t now) const;
    // True when the account already had code.mails_per_hour code mails this hour.
    bool mail_quota_used(const storage::txn& txn, std::string_view id, std::int64_t now) const;

    portal_services s_;
    const portal_config& portal_;
};

}  // namespace nidan::server
