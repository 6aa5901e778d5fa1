#pragma once
// Revocation: what was issued for an account (sessions, pending codes, device tokens) carries the
// account's credential epoch (core/account/account.hpp) and counts only while it matches the stored one.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/account/account.hpp"

namespace nidan {

// A random non-zero epoch from the CSPRNG. Throws std::runtime_error when libsodium cannot
// initialise.
std::uint64_t fresh_credential_epoch();

// Everything issued for the account before this call stops working: call it inside the write
// that makes the change (lock, password reset or change, ending every session).
inline void revoke_credentials(account& a) { a.credential_epoch = fresh_credential_epoch(); }

// What a device token signs: the account's key (portal '\0' id) and the epoch it was issued under.
std::string device_token_payload(std::string_view account_subject, std::uint64_t epoch);

}  // namespace nidan
