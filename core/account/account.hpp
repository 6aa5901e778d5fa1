#pragma once
// An account of one portal, keyed by (portal, selfcare_id). Validation rules live in
// core/account/account_rules.hpp so the CLI, the CSV import and the web flows apply the same ones.
#include <cstdint>
#include <string>

namespace nidan {

struct account {
    std::string portal;        // "ip-phone", "mc050", "freevoice"
    std::string selfcare_id;
    std::string password_hash; // Argon2id PHC string from libsodium
    std::string email;         // may be empty: the customer then uses the address form
    std::string phone;         // contact phone number, digits only
    std::int64_t created_at = 0;  // unix seconds
    std::int64_t updated_at = 0;
    // throttle.account_lock_after failures in one window; a device token of the account still
    // logs in, so a stranger failing on purpose cannot shut the owner out.
    bool password_locked = false;
    // `nidan user lock`: support believes the account compromised; nothing logs in, device token
    // or not, until `nidan user unlock`.
    bool operator_locked = false;
    bool address_form_locked = false;  // 3 wrong phone numbers; cleared by `nidan user unlock`
    std::uint32_t phone_strikes = 0;
    // Stamped into every session, pending code and device token issued for the account; replaced
    // (core/account/credentials.hpp) when support or the customer revokes - lock, password reset or
    // change, logout of every session - so that everything issued before stops working at once.
    // Random rather than counted, so an account deleted and created again never takes up a value
    // its predecessor's sessions hold. 0: stored before epochs existed (format 1), and matches the
    // sessions stored then.
    std::uint64_t credential_epoch = 0;
    // A new address proven by its code and held for address_change.hold_hours before it replaces
    // `email` (core/login/address_change.hpp); "" when none is waiting.
    std::string pending_email;
    std::int64_t pending_email_at = 0;  // unix seconds: when it replaces `email`
};

}  // namespace nidan
