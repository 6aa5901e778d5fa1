#pragma once
// The rules an account's fields must pass, shared by the CLI, the CSV import and the web forms so
// that no entry point is looser than another. Each *_problem() returns nullopt when the value is
// fine (nidan::problem, core/base/error.hpp), otherwise a short English reason starting with the field name, e.g.
// "id: longer than 64 characters". Reasons never echo the value itself (it may be a password or
// arbitrary bytes), so they are safe to log and to print.
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/base/error.hpp"
#include "core/base/mail_address.hpp"  // email_problem: the config and the mails check addresses too

namespace nidan {

// Until the portal list moves into the configuration, this is the one built in.
inline constexpr std::array<std::string_view, 3> default_portals{"ip-phone", "mc050", "freevoice"};

// The portal must be one of known_portals (exact, case-sensitive).
problem portal_problem(std::string_view portal,
                           std::span<const std::string_view> known_portals = default_portals);

// 1..64 bytes of ASCII letters, digits and . _ - @.
problem selfcare_id_problem(std::string_view id);

// Japanese phone numbers as people type them: drops ASCII spaces and hyphens, the full-width
// space U+3000 and hyphen-minus U+FF0D, and the dash look-alikes U+30FC (long vowel mark),
// U+2212 (minus), U+2010 (hyphen) and U+2015 (horizontal bar); turns full-width digits
// U+FF10..U+FF19 into ASCII. Returns the digits when there are 10 or 11 of them and nothing else
// remains, otherwise nullopt (also for invalid UTF-8).
std::optional<std::string> normalise_phone(std::string_view raw);

// normalise_phone() as a reason: nullopt when it yields a number.
problem phone_problem(std::string_view raw);

// Password policy (NIST SP 800-63B style): valid UTF-8, at least min_chars code points, at most
// max_bytes bytes. Any characters are allowed, there are no composition rules and nothing is ever
// truncated. max_bytes only bounds the hashing work an attacker can ask for; it sits far above the
// 64 characters we promise customers. Both count the text as typed, which is what the customer
// sees; password_hasher hashes its NFKC form (core/base/nfkc.hpp), at most 18 times as many code
// points, which changes nothing in Argon2id's cost.
problem password_problem(std::string_view password, std::size_t min_chars = 8,
                             std::size_t max_bytes = 1024);

}  // namespace nidan
