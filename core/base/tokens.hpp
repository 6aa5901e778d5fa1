#pragma once
// Random identifiers, hashing and signed tokens built on libsodium.
//
// Session ids are random_token(32): 256 bits from the CSPRNG, so guessing one is hopeless and the
// store keeps only sha256(id), which means a leaked database does not hand out live sessions.
//
// Signed tokens carry a payload, an expiry and a MAC, for values the browser keeps and sends back
// (the login form's CSRF double-submit value, the device cookie). Each use has its own purpose
// string inside the MAC, so a token minted for one purpose never verifies for another.
//
// Every function here is thread safe.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace nidan {

// Base64url without padding of `bytes` CSPRNG bytes (43 characters for the default 32).
// Throws std::runtime_error when libsodium cannot initialise.
std::string random_token(std::size_t bytes = 32);

// A uniformly random 64-bit value from the CSPRNG. Throws as random_token().
std::uint64_t random_u64();

// SHA-256, 32 raw bytes.
std::string sha256(std::string_view data);

// HMAC-SHA-256 with a key of any length over the parts joined by NUL bytes, 32 raw bytes.
// Callers keep their parts free of NUL except the last, so the joined message has one reading.
// Throws std::invalid_argument for an empty key: a MAC without a secret proves nothing.
std::string hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts);

// Constant time for equal sizes; different sizes are unequal at once (sizes are not secret).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Tokens longer than this are refused by verify_token() without being parsed, which bounds the
// work a hostile cookie can ask for; sign_token() refuses to make one.
inline constexpr std::size_t max_token_size = 4096;

// "payload_b64url.expires.mac_b64url", expires in decimal, where
// mac = HMAC-SHA-256(secret, purpose + '\0' + payload + '\0' + expires).
// Throws std::invalid_argument for an empty secret or a purpose containing NUL (either would
// weaken the MAC), std::length_error when the token would exceed max_token_size.
std::string sign_token(std::string_view secret, std::string_view purpose, std::string_view payload,
                       std::int64_t expires_at);

// The payload when the token was signed with this secret and purpose and now < expires_at.
// Anything else, of any shape or length, is nullopt; it never throws, because the input comes
// straight from the client.
std::optional<std::string> verify_token(std::string_view secret, std::string_view purpose,
                                        std::string_view token, std::int64_t now) noexcept;

}  // namespace nidan
