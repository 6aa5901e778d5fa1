#pragma once
// A look into a running server's LMDB data folder from the test process, to prove that a refused
// request stored nothing: every table's key/value pairs read in one read transaction, and what
// differs between two such snapshots, one readable line per key. It needs storage/ headers, so
// it lives beside the integration tests rather than in tests/include/nidan_test (the support
// library is built without nidan headers).
//
// LMDB lets other processes read while the server writes, which is how `nidan user ...` works
// next to a running server; the test process opens the folder the same way, with
// storage::environment. Opening takes the write lock for a moment to open the tables, which
// already exist with the right schema version, so that transaction commits no change; from then
// on it only reads, except edit_account(), which a test calls to stand in for time passing
// (LMDB's lock serialises that write with the server's writer, as it does for the CLI).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "core/account/account.hpp"
#include "core/config/config.hpp"
#include "storage/lmdb/account_table.hpp"
#include "storage/lmdb/code_table.hpp"
#include "storage/lmdb/codec.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/lmdb/expiry.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_records.hpp"
#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/session_table.hpp"
#include "nidan_test/postgres_server.hpp"

namespace nidan_test {

namespace stored_detail {

namespace storage = nidan::storage;

// Printable ASCII as it is, every other byte as \xNN (a '\0' key separator shows as \x00).
inline std::string escaped(std::string_view bytes, std::size_t max_bytes = 96) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    if (bytes.size() > max_bytes) out += "...(" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

inline std::string hex_prefix(std::string_view bytes, std::size_t max_bytes = 8) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
    if (bytes.size() > max_bytes) out += "...";
    return out;
}

// The tail of a secret-ish string: enough to see that it changed, not the whole of it.
inline std::string tail_of(std::string_view text, std::size_t keep = 10) {
    return text.size() <= keep ? std::string(text) : "..." + std::string(text.substr(text.size() - keep));
}

constexpr std::size_t expiry_header_size = 8;  // storage/lmdb/expiry.hpp: be64 expires_at before the value

inline std::string describe_account(std::string_view key, std::string_view value) {
    const auto a = storage::decode_account(key, value);
    return "email=" + a.email + " phone=" + a.phone + " phone_strikes=" + std::to_string(a.phone_strikes) +
           " address_form_locked=" + (a.address_form_locked ? "true" : "false") +
           " password_locked=" + (a.password_locked ? "true" : "false") +
           " operator_locked=" + (a.operator_locked ? "true" : "false") + " updated_at=" + std::to_string(a.updated_at) +
           " credential_epoch=" + std::to_string(a.credential_epoch) + " password_hash=" + tail_of(a.password_hash) +
           " pending_email=" + a.pending_email + " pending_email_at=" + std::to_string(a.pending_email_at);
}

inline std::string describe_session(std::string_view payload) {
    const auto s = storage::decode_session(payload);
    return "portal=" + s.portal + " id=" + s.selfcare_id +
           " state=" + (s.state == storage::session_state::authenticated ? "authenticated" : "code_pending") +
           " last_seen=" + std::to_string(s.last_seen) + " idle_expires_at=" + std::to_string(s.idle_expires_at) +
           " csrf=" + tail_of(s.csrf_secret, 6) + " credential_epoch=" + std::to_string(s.credential_epoch);
}

inline std::string describe_code(const storage::txn& txn, std::string_view key) {
    const auto [portal, id] = storage::split_account_key(key);
    const auto c = storage::get_code_any(txn, portal, id);
    if (!c) return "(unreadable code)";
    return "attempts_left=" + std::to_string(c->attempts_left) +
           " purpose=" + (c->purpose == storage::code_purpose::login ? "login" : "address_change") +
           " target=" + c->target_email + " issued_at=" + std::to_string(c->issued_at) +
           " expires_at=" + std::to_string(c->expires_at) + " mac=" + hex_prefix(c->mac, 4);
}

inline std::string describe_counter(std::string_view payload) {
    storage::value_reader in(payload, "counters value");
    return "count=" + std::to_string(in.u32());
}

inline std::string describe_meta(std::string_view key, std::string_view value) {
    if (key == storage::meta_schema_version && value.size() == 4) return std::to_string(storage::read_u32_be(value));
    if (key == storage::meta_outbox_seq && value.size() == 8) return std::to_string(storage::read_u64_be(value));
    return "(" + std::to_string(value.size()) + " bytes, not shown)";  // the server secret
}

}  // namespace stored_detail

// One stored pair: the raw bytes are what is compared, the rest is for failure messages.
struct stored_entry {
    std::string value;
    std::string readable_key;
    std::string readable_value;
    std::optional<std::int64_t> expires_at;  // entries that expire: their time (unix seconds)
};

// Every table by name, every key of it (raw bytes) with its entry.
struct stored_state {
    std::map<std::string, std::map<std::string, stored_entry>> tables;
    std::int64_t taken_at = 0;  // unix seconds, read after the read transaction began
};

// What differs between two snapshots, one line per key: added, removed or changed, with the
// decoded value before and after. One exception: the expiry sweep (every storage.sweep_interval_s,
// on its own schedule) removes entries whose time has come, such as the hourly mail counter at
// the top of the hour; a removed entry that had expired by the second snapshot is the sweep's
// doing, not the request's, and is left out. Every other removal, every addition and every
// changed value is reported.
inline std::vector<std::string> changes_between(const stored_state& before, const stored_state& after) {
    std::vector<std::string> changes;
    for (const auto& [table, entries_before] : before.tables) {
        static const std::map<std::string, stored_entry> none;
        const auto found = after.tables.find(table);
        const auto& entries_after = found == after.tables.end() ? none : found->second;
        for (const auto& [key, old_entry] : entries_before) {
            const auto now = entries_after.find(key);
            if (now == entries_after.end()) {
                const bool swept = old_entry.expires_at && *old_entry.expires_at <= after.taken_at;
                if (!swept)
                    changes.push_back(table + "[" + old_entry.readable_key + "] removed (was " + old_entry.readable_value + ")");
            } else if (now->second.value != old_entry.value) {
                changes.push_back(table + "[" + old_entry.readable_key + "] changed: " + old_entry.readable_value +
                                  "  ->  " + now->second.readable_value);
            }
        }
        for (const auto& [key, new_entry] : entries_after) {
            if (entries_before.find(key) == entries_before.end())
                changes.push_back(table + "[" + new_entry.readable_key + "] added: " + new_entry.readable_value);
        }
    }
    return changes;
}

inline std::string as_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) out += "\n  " + line;
    return out;
}

// The server's store, opened from the test process while the server runs: its LMDB data folder,
// or, when a login_world on NIDAN_TEST_BACKEND=postgres made the folder, that world's database
// (postgres_server.hpp). On PostgreSQL a snapshot holds the same table names with every row of
// every nidan table, keyed as LMDB keys its entries (accounts, codes, counters) or by primary
// key, valued by the whole row as text; counters are written in LMDB's encoding, with their
// expiry index entries, so checks that decode counters work on both.
class data_folder {
public:
    explicit data_folder(const std::filesystem::path& dir) {
        if (const auto url = postgres_url_of(dir.string()); !url.empty()) {
            nidan::storage::pg::connect_options o;
            o.url = url;
            o.application_name = "nidan-test";
            pg_.emplace(o);
        } else {
            env_.emplace(options_for(dir));
        }
    }

    stored_state snapshot() const {
        namespace storage = nidan::storage;
        if (pg_) return pg_snapshot();
        stored_state state;
        const auto txn = env_->begin_read();
        state.taken_at = static_cast<std::int64_t>(std::time(nullptr));
        for (const auto& info : storage::all_tables) {
            auto& entries = state.tables[info.name];
            txn.for_each_prefix(env_->dbs().*info.handle, "", [&](std::string_view key, std::string_view value) {
                entries.emplace(std::string(key), read_entry(txn, info.id, key, value));
                return true;
            });
        }
        return state;
    }

    std::optional<nidan::account> account(const std::string& portal, const std::string& id) const {
        if (pg_) return in_pg_read([&](const nidan::storage::pg::view& v) { return v.find_account(portal, id); });
        const auto txn = env_->begin_read();
        return nidan::storage::get_account(txn, portal, id);
    }

    // The account's code, expired or not; nullopt when none is stored.
    std::optional<nidan::storage::code_record> code(const std::string& portal, const std::string& id) const {
        if (pg_) return in_pg_read([&](const nidan::storage::pg::view& v) { return v.find_code(portal, id); });
        const auto txn = env_->begin_read();
        return nidan::storage::get_code_any(txn, portal, id);
    }

    // Rewrites one stored account in one write transaction: `edit` changes it. False when there is
    // no such account. For what a test cannot wait for, such as a held address's time coming.
    template <class Edit>
    bool edit_account(const std::string& portal, const std::string& id, Edit edit) {
        if (pg_) {
            pg_->exec("BEGIN");
            nidan::storage::pg::store s(*pg_);
            auto a = s.find_account(portal, id);
            if (a) {
                edit(*a);
                s.save_account(*a);
            }
            pg_->exec("COMMIT");
            return a.has_value();
        }
        auto txn = env_->begin_write();
        auto a = nidan::storage::get_account(txn, portal, id);
        if (!a) return false;
        edit(*a);
        nidan::storage::put_account(txn, *a);
        txn.commit();
        return true;
    }

    std::size_t queued_mails() const {
        if (pg_) return static_cast<std::size_t>(pg_->run("t_queued", "SELECT count(*) FROM outbox WHERE failed_at = 0").i64(0, 0));
        const auto txn = env_->begin_read();
        return txn.entries(env_->dbs().outbox);
    }

    // The delivery loop removes a mail from the outbox once the relay accepted it, a moment
    // after the relay stored it: a snapshot taken before that would see the removal as a change.
    bool outbox_drained(std::chrono::milliseconds timeout) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (queued_mails() != 0) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }

private:
    template <class Read>
    auto in_pg_read(Read read) const -> decltype(read(std::declval<const nidan::storage::pg::view&>())) {
        pg_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const nidan::storage::pg::view v(*pg_);
        auto out = read(v);
        pg_->exec("COMMIT");
        return out;
    }

    // One REPEATABLE READ transaction, so the tables are read at one moment as in LMDB.
    stored_state pg_snapshot() const {
        namespace storage = nidan::storage;
        using stored_detail::escaped;
        stored_state state;
        auto& c = *pg_;
        c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        c.run("t_snapshot_start", "SELECT 1");  // the snapshot is taken by the first statement
        state.taken_at = static_cast<std::int64_t>(std::time(nullptr));
        const auto rows_of = [&](const char* name, const char* sql, auto each) {
            const auto r = c.run(name, sql);
            for (int i = 0; i < r.rows(); ++i) each(r, i);
        };
        const auto whole = [](const storage::pg::result& r, int i, int col, std::optional<std::int64_t> expires = {}) {
            const auto row = r.text(i, col);
            return stored_entry{row, "", escaped(row, 400), expires};
        };
        state.tables["accounts"];
        rows_of("t_accounts", "SELECT portal, selfcare_id, (a.*)::text FROM accounts a", [&](const auto& r, int i) {
            auto e = whole(r, i, 2);
            e.readable_key = escaped(r.text(i, 0) + "/" + r.text(i, 1));
            state.tables["accounts"].emplace(storage::account_key(r.text(i, 0), r.text(i, 1)), std::move(e));
        });
        state.tables["sessions"];
        rows_of("t_sessions", "SELECT id_hash, (s.*)::text, expires_at FROM sessions s", [&](const auto& r, int i) {
            auto e = whole(r, i, 1, r.i64(i, 2));
            e.readable_key = stored_detail::hex_prefix(r.text(i, 0));
            state.tables["sessions"].emplace(r.text(i, 0), std::move(e));
        });
        state.tables["codes"];
        rows_of("t_codes", "SELECT portal, selfcare_id, (c.*)::text, expires_at FROM codes c", [&](const auto& r, int i) {
            auto e = whole(r, i, 2, r.i64(i, 3));
            e.readable_key = escaped(r.text(i, 0) + "/" + r.text(i, 1));
            state.tables["codes"].emplace(storage::account_key(r.text(i, 0), r.text(i, 1)), std::move(e));
        });
        state.tables["counters"];
        state.tables["expiry"];
        rows_of("t_counters", "SELECT kind, subject, window_start, count, expires_at FROM counters", [&](const auto& r, int i) {
            const auto key = storage::counter_key(r.text(i, 0), r.text(i, 1), r.i64(i, 2));
            const auto expires = r.i64(i, 4);
            std::string value;
            storage::append_i64_be(value, expires);
            value += '\x01';
            storage::append_u32_be(value, static_cast<std::uint32_t>(r.i64(i, 3)));
            state.tables["counters"].emplace(
                key, stored_entry{value, escaped(key), "count=" + std::to_string(r.i64(i, 3)) + " expires=" + std::to_string(expires),
                                  expires});
            state.tables["expiry"].emplace(storage::expiry_key(expires, storage::table_id::counters, key),
                                           stored_entry{"", "at " + std::to_string(expires) + " counters[" + escaped(key) + "]",
                                                        "", expires});
        });
        // lease_until is left out: which node holds a mail for delivery is not stored state of a request.
        for (const auto& [table, name, where] : {std::tuple{"outbox", "t_outbox", "failed_at = 0"},
                                                 std::tuple{"outbox_failed", "t_outbox_failed", "failed_at <> 0"}}) {
            state.tables[table];
            rows_of(name, (std::string("SELECT id, (to_jsonb(o) - 'lease_until')::text FROM outbox o WHERE ") + where).c_str(),
                    [&, table = table](const auto& r, int i) {
                        auto e = whole(r, i, 1);
                        e.readable_key = std::to_string(r.i64(i, 0));
                        state.tables[table].emplace(e.readable_key, std::move(e));
                    });
        }
        rows_of("t_schema", "SELECT version::bigint FROM nidan_schema", [&](const auto& r, int i) {
            const auto v = std::to_string(r.i64(i, 0));
            state.tables["meta"].emplace("schema_version", stored_entry{v, "schema_version", v, std::nullopt});
        });
        rows_of("t_secrets", "SELECT name, value FROM secrets", [&](const auto& r, int i) {
            const auto value = r.text(i, 1);
            state.tables["meta"].emplace(r.text(i, 0), stored_entry{value, escaped(r.text(i, 0)),
                                                                    "(" + std::to_string(value.size()) + " bytes, not shown)",
                                                                    std::nullopt});
        });
        c.exec("COMMIT");
        return state;
    }

    static nidan::storage::options options_for(const std::filesystem::path& dir) {
        nidan::storage_config config;  // the shipped defaults, as the server under test uses
        config.data_dir = dir;
        return nidan::storage::make_options(config);
    }

    static stored_entry read_entry(const nidan::storage::txn& txn, nidan::storage::table_id table, std::string_view key,
                                   std::string_view value) {
        namespace storage = nidan::storage;
        using storage::table_id;
        stored_entry entry{std::string(value), stored_detail::escaped(key), stored_detail::escaped(value), std::nullopt};
        const bool expiring = table == table_id::sessions || table == table_id::codes || table == table_id::counters;
        if (expiring && value.size() >= stored_detail::expiry_header_size) entry.expires_at = storage::read_i64_be(value);
        if (table == table_id::expiry && key.size() >= stored_detail::expiry_header_size)
            entry.expires_at = storage::read_i64_be(key);
        if (table == table_id::sessions) entry.readable_key = stored_detail::hex_prefix(key);
        // A value this code cannot decode is shown as bytes: the comparison does not depend on it.
        try {
            const auto payload = expiring ? value.substr(stored_detail::expiry_header_size) : value;
            switch (table) {
            case table_id::accounts: entry.readable_value = stored_detail::describe_account(key, value); break;
            case table_id::sessions: entry.readable_value = stored_detail::describe_session(payload); break;
            case table_id::codes: entry.readable_value = stored_detail::describe_code(txn, key); break;
            case table_id::counters: entry.readable_value = stored_detail::describe_counter(payload); break;
            case table_id::meta: entry.readable_value = stored_detail::describe_meta(key, value); break;
            case table_id::expiry: {
                const auto target = static_cast<std::uint8_t>(key.size() > 8 ? key[8] : 0);
                entry.readable_key = "at " + std::to_string(*entry.expires_at) + " " +
                                     storage::table_name(static_cast<table_id>(target)) + "[" +
                                     stored_detail::escaped(key.substr(std::min<std::size_t>(key.size(), 9))) + "]";
                break;
            }
            case table_id::outbox:
            case table_id::outbox_failed: entry.readable_value = "(a mail, " + std::to_string(value.size()) + " bytes)"; break;
            }
            if (entry.expires_at && table != table_id::expiry)
                entry.readable_value += " expires=" + std::to_string(*entry.expires_at);
        } catch (const std::exception& e) {
            entry.readable_value += " (not decoded: " + std::string(e.what()) + ")";
        }
        return entry;
    }

    std::optional<nidan::storage::environment> env_;
    mutable std::optional<nidan::storage::pg::connection> pg_;
};

}  // namespace nidan_test
