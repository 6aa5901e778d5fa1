#pragma once
// Windowed counters in the `counters` table, for throttling and rate limits: one entry per
// (kind, subject, window_start), keyed counter_key() (schema.hpp), expiring at a time the caller
// picks (normally the window's end, or later when a lockout outlasts the window).
//
// kind: a short printable-ASCII name ("pw_addr", "pw_acct", "mail_hour").
// subject: raw bytes, stored as given, '\0' included, so an account_key(portal, id) can be used
// directly. That keeps the key unambiguous without escaping: the kind ends at the first '\0'
// (kinds have none) and the window is the fixed 8 bytes at the end, so the subject is exactly
// what lies between. (A prefix scan over "kind\0subject\0" would also match longer subjects
// that continue with '\0'; nothing scans counters, the sweep removes them.)
// kind + subject must stay under LMDB's 511-byte key limit less 10 bytes, or invalid_input.
#include <functional>
#include <cstdint>
#include <string_view>

#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

// Adds one and returns the new count (saturating at UINT32_MAX), and sets the entry's expiry to
// expires_at. There is no `now` here: an entry of this window that has expired but not been
// swept yet is counted on, not restarted. Callers pick expires_at no earlier than the window's
// end, so a window is never used again after its counter expired.
// An empty kind or one with bytes outside printable ASCII throws invalid_input.
std::uint32_t increment_counter(write_txn& t, std::string_view kind, std::string_view subject,
                                std::int64_t window_start, std::int64_t expires_at);

// The count, or 0 when absent or when `now` (unix seconds) has reached its expiry.
std::uint32_t get_counter(const txn& t, std::string_view kind, std::string_view subject,
                          std::int64_t window_start, std::int64_t now);

// Every stored counter, expired or not (`nidan db copy`); false stops.
struct counter_entry {
    std::string_view kind;
    std::string_view subject;
    std::int64_t window_start = 0;
    std::uint32_t count = 0;
    std::int64_t expires_at = 0;
};
void for_each_counter(const txn& t, const std::function<bool(const counter_entry&)>& visit);
// Removes the entry (e.g. failed password attempts after a successful login); absent is fine.
void reset_counter(write_txn& t, std::string_view kind, std::string_view subject, std::int64_t window_start);

}  // namespace nidan::storage
