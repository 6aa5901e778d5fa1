#pragma once
// What every login step of one portal needs besides its input: the config, the portal, the
// server secret (code MACs, signed tokens) and the mail maker. The steps take `now` (unix
// seconds) from their caller, so tests decide the time.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/mail/code_mailer.hpp"
#include "core/config/config.hpp"
#include "core/login/login_records.hpp"

namespace nidan::login {

struct context {
    const config& cfg;
    const portal_config& portal;
    std::string_view server_secret;
    const code_mailer& mailer;
    // The customer's language for the mails a step queues (code, notice); empty: the default.
    std::string_view language = {};
};

// portal '\0' id: the account's storage key, and the subject of its MACs, counters and device
// tokens. A portal id never holds '\0' (config allows [a-z0-9-]), so the pair has one reading.
std::string account_subject(std::string_view portal, std::string_view id);

// The counter kinds the steps keep.
inline constexpr std::string_view failures_per_address = "pw_addr";
inline constexpr std::string_view failures_per_account = "pw_acct";
// Failures of requests that carry a valid device token for the account (core/login/password_failures.hpp).
inline constexpr std::string_view failures_per_device_holder = "pw_dev";
inline constexpr std::string_view code_mails_per_hour = "mail_hour";

// A browser (or client) that completed a login on an account gets a signed device token for it;
// password failures from elsewhere do not slow it down (someone who knows the ID cannot lock the
// owner out).
// The token names the account and the credential epoch it was issued under, so a revocation
// (core/account/credentials.hpp) voids it with everything else.
inline constexpr std::string_view device_purpose = "device";
inline constexpr std::int64_t device_lifetime_s = 180 * 24 * 3600;

std::string sign_device_token(const context& c, std::string_view id, std::uint64_t epoch, std::int64_t now);
// Whether `token` is an unexpired device token of this account under its current epoch.
bool is_device_of(const context& c, const account& a, std::string_view token, std::int64_t now);

// For the log, in place of a typed ID that names no account (often a password typed into the
// wrong field): 12 hex digits of a MAC under the server secret, the same for the same text, so
// repeated tries of one unknown ID can be seen without the text itself being logged.
std::string unknown_id_tag(const context& c, std::string_view typed_id);

// A session found from the id a client presented (cookie or bearer token).
struct current_session {
    std::string hash;  // SHA-256 of the id: the key in storage
    session_record record;
};

// Whether the session's account still exists and the session was issued under its current
// credential epoch (a lock, password change or reset since then ends it; core/account/credentials.hpp).
bool issued_under_current_credentials(const record_reader& r, const session_record& s);

// The session of this portal with this id, unexpired at `now` and issued under the account's
// current credentials; nullopt otherwise (also for ids of absurd length, which no session has).
std::optional<current_session> find_session(const context& c, const record_reader& r, std::string_view id,
                                            std::int64_t now);

// For GET /auth/verify: the authenticated session with this id, of any portal, issued under the
// account's current credentials; nullopt for none, for a session still waiting for its code, and
// for ids of absurd length.
std::optional<session_record> authenticated_session(const record_reader& r, std::string_view id, std::int64_t now);

// Where the session's pending code went, for the code screen.
struct pending_code {
    std::string masked_email;     // t***@example.jp
    bool to_new_address = false;  // an address change: not the registered address the manual speaks of
    bool held = false;            // ... that will wait address_change.hold_hours once verified
};
std::optional<pending_code> find_pending_code(const context& c, const record_reader& r, const current_session& s);
bool address_form_locked(const context& c, const record_reader& r, const current_session& s);
// Why it is locked, for the page that says so: address.phone_strikes wrong numbers (the manual's
// message), or else a change cancelled from the registered address's link
// (core/login/address_change.hpp), which leaves the strikes below the limit.
enum class address_lock { open, phone_strikes, change_cancelled };
address_lock address_form_lock(const context& c, const record_reader& r, const current_session& s);
// Whether the address form is open to this account: always, unless
// address_change.only_without_working_address limits it to accounts without a registered address
// or whose address bounced.
bool address_form_offered(const context& c, const record_reader& r, const account& a, std::int64_t now);
bool address_form_offered(const context& c, const record_reader& r, const current_session& s, std::int64_t now);

}  // namespace nidan::login
