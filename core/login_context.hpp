#pragma once
// What every login step of one portal needs besides its input: the config, the portal, the
// server secret (code MACs, signed tokens) and the mail maker. The steps take `now` (unix
// seconds) from their caller, so tests decide the time.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/code_mailer.hpp"
#include "core/config.hpp"
#include "core/login_records.hpp"

namespace nidan::login {

struct context {
    const config& cfg;
    const portal_config& portal;
    std::string_view server_secret;
    const code_mailer& mailer;
};

// portal '\0' id: the account's storage key, and the subject of its MACs, counters and device
// tokens. A portal id never holds '\0' (config allows [a-z0-9-]), so the pair has one reading.
std::string account_subject(std::string_view portal, std::string_view id);

// The counter kinds the steps keep.
inline constexpr std::string_view failures_per_address = "pw_addr";
inline constexpr std::string_view failures_per_account = "pw_acct";
// Failures of requests that carry a valid device token for the account (core/password_failures.hpp).
inline constexpr std::string_view failures_per_device_holder = "pw_dev";
inline constexpr std::string_view code_mails_per_hour = "mail_hour";

// A browser (or client) that completed a login on an account gets a signed device token for it;
// password failures from elsewhere do not slow it down (someone who knows the ID cannot lock the
// owner out).
inline constexpr std::string_view device_purpose = "device";
inline constexpr std::int64_t device_lifetime_s = 180 * 24 * 3600;

// A session found from the id a client presented (cookie or bearer token).
struct current_session {
    std::string hash;  // SHA-256 of the id: the key in storage
    session_record record;
};

// The session of this portal with this id, unexpired at `now`; nullopt otherwise (also for ids
// of absurd length, which no session has).
std::optional<current_session> find_session(const context& c, const record_reader& r, std::string_view id,
                                            std::int64_t now);

// For GET /auth/verify: the authenticated session with this id, of any portal; nullopt for none,
// for a session still waiting for its code, and for ids of absurd length.
std::optional<session_record> authenticated_session(const record_reader& r, std::string_view id, std::int64_t now);

// Where the session's pending code went, for the code screen.
struct pending_code {
    std::string masked_email;     // t***@example.jp
    bool to_new_address = false;  // an address change: not the registered address the manual speaks of
};
std::optional<pending_code> find_pending_code(const context& c, const record_reader& r, const current_session& s);
bool address_form_locked(const context& c, const record_reader& r, const current_session& s);

}  // namespace nidan::login
