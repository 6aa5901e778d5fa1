#pragma once
// Entries that expire (sessions, codes, counters). Outbox mails do not: an expired code mail is
// recorded by the delivery loop in outbox_failed, never swept away silently.
//
// put_expiring() stores `expires_at` (unix seconds, i64) as an 8-byte header in front of the
// value, and adds an index entry to the `expiry` table keyed be64(expires_at), table id, key.
// A sweep then walks `expiry` from its start and stops at the first entry not yet due: it never
// scans a data table. The header lets the sweep tell a current index entry from a stale one: a
// key re-written with another expiry keeps only the index entry whose time matches its header.
//
// An entry is live while now < expires_at. get_live() already hides entries whose time has
// come, so correctness never depends on how often the sweep runs; the sweep only reclaims space.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

struct expiring_value {
    std::int64_t expires_at = 0;
    std::string_view payload;  // valid until the txn ends
};

// Inserts or replaces `key` in `table` (any table but expiry and meta) and indexes it. A key
// that already had another expiry loses its old index entry here.
void put_expiring(write_txn& t, MDB_dbi table, std::string_view key, std::string_view value,
                  std::int64_t expires_at_unix);

// The stored entry whatever the time; nullopt when absent. A value too short to carry the
// header throws storage_corrupt.
std::optional<expiring_value> get_expiring(const txn& t, MDB_dbi table, std::string_view key);

// The payload, or nullopt when absent or no longer live at `now_unix`.
std::optional<std::string_view> get_live(const txn& t, MDB_dbi table, std::string_view key,
                                         std::int64_t now_unix);

// A stored value read by a table walk: its expiry and payload. Too short throws storage_corrupt.
expiring_value split_expiring(std::string_view stored);

// Removes the entry and its index entry; false when the key was absent.
bool erase_expiring(write_txn& t, MDB_dbi table, std::string_view key);

// Looks at up to `max_entries` due index entries (expires_at <= now_unix), removes each and,
// when its target still carries that same expiry, the target too. Returns how many targets were
// removed. Bounding the work keeps one sweep from holding the write lock for long: call again
// while it returns a full batch.
std::size_t sweep_expired(write_txn& t, std::int64_t now_unix, std::size_t max_entries);

// The index key: be64(expires_at), table id byte, target key.
std::string expiry_key(std::int64_t expires_at, table_id table, std::string_view key);

}  // namespace nidan::storage
