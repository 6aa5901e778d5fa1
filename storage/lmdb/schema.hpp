#pragma once
// Every LMDB named database ("table") nidan keeps, and how its keys are laid out. This file is
// the written-down schema: change a layout here, bump schema_version, and an old data folder
// is refused on open instead of being misread.
//
// Integers in keys are big-endian (codec.hpp), so byte order is numeric order and a cursor walks
// them in time/sequence order. Strings that may be followed by more key parts are ended by '\0'
// and must not contain '\0' themselves; the last part of a key may hold any byte.
//
// Values in sessions, codes and counters are written with put_expiring() (expiry.hpp), so they
// start with an 8-byte expiry header followed by the table's own encoding. Outbox values are NOT:
// a code mail whose code expired before it could be sent must be moved to outbox_failed by the
// delivery loop, where the operator sees it, not swept away silently.
//
// | table         | key                                          | value                                   |
// |---------------|----------------------------------------------|-----------------------------------------|
// | accounts      | portal '\0' selfcare_id                      | account_table.cpp, format 2 (1 is read) |
// | sessions      | SHA-256(session id), 32 raw bytes            | session_table.cpp, format 2 (1 is read):|
// |               |                                              | portal, selfcare_id, state, created_at, |
// |               |                                              | last_seen, idle and absolute expiry,    |
// |               |                                              | csrf secret, credential epoch           |
// | codes         | portal '\0' selfcare_id (one live code each) | code_table.cpp, format 2 (1 is read):   |
// |               |                                              | HMAC(code), issued_at, attempts left,   |
// |               |                                              | target address, purpose, session hash,  |
// |               |                                              | credential epoch                        |
// | counters      | kind '\0' subject '\0' be64(window start)    | counter_table.cpp, format 1: be32 count |
// | outbox        | u8 priority, be64(due time, unix ms),        | every field of outbox_mail (outbox.cpp, |
// |               | be64(id)                                     | format 1): envelope, body, attempts ... |
// | outbox_failed | be64(failed at, unix s), be64(id)            | as outbox, failed_at and last error set |
// | expiry        | be64(expires_at), u8 table_id, target key    | empty (an index, see expiry.hpp)        |
// | meta          | name ("schema_version", "server_secret",     | be32 version / raw secret bytes         |
// |               | other secret.hpp names, "outbox_seq")        | (secret.cpp) / be64 last outbox id      |
//
// The expiry header of sessions and codes is their expiry time: min(idle, absolute) for a session
// (both also kept in the value), expires_at for a code (kept only in the header).
// A counter subject may itself contain '\0' (an account key): the kind has none and the window
// is a fixed-width suffix, so the key still splits one way only (counter_table.hpp).
// The outbox and expiry keys use fixed-width parts, so they need no '\0' separators.
#include <lmdb.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace nidan::storage {

// Bump on any incompatible change to a key layout or value format above.
inline constexpr std::uint32_t schema_version = 1;

// Names in `meta`.
inline constexpr std::string_view meta_schema_version = "schema_version";
inline constexpr std::string_view meta_server_secret = "server_secret";
// The last outbox id handed out. Bumped inside the enqueuing txn, so LMDB's write lock orders ids
// across threads and processes, and an aborted enqueue gives its id back.
inline constexpr std::string_view meta_outbox_seq = "outbox_seq";

// One byte per table, stored inside expiry index keys: never renumber, only append.
enum class table_id : std::uint8_t {
    accounts = 1,
    sessions = 2,
    codes = 3,
    counters = 4,
    outbox = 5,
    outbox_failed = 6,
    expiry = 7,
    meta = 8,
};

// The open handles of every table; valid for the life of the environment and in every txn.
struct tables {
    MDB_dbi accounts = 0;
    MDB_dbi sessions = 0;
    MDB_dbi codes = 0;
    MDB_dbi counters = 0;
    MDB_dbi outbox = 0;
    MDB_dbi outbox_failed = 0;
    MDB_dbi expiry = 0;
    MDB_dbi meta = 0;

    std::optional<MDB_dbi> handle(table_id id) const noexcept;  // nullopt for an unknown id
    std::optional<table_id> id_of(MDB_dbi handle) const noexcept;
};

struct table_info {
    table_id id;
    const char* name;  // the LMDB database name
    MDB_dbi tables::*handle;
};

inline constexpr std::array<table_info, 8> all_tables{{
    {table_id::accounts, "accounts", &tables::accounts},
    {table_id::sessions, "sessions", &tables::sessions},
    {table_id::codes, "codes", &tables::codes},
    {table_id::counters, "counters", &tables::counters},
    {table_id::outbox, "outbox", &tables::outbox},
    {table_id::outbox_failed, "outbox_failed", &tables::outbox_failed},
    {table_id::expiry, "expiry", &tables::expiry},
    {table_id::meta, "meta", &tables::meta},
}};

const char* table_name(table_id id) noexcept;

// Key builders for the layouts above. A portal or counter kind containing '\0' would make keys
// ambiguous: those throw storage::error(invalid_input).
std::string account_key(std::string_view portal, std::string_view selfcare_id);
// Splits at the first '\0'; a key without one throws storage_corrupt.
std::pair<std::string_view, std::string_view> split_account_key(std::string_view key);
std::string counter_key(std::string_view kind, std::string_view subject, std::int64_t window_start);
// due_time in unix milliseconds; seq is the mail's id.
std::string outbox_key(std::uint8_t priority, std::int64_t due_time, std::uint64_t seq);

}  // namespace nidan::storage
