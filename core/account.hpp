#pragma once
// An account of one portal, keyed by (portal, selfcare_id). Validation rules live in
// core/account_rules.hpp so the CLI, the CSV import and the web flows apply the same ones.
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
    bool password_locked = false;  // too many password failures (reserved for the login flow)
    bool address_form_locked = false;  // 3 wrong phone numbers; cleared by `nidan user unlock`
    std::uint32_t phone_strikes = 0;
};

}  // namespace nidan
