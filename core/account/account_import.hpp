#pragma once
// Parsing of the CSV file given to `nidan user import`. Pure: it reads and validates, it neither
// hashes nor stores, so the caller can show every problem before touching the database.
//
// Format: RFC 4180 CSV, UTF-8, five columns: portal, id, email, phone, password-or-hash.
//  - Comma separated; a field that starts with '"' is quoted, "" inside it is one quote, and it
//    may hold commas and line breaks. Spaces around a quoted field are ignored. A '"' inside an
//    unquoted field, or text after a closing quote, rejects the record.
//  - LF or CRLF line ends; a CR not followed by LF outside quotes rejects the record.
//  - A UTF-8 byte order mark at the very start is ignored; blank (or all-space) lines are skipped.
//  - If the first record is exactly `portal,id,email,phone,password` (any case) it is a header
//    and skipped.
//  - ASCII spaces around unquoted fields are trimmed, except in the password field, where every
//    byte counts.
//  - A password field starting with "$argon2" is a ready-made PHC hash and must pass
//    password_hasher::looks_like_phc() and, for its cost, import_cost_problem() of
//    core/security/hash_cost.hpp (p = 1, m and t within hash.max_cost_factor of the configured ones and
//    not below the hash.import_min_* floors); anything else is a plaintext password checked by
//    password_problem() with password.min_length. (So a plaintext password cannot start with
//    "$argon2".)
//  - The rules of core/account/account_rules.hpp apply; a (portal, id) seen earlier in the file rejects
//    the later record, whatever became of the earlier one.
// Line numbers are 1-based physical lines where the record starts, so a rejection points at what
// an editor shows even after quoted line breaks.
#include <cstddef>
#include <istream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/account/account_rules.hpp"
#include "core/config/config.hpp"
#include "core/security/hash_cost.hpp"
#include "core/security/password_hasher.hpp"

namespace nidan {

struct import_row {
    std::size_t line = 0;
    std::string portal;
    std::string selfcare_id;
    std::string email;     // may be empty
    std::string phone;     // normalised: digits only
    std::string password;  // plaintext, or empty when phc is given
    std::string phc;       // ready-made Argon2id hash, or empty
};

struct import_rejection {
    std::size_t line = 0;
    std::string reason;  // problems of the record, "; "-separated; never echoes a password
};

struct import_result {
    std::vector<import_row> rows;              // in file order
    std::vector<import_rejection> rejections;  // in file order
};

// What the configuration says about imported rows. The defaults are those of the config structs.
struct import_rules {
    std::size_t min_password_chars = password_config{}.min_length;
    hash_params hash{hash_config{}.memory_kib, hash_config{}.iterations};
    hash_cost_bounds cost = cost_bounds_of(hash_config{});
    std::vector<std::string_view> known_portals{default_portals.begin(), default_portals.end()};
};

// password.min_length, hash.memory_kib, hash.iterations, the bounds of [hash] and the
// configured portals (views into cfg, which must outlive the rules).
import_rules import_rules_of(const config& cfg);

// Reads the whole stream. Never throws for bad content: every bad record becomes a rejection and
// the good ones are still returned. Throws only what the stream or allocation throws.
import_result parse_account_csv(std::istream& in, const import_rules& rules = {});

}  // namespace nidan
