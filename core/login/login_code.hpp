#pragma once
// The numeric code of the second login step: made, stored as a MAC, checked, and read back from
// what the customer typed.
//
// Only code_mac() is stored, never the code, and because the MAC binds the account key, a stored
// value copied onto another account's record does not verify there. The MAC hides a code only as
// long as the key does: a copy of the data folder holding the key too (storage.secret_file
// unset: the key lives in LMDB's meta table) gives every live code, since trying all 10^6 codes
// of six digits against a stored MAC takes well under a second. With the key in a separate
// file, a copy of the data folder alone reveals none, except the codes of mails still waiting in
// the outbox, whose message text holds them. Either way a code is usable only by the session that
// asked for it, and the folder keeps only hashes of session ids.
#include <optional>
#include <string>
#include <string_view>

namespace nidan {

// `length` ASCII digits, each uniform over 0-9 from the CSPRNG (no modulo bias).
// Throws std::invalid_argument for length 0, std::runtime_error when libsodium cannot initialise.
std::string generate_code(unsigned length);

// HMAC-SHA-256(server_secret, account_key + '\0' + code), 32 raw bytes. account_key is the
// codes-table key (portal \0 selfcare_id); the code is the normalised digits.
// Throws std::invalid_argument for an empty server_secret.
std::string code_mac(std::string_view server_secret, std::string_view account_key,
                     std::string_view code);

// Whether `code` is the one whose MAC was stored for this account. Constant time in the MAC;
// false for a stored value of the wrong size or an empty secret, never an exception.
bool code_matches(std::string_view stored_mac, std::string_view server_secret,
                  std::string_view account_key, std::string_view code) noexcept;

// What the customer typed, as `length` ASCII digits. Accepted: ASCII digits and full-width
// digits U+FF10..U+FF19 (Japanese input methods produce them), surrounded by any number of ASCII
// spaces, tabs and ideographic spaces U+3000 (pasted from the mail). Anything else - letters,
// spaces between digits, another number of digits, invalid UTF-8 - is nullopt, so a typo is
// reported as such instead of being guessed at.
std::optional<std::string> normalise_code_input(std::string_view raw, unsigned length);

}  // namespace nidan
