#include "storage/lmdb/expiry.hpp"

#include <vector>

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"

namespace nidan::storage {
namespace {

constexpr std::size_t header_size = 8;
constexpr std::size_t index_prefix_size = header_size + 1;  // expires_at, table id

table_id expirable_table(const txn& t, MDB_dbi table) {
    const std::optional<table_id> id = t.dbs().id_of(table);
    if (!id || *id == table_id::expiry || *id == table_id::meta) {
        throw error(errc::invalid_input, "put_expiring: not a table whose entries expire");
    }
    return *id;
}

expiring_value split_header(std::string_view stored) {
    if (stored.size() < header_size) throw_corrupt("expiring value: no expiry header");
    return expiring_value{read_i64_be(stored), stored.substr(header_size)};
}

struct index_entry {
    std::int64_t expires_at;
    table_id table;
    std::string_view key;
};

index_entry parse_index_key(std::string_view key) {
    if (key.size() < index_prefix_size) throw_corrupt("expiry key: truncated");
    return index_entry{read_i64_be(key), static_cast<table_id>(static_cast<std::uint8_t>(key[header_size])),
                       key.substr(index_prefix_size)};
}

}  // namespace

std::string expiry_key(std::int64_t expires_at, table_id table, std::string_view key) {
    std::string index;
    index.reserve(index_prefix_size + key.size());
    append_i64_be(index, expires_at);
    index.push_back(static_cast<char>(table));
    index.append(key);
    return index;
}

void put_expiring(write_txn& t, MDB_dbi table, std::string_view key, std::string_view value,
                  std::int64_t expires_at_unix) {
    const table_id id = expirable_table(t, table);

    const std::optional<std::string_view> old = t.get(table, key);
    // An old value without a header was not written here and has no index entry to remove.
    if (old && old->size() >= header_size) {
        const std::int64_t old_expiry = read_i64_be(*old);
        if (old_expiry != expires_at_unix) t.erase(t.dbs().expiry, expiry_key(old_expiry, id, key));
    }

    std::string stored;
    stored.reserve(header_size + value.size());
    append_i64_be(stored, expires_at_unix);
    stored.append(value);
    t.put(table, key, stored);
    t.put(t.dbs().expiry, expiry_key(expires_at_unix, id, key), {});
}

std::optional<expiring_value> get_expiring(const txn& t, MDB_dbi table, std::string_view key) {
    const std::optional<std::string_view> stored = t.get(table, key);
    if (!stored) return std::nullopt;
    return split_header(*stored);
}

std::optional<std::string_view> get_live(const txn& t, MDB_dbi table, std::string_view key,
                                         std::int64_t now_unix) {
    const std::optional<expiring_value> entry = get_expiring(t, table, key);
    if (!entry || now_unix >= entry->expires_at) return std::nullopt;
    return entry->payload;
}

bool erase_expiring(write_txn& t, MDB_dbi table, std::string_view key) {
    const table_id id = expirable_table(t, table);
    const std::optional<expiring_value> entry = get_expiring(t, table, key);
    if (!entry) return false;
    t.erase(t.dbs().expiry, expiry_key(entry->expires_at, id, key));
    return t.erase(table, key);
}

std::size_t sweep_expired(write_txn& t, std::int64_t now_unix, std::size_t max_entries) {
    // Collect first, delete after: deleting under an open cursor is legal in LMDB but makes
    // the walk harder to reason about, and max_entries bounds the copy.
    std::vector<std::string> due;
    t.for_each_prefix(t.dbs().expiry, {}, [&](std::string_view key, std::string_view) {
        if (due.size() >= max_entries || parse_index_key(key).expires_at > now_unix) return false;
        due.emplace_back(key);
        return true;
    });

    std::size_t removed = 0;
    for (const std::string& index_key : due) {
        const index_entry entry = parse_index_key(index_key);
        const std::optional<MDB_dbi> handle = t.dbs().handle(entry.table);
        if (!handle || entry.table == table_id::expiry || entry.table == table_id::meta) {
            throw_corrupt("expiry key: unknown table id");
        }
        const MDB_dbi table = *handle;
        const std::optional<std::string_view> target = t.get(table, entry.key);
        // Only a target whose header matches this index entry is due; a target re-written with
        // another expiry (or without one) is left alone and this stale index entry just goes.
        if (target && target->size() >= header_size && read_i64_be(*target) == entry.expires_at) {
            t.erase(table, entry.key);
            ++removed;
        }
        t.erase(t.dbs().expiry, index_key);
    }
    return removed;
}


expiring_value split_expiring(std::string_view stored) { return split_header(stored); }

}  // namespace nidan::storage
