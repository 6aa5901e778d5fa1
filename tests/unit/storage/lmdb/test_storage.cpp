#define BOOST_TEST_MODULE storage
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nidan_test/temp_dir.hpp"
#include "storage/lmdb/account_table.hpp"
#include "storage/lmdb/codec.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/lmdb_error.hpp"
#include "storage/lmdb/expiry.hpp"
#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/writer.hpp"

namespace fs = std::filesystem;
using namespace nidan;
using namespace nidan::storage;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;

// "data" does not exist yet, so every test also exercises folder creation.
struct storage_fixture {
    nidan_test::temp_dir tmp;
    options opts{tmp.path() / "data", 16 * mib, 126, durability_mode::no_sync};
};

auto has_code(errc expected) {
    return [expected](const storage::error& e) { return e.code() == expected; };
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

account sample_account() {
    account a;
    a.portal = "ip-phone";
    a.selfcare_id = "山田-ü\x01id";  // UTF-8 and a control byte: the id is stored as raw bytes
    a.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    a.email = "";
    a.phone = "0312345678";
    a.created_at = 1700000000;
    a.updated_at = -5;  // a negative time must survive the sign-flipped encoding
    a.password_locked = true;
    a.address_form_locked = false;
    a.phone_strikes = 2;
    return a;
}

void check_same(const account& got, const account& want) {
    BOOST_TEST(got.portal == want.portal);
    BOOST_TEST(got.selfcare_id == want.selfcare_id);
    BOOST_TEST(got.password_hash == want.password_hash);
    BOOST_TEST(got.email == want.email);
    BOOST_TEST(got.phone == want.phone);
    BOOST_TEST(got.created_at == want.created_at);
    BOOST_TEST(got.updated_at == want.updated_at);
    BOOST_TEST(got.password_locked == want.password_locked);
    BOOST_TEST(got.address_form_locked == want.address_form_locked);
    BOOST_TEST(got.phone_strikes == want.phone_strikes);
}

// Blocks the writer thread inside a batch so that later submissions queue up behind it.
class writer_gate {
public:
    void close(writer& w) {
        auto started = std::make_shared<std::promise<void>>();
        std::future<void> running = started->get_future();
        BOOST_REQUIRE(w.submit(
            [started, released = released_.get_future().share()](write_txn&) {
                started->set_value();
                released.wait();
            },
            nullptr));
        running.wait();
    }
    void open() { released_.set_value(); }

private:
    std::promise<void> released_;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(environment_suite, storage_fixture)

BOOST_AUTO_TEST_CASE(open_creates_folder_tables_and_schema_version) {
    environment env(opts);
    BOOST_TEST(fs::is_directory(opts.dir));
    BOOST_TEST((fs::status(opts.dir).permissions() == fs::perms::owner_all));

    read_txn r = env.begin_read();
    const std::optional<std::string_view> version = r.get(env.dbs().meta, meta_schema_version);
    BOOST_REQUIRE(version.has_value());
    BOOST_TEST(read_u32_be(*version) == schema_version);

    std::vector<MDB_dbi> seen;
    for (const table_info& info : all_tables) {
        const MDB_dbi dbi = env.dbs().*info.handle;
        BOOST_TEST(dbi != 0u, info.name);
        BOOST_TEST((std::find(seen.begin(), seen.end(), dbi) == seen.end()), info.name);
        seen.push_back(dbi);
        BOOST_TEST((env.dbs().id_of(dbi) == std::optional<table_id>(info.id)), info.name);
    }
    BOOST_TEST(r.entries(env.dbs().accounts) == 0u);

    const environment::usage usage = env.stats();
    BOOST_TEST(usage.map_bytes == opts.map_size_bytes);
    BOOST_TEST(usage.used_bytes > 0u);
    BOOST_TEST(usage.used_bytes < usage.map_bytes);
}

BOOST_AUTO_TEST_CASE(reopen_keeps_committed_data) {
    {
        environment env(opts);
        write_txn w = env.begin_write();
        w.put(env.dbs().meta, "k", "v");
        w.commit();
        env.sync();
    }
    environment env(opts);
    read_txn r = env.begin_read();
    BOOST_TEST(r.get(env.dbs().meta, "k").value_or("") == "v");
}

BOOST_AUTO_TEST_CASE(other_schema_version_is_refused) {
    {
        environment env(opts);
        write_txn w = env.begin_write();
        std::string other;
        append_u32_be(other, schema_version + 1);
        w.put(env.dbs().meta, meta_schema_version, other);
        w.commit();
    }
    BOOST_CHECK_EXCEPTION(environment{opts}, storage::error, has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_CASE(put_get_insert_erase) {
    environment env(opts);
    const MDB_dbi table = env.dbs().sessions;
    write_txn w = env.begin_write();
    BOOST_TEST(!w.get(table, "a").has_value());
    w.put(table, "a", "1");
    BOOST_TEST(w.get(table, "a").value_or("") == "1");
    w.put(table, "a", "2");  // replace
    BOOST_TEST(w.get(table, "a").value_or("") == "2");
    BOOST_TEST(!w.insert(table, "a", "3"));
    BOOST_TEST(w.get(table, "a").value_or("") == "2");
    BOOST_TEST(w.insert(table, "b", std::string_view("\0x", 2)));
    BOOST_TEST(w.erase(table, "a"));
    BOOST_TEST(!w.erase(table, "a"));
    w.commit();
    BOOST_CHECK_EXCEPTION(w.put(table, "c", "late"), storage::error, has_code(errc::storage_unavailable));

    read_txn r = env.begin_read();
    BOOST_TEST(!r.get(table, "a").has_value());
    BOOST_TEST((r.get(table, "b").value_or("") == std::string_view("\0x", 2)));
}

BOOST_AUTO_TEST_CASE(empty_key_is_invalid_input) {
    environment env(opts);
    write_txn w = env.begin_write();
    BOOST_CHECK_EXCEPTION(w.put(env.dbs().sessions, "", "v"), storage::error, has_code(errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(uncommitted_write_is_aborted_on_destruction) {
    environment env(opts);
    {
        write_txn w = env.begin_write();
        w.put(env.dbs().codes, "gone", "x");
    }
    {
        write_txn moved_from = env.begin_write();
        write_txn w = std::move(moved_from);  // only the owner aborts
        w.put(env.dbs().codes, "kept", "y");
        w.commit();
    }
    read_txn r = env.begin_read();
    BOOST_TEST(!r.get(env.dbs().codes, "gone").has_value());
    BOOST_TEST(r.get(env.dbs().codes, "kept").has_value());
}

BOOST_AUTO_TEST_CASE(prefix_and_range_iteration) {
    environment env(opts);
    const MDB_dbi table = env.dbs().counters;
    write_txn w = env.begin_write();
    for (const char* key : {"a1", "b1", "b2", "b3", "c1"}) w.put(table, key, key);
    w.commit();

    read_txn r = env.begin_read();
    std::vector<std::string> keys;
    r.for_each_prefix(table, "b", [&](std::string_view key, std::string_view value) {
        BOOST_TEST(key == value);
        keys.emplace_back(key);
        return true;
    });
    BOOST_TEST((keys == std::vector<std::string>{"b1", "b2", "b3"}));

    keys.clear();
    r.for_each_from(table, "b2", [&](std::string_view key, std::string_view) {
        keys.emplace_back(key);
        return keys.size() < 2;
    });
    BOOST_TEST((keys == std::vector<std::string>{"b2", "b3"}));

    std::size_t all = 0;
    r.for_each_prefix(table, "", [&](std::string_view, std::string_view) { return ++all, true; });
    BOOST_TEST(all == 5u);
}

BOOST_AUTO_TEST_CASE(readers_full_names_the_setting) {
    opts.max_readers = 1;  // LMDB rounds the reader table up to fill its pages
    environment env(opts);
    std::vector<read_txn> readers;
    bool full = false;
    for (int i = 0; i < 100000 && !full; ++i) {
        try {
            readers.push_back(env.begin_read());
        } catch (const storage::error& e) {
            full = true;
            BOOST_TEST((e.code() == errc::storage_unavailable));
            BOOST_TEST(contains(e.what(), "storage.max_readers"), e.what());
            BOOST_TEST(e.lmdb_code() == MDB_READERS_FULL);
        }
    }
    BOOST_TEST(full);
    readers.clear();
    BOOST_CHECK_NO_THROW(env.begin_read());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(account_suite, storage_fixture)

BOOST_AUTO_TEST_CASE(account_round_trip_with_every_field) {
    environment env(opts);
    const account a = sample_account();
    {
        write_txn w = env.begin_write();
        BOOST_TEST(insert_account(w, a));
        BOOST_TEST(!insert_account(w, a));
        w.commit();
    }
    {
        read_txn r = env.begin_read();
        const std::optional<account> got = get_account(r, a.portal, a.selfcare_id);
        BOOST_REQUIRE(got.has_value());
        check_same(*got, a);
        BOOST_TEST(!get_account(r, a.portal, "someone else").has_value());
        BOOST_TEST(!get_account(r, "mc050", a.selfcare_id).has_value());
    }
    account changed = a;
    changed.email = "yamada@example.jp";
    changed.password_locked = false;
    changed.address_form_locked = true;
    changed.phone_strikes = 3;
    {
        write_txn w = env.begin_write();
        put_account(w, changed);
        w.commit();
    }
    {
        read_txn r = env.begin_read();
        check_same(get_account(r, a.portal, a.selfcare_id).value(), changed);
    }
    write_txn w = env.begin_write();
    BOOST_TEST(erase_account(w, a.portal, a.selfcare_id));
    BOOST_TEST(!erase_account(w, a.portal, a.selfcare_id));
    BOOST_TEST(!get_account(w, a.portal, a.selfcare_id).has_value());
}

BOOST_AUTO_TEST_CASE(portal_with_nul_is_invalid_input) {
    environment env(opts);
    account a = sample_account();
    a.portal = std::string("ip\0phone", 8);
    write_txn w = env.begin_write();
    BOOST_CHECK_EXCEPTION(put_account(w, a), storage::error, has_code(errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(for_each_account_by_portal) {
    environment env(opts);
    {
        write_txn w = env.begin_write();
        for (const char* portal : {"mc05", "mc050", "ip-phone"}) {
            for (const char* id : {"1", "2", "3"}) {
                account a = sample_account();
                a.portal = portal;
                a.selfcare_id = id;
                put_account(w, a);
            }
        }
        w.commit();
    }
    read_txn r = env.begin_read();
    std::vector<std::string> ids;
    for_each_account(r, "mc05", [&](const account& a) {
        BOOST_TEST(a.portal == "mc05");  // not mc050
        ids.push_back(a.selfcare_id);
        return true;
    });
    BOOST_TEST((ids == std::vector<std::string>{"1", "2", "3"}));

    std::size_t all = 0;
    for_each_account(r, "", [&](const account&) { return ++all, true; });
    BOOST_TEST(all == 9u);

    std::size_t until_stop = 0;
    for_each_account(r, "mc050", [&](const account&) { return ++until_stop < 2; });
    BOOST_TEST(until_stop == 2u);

    std::size_t none = 0;
    for_each_account(r, "freevoice", [&](const account&) { return ++none, true; });
    BOOST_TEST(none == 0u);
}

BOOST_AUTO_TEST_CASE(malformed_account_value_is_storage_corrupt) {
    const account a = sample_account();
    const std::string key = account_key(a.portal, a.selfcare_id);
    const std::string good = encode_account(a);
    check_same(decode_account(key, good), a);

    for (std::size_t length = 0; length < good.size(); ++length) {
        BOOST_CHECK_EXCEPTION(decode_account(key, good.substr(0, length)), storage::error,
                              has_code(errc::storage_corrupt));
    }
    BOOST_CHECK_EXCEPTION(decode_account(key, good + "x"), storage::error, has_code(errc::storage_corrupt));
    std::string other_version = good;
    other_version[0] = 99;
    BOOST_CHECK_EXCEPTION(decode_account(key, other_version), storage::error, has_code(errc::storage_corrupt));
    BOOST_CHECK_EXCEPTION(decode_account("no-separator", good), storage::error, has_code(errc::storage_corrupt));

    // The same through the table: a short stored value reads as corrupt, not as garbage.
    environment env(opts);
    write_txn w = env.begin_write();
    w.put(w.dbs().accounts, key, good.substr(0, good.size() / 2));
    BOOST_CHECK_EXCEPTION(get_account(w, a.portal, a.selfcare_id), storage::error,
                          has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(codec_suite)

BOOST_AUTO_TEST_CASE(integers_sort_numerically_as_bytes) {
    std::vector<std::int64_t> numbers{INT64_MIN, -70000, -1, 0, 1, 255, 256, 70000, INT64_MAX};
    std::string previous;
    for (std::int64_t n : numbers) {
        std::string encoded;
        append_i64_be(encoded, n);
        BOOST_TEST(encoded.size() == 8u);
        BOOST_TEST(read_i64_be(encoded) == n);
        if (!previous.empty()) BOOST_TEST((previous < encoded), n);
        previous = encoded;
    }
    std::string u;
    append_u64_be(u, 0x0102030405060708u);
    BOOST_TEST((u == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)));
    BOOST_TEST(read_u64_be(u) == 0x0102030405060708u);
    BOOST_CHECK_EXCEPTION(read_u64_be("1234567"), storage::error, has_code(errc::storage_corrupt));
    BOOST_CHECK_EXCEPTION(read_u32_be("123"), storage::error, has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_CASE(value_reader_checks_every_size) {
    const std::string bytes = value_writer(3).str("hello").u32(7).boolean(true).take();
    value_reader in(bytes, "test value");
    BOOST_TEST(in.format_version() == 3);
    BOOST_TEST(in.str() == "hello");
    BOOST_TEST(in.u32() == 7u);
    BOOST_TEST(in.boolean());
    BOOST_CHECK_NO_THROW(in.expect_end());
    BOOST_CHECK_EXCEPTION(in.u8(), storage::error, has_code(errc::storage_corrupt));

    // A string length that points past the end.
    std::string lying(1, '\x01');
    append_u32_be(lying, 1000);
    lying += "short";
    value_reader liar(lying, "test value");
    BOOST_CHECK_EXCEPTION(liar.str(), storage::error, has_code(errc::storage_corrupt));

    BOOST_CHECK_EXCEPTION(value_reader("", "test value"), storage::error, has_code(errc::storage_corrupt));
    value_reader bad_bool(std::string_view("\x01\x02", 2), "test value");
    BOOST_CHECK_EXCEPTION(bad_bool.boolean(), storage::error, has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_CASE(key_layouts) {
    BOOST_TEST((account_key("mc050", "id") == std::string("mc050\0id", 8)));
    const auto [portal, id] = split_account_key(std::string_view("mc050\0i\0d", 9));
    BOOST_TEST(portal == "mc050");
    BOOST_TEST((id == std::string_view("i\0d", 3)));
    BOOST_TEST(counter_key("pw", "x", 1).size() == 2 + 1 + 1 + 1 + 8u);
    BOOST_TEST((outbox_key(0, 5, 1) < outbox_key(0, 6, 0)));
    BOOST_TEST((outbox_key(0, 6, 0) < outbox_key(1, 0, 0)));
    BOOST_CHECK_EXCEPTION(counter_key(std::string_view("p\0w", 3), "x", 1), storage::error,
                          has_code(errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(lmdb_errors_name_the_call_and_the_fix) {
    try {
        throw_lmdb(MDB_MAP_FULL, "mdb_put(sessions)");
    } catch (const storage::error& e) {
        BOOST_TEST((e.code() == errc::storage_full));
        BOOST_TEST(contains(e.what(), "mdb_put(sessions)"), e.what());
        BOOST_TEST(contains(e.what(), mdb_strerror(MDB_MAP_FULL)), e.what());
        BOOST_TEST(contains(e.what(), "raise storage.map_size_mib"), e.what());
    }
    BOOST_TEST((classify_lmdb(MDB_READERS_FULL) == errc::storage_unavailable));
    BOOST_TEST((classify_lmdb(MDB_VERSION_MISMATCH) == errc::storage_corrupt));
    BOOST_TEST((classify_lmdb(MDB_CORRUPTED) == errc::storage_corrupt));
    BOOST_TEST((classify_lmdb(EIO) == errc::storage_unavailable));
    BOOST_TEST((classify_lmdb(ENOSPC) == errc::storage_unavailable));
    BOOST_TEST((classify_lmdb(EACCES) == errc::storage_unavailable));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(expiry_suite, storage_fixture)

BOOST_AUTO_TEST_CASE(get_live_hides_expired_entries_before_any_sweep) {
    environment env(opts);
    const MDB_dbi table = env.dbs().sessions;
    write_txn w = env.begin_write();
    put_expiring(w, table, "s1", "payload", 1000);
    BOOST_TEST(get_live(w, table, "s1", 999).value_or("") == "payload");
    BOOST_TEST(!get_live(w, table, "s1", 1000).has_value());
    BOOST_TEST(!get_live(w, table, "s1", 5000).has_value());
    BOOST_TEST(!get_live(w, table, "absent", 0).has_value());
    const std::optional<expiring_value> raw = get_expiring(w, table, "s1");
    BOOST_REQUIRE(raw.has_value());
    BOOST_TEST(raw->expires_at == 1000);
    BOOST_TEST(raw->payload == "payload");
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);

    BOOST_CHECK_EXCEPTION(put_expiring(w, env.dbs().meta, "k", "v", 1), storage::error,
                          has_code(errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(sweep_removes_due_entries_only) {
    environment env(opts);
    const tables& dbs = env.dbs();
    {
        write_txn w = env.begin_write();
        put_expiring(w, dbs.sessions, "early", "1", 100);
        put_expiring(w, dbs.codes, std::string("mc050\0id", 8), "2", 200);
        put_expiring(w, dbs.counters, "edge", "3", 300);
        put_expiring(w, dbs.sessions, "late", "4", 400);
        put_expiring(w, dbs.outbox, "negative", "5", -10);
        w.put(dbs.sessions, "plain", "not expiring");
        w.commit();
    }
    write_txn w = env.begin_write();
    BOOST_TEST(sweep_expired(w, 50, 100) == 1u);  // only "negative"
    BOOST_TEST(sweep_expired(w, 300, 100) == 3u);  // expires_at == now is due
    BOOST_TEST(!w.get(dbs.sessions, "early").has_value());
    BOOST_TEST(!w.get(dbs.codes, std::string("mc050\0id", 8)).has_value());
    BOOST_TEST(!w.get(dbs.counters, "edge").has_value());
    BOOST_TEST(w.get(dbs.sessions, "late").has_value());
    BOOST_TEST(w.get(dbs.sessions, "plain").has_value());
    BOOST_TEST(w.entries(dbs.expiry) == 1u);
    BOOST_TEST(sweep_expired(w, 300, 100) == 0u);
}

BOOST_AUTO_TEST_CASE(sweep_work_is_bounded) {
    environment env(opts);
    write_txn w = env.begin_write();
    for (int i = 0; i < 10; ++i) put_expiring(w, env.dbs().sessions, "k" + std::to_string(i), "v", i);
    BOOST_TEST(sweep_expired(w, 100, 4) == 4u);
    BOOST_TEST(sweep_expired(w, 100, 4) == 4u);
    BOOST_TEST(sweep_expired(w, 100, 4) == 2u);
    BOOST_TEST(w.entries(env.dbs().sessions) == 0u);
    BOOST_TEST(w.entries(env.dbs().expiry) == 0u);
}

BOOST_AUTO_TEST_CASE(rewritten_key_survives_its_stale_index_entry) {
    environment env(opts);
    const MDB_dbi table = env.dbs().sessions;
    write_txn w = env.begin_write();
    put_expiring(w, table, "k", "old", 100);
    put_expiring(w, table, "k", "new", 500);
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);  // the old index entry went at once

    // An index entry left behind anyway (as if written by an older build): the sweep drops it
    // but keeps the key, whose header says 500.
    w.put(env.dbs().expiry, expiry_key(100, table_id::sessions, "k"), {});
    BOOST_TEST(sweep_expired(w, 200, 100) == 0u);
    BOOST_TEST(get_live(w, table, "k", 200).value_or("") == "new");
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);
    BOOST_TEST(sweep_expired(w, 500, 100) == 1u);
    BOOST_TEST(!w.get(table, "k").has_value());
}

BOOST_AUTO_TEST_CASE(erase_expiring_removes_the_index_entry) {
    environment env(opts);
    write_txn w = env.begin_write();
    put_expiring(w, env.dbs().codes, "k", "v", 100);
    BOOST_TEST(erase_expiring(w, env.dbs().codes, "k"));
    BOOST_TEST(!erase_expiring(w, env.dbs().codes, "k"));
    BOOST_TEST(w.entries(env.dbs().expiry) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(map_full_suite, storage_fixture)

// Fills a top-level txn with `chunk`-sized values until LMDB says the map is full.
void write_until_full(write_txn& w, MDB_dbi table, const std::string& prefix) {
    const std::string chunk(4000, 'x');
    for (int i = 0; i < 100000; ++i) w.put(table, prefix + std::to_string(i), chunk);
    // Not BOOST_FAIL: this also runs on the writer thread, where Boost.Test must not be used.
    throw std::runtime_error("the map never filled up");
}

BOOST_AUTO_TEST_CASE(full_map_is_storage_full_and_the_env_stays_usable) {
    opts.map_size_bytes = 1 * mib;
    environment env(opts);
    // Commit in small steps so the map really fills with committed data.
    const std::string chunk(4000, 'x');
    bool full = false;
    int committed = 0;
    for (int i = 0; i < 10000 && !full; ++i) {
        try {
            write_txn w = env.begin_write();
            w.put(env.dbs().outbox, "m" + std::to_string(i), chunk);
            w.commit();
            ++committed;
        } catch (const storage::error& e) {
            full = true;
            BOOST_TEST((e.code() == errc::storage_full), e.what());
            BOOST_TEST(contains(e.what(), "raise storage.map_size_mib"), e.what());
        }
    }
    BOOST_REQUIRE(full);
    BOOST_TEST(committed > 10);

    {
        read_txn r = env.begin_read();
        BOOST_TEST(r.entries(env.dbs().outbox) == static_cast<std::size_t>(committed));
        BOOST_TEST(r.get(env.dbs().outbox, "m0").has_value());
    }  // an open reader would pin the pages the deletes below must reuse

    // A map this full may not even have the pages a delete needs for copy-on-write, so the fix
    // is the one the message names: reopen with a larger map. LMDB grows the file in place.
    int deleted = 0;
    try {
        write_txn w = env.begin_write();
        w.erase(env.dbs().outbox, "m1");
        w.commit();
        deleted = 1;
    } catch (const storage::error& e) {
        BOOST_TEST((e.code() == errc::storage_full), e.what());
    }
    BOOST_TEST_MESSAGE("delete on a full map " << (deleted ? "worked" : "failed with storage_full"));
}

BOOST_AUTO_TEST_CASE(a_larger_map_on_reopen_makes_room) {
    opts.map_size_bytes = 1 * mib;
    int committed = 0;
    {
        environment env(opts);
        try {
            for (; committed < 10000; ++committed) {
                write_txn w = env.begin_write();
                w.put(env.dbs().outbox, "m" + std::to_string(committed), std::string(4000, 'x'));
                w.commit();
            }
        } catch (const storage::error& e) {
            BOOST_TEST((e.code() == errc::storage_full), e.what());
        }
    }
    opts.map_size_bytes = 2 * mib;
    environment env(opts);
    BOOST_TEST(env.stats().map_bytes == 2 * mib);
    {
        write_txn w = env.begin_write();
        w.put(env.dbs().outbox, "after", std::string(4000, 'y'));
        BOOST_CHECK_NO_THROW(w.commit());
    }
    read_txn r = env.begin_read();
    BOOST_TEST(r.entries(env.dbs().outbox) == static_cast<std::size_t>(committed) + 1);
}

BOOST_AUTO_TEST_CASE(full_map_in_a_child_leaves_the_parent_usable) {
    opts.map_size_bytes = 1 * mib;
    environment env(opts);
    write_txn parent = env.begin_write();
    parent.put(env.dbs().sessions, "before", "1");
    {
        write_txn child = parent.nested();
        BOOST_CHECK_EXCEPTION(write_until_full(child, env.dbs().sessions, "big"), storage::error,
                              has_code(errc::storage_full));
    }  // child aborted here
    parent.put(env.dbs().sessions, "after", "2");
    {
        write_txn child = parent.nested();
        child.put(env.dbs().sessions, "child", "3");
        child.commit();
    }
    parent.commit();

    read_txn r = env.begin_read();
    BOOST_TEST(r.get(env.dbs().sessions, "before").has_value());
    BOOST_TEST(r.get(env.dbs().sessions, "after").has_value());
    BOOST_TEST(r.get(env.dbs().sessions, "child").has_value());
    BOOST_TEST(!r.get(env.dbs().sessions, "big0").has_value());
    BOOST_TEST(r.entries(env.dbs().sessions) == 3u);
}

BOOST_AUTO_TEST_CASE(writer_fails_only_the_item_that_filled_the_map) {
    opts.map_size_bytes = 1 * mib;
    environment env(opts);
    std::promise<std::error_code> big_result;
    std::promise<std::error_code> small_result;
    {
        writer w(env, 64, 100);
        writer_gate gate;
        gate.close(w);  // so both items land in the same batch
        BOOST_REQUIRE(w.submit([&](write_txn& t) { write_until_full(t, t.dbs().sessions, "big"); },
                               [&](std::error_code ec) { big_result.set_value(ec); }));
        BOOST_REQUIRE(w.submit([](write_txn& t) { t.put(t.dbs().sessions, "small", "ok"); },
                               [&](std::error_code ec) { small_result.set_value(ec); }));
        const std::uint64_t commits_before = w.commits();
        gate.open();
        w.stop();
        BOOST_TEST(w.commits() == commits_before + 2);  // the gate's batch, then big + small
    }
    BOOST_TEST((big_result.get_future().get() == errc::storage_full));
    BOOST_TEST(!small_result.get_future().get());

    read_txn r = env.begin_read();
    BOOST_TEST(r.get(env.dbs().sessions, "small").value_or("") == "ok");
    BOOST_TEST(!r.get(env.dbs().sessions, "big0").has_value());

    // A new writer on the same environment still works.
    writer again(env, 8, 8);
    std::promise<std::error_code> later;
    BOOST_REQUIRE(again.submit([](write_txn& t) { t.put(t.dbs().sessions, "later", "ok"); },
                               [&](std::error_code ec) { later.set_value(ec); }));
    BOOST_TEST(!later.get_future().get());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(writer_suite, storage_fixture)

BOOST_AUTO_TEST_CASE(many_threads_group_commit_every_item) {
    opts.durability = durability_mode::full_sync;
    environment env(opts);
    constexpr int thread_count = 4;
    constexpr int per_thread = 250;
    std::atomic<int> succeeded{0};
    std::atomic<int> failed{0};
    {
        writer w(env, 256, 2000);
        writer_gate gate;
        gate.close(w);  // the first items queue up behind it, so grouping is certain
        std::vector<std::thread> threads;
        std::promise<void> go;
        std::shared_future<void> started = go.get_future().share();
        for (int t = 0; t < thread_count; ++t) {
            threads.emplace_back([&, t] {
                started.wait();
                for (int i = 0; i < per_thread; ++i) {
                    const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
                    const bool queued = w.submit([key](write_txn& txn) { txn.put(txn.dbs().counters, key, key); },
                                                 [&](std::error_code ec) { ++(ec ? failed : succeeded); });
                    if (!queued) ++failed;
                }
            });
        }
        go.set_value();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        gate.open();
        for (std::thread& t : threads) t.join();
        w.stop();
        BOOST_TEST(w.items() == static_cast<std::uint64_t>(thread_count * per_thread + 1));
        BOOST_TEST(w.commits() < static_cast<std::uint64_t>(thread_count * per_thread));
        BOOST_TEST_MESSAGE("1000 items in " << w.commits() << " commits");
        // One observation per commit, of its item count; the gate held items back, so some commit
        // took more than one.
        const auto& sizes = w.batch_sizes();
        BOOST_TEST(sizes.count() == w.commits());
        BOOST_TEST(sizes.sum() == static_cast<double>(w.items()));
        BOOST_TEST(sizes.buckets().front().second < sizes.count());  // le="1"
    }
    BOOST_TEST(succeeded.load() == thread_count * per_thread);
    BOOST_TEST(failed.load() == 0);

    read_txn r = env.begin_read();
    BOOST_TEST(r.entries(env.dbs().counters) == static_cast<std::size_t>(thread_count * per_thread));
    for (int t = 0; t < thread_count; ++t) {
        for (int i = 0; i < per_thread; ++i) {
            const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
            BOOST_TEST(r.get(env.dbs().counters, key).value_or("") == key);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_throwing_item_loses_only_its_own_changes) {
    environment env(opts);
    std::vector<std::error_code> results(3);
    {
        writer w(env, 16, 16);
        writer_gate gate;
        gate.close(w);
        w.submit(
            [](write_txn& t) {
                t.put(t.dbs().sessions, "a", "1");
                throw storage::error(errc::already_exists, "test");
            },
            [&](std::error_code ec) { results[0] = ec; });
        w.submit(
            [](write_txn& t) {
                t.put(t.dbs().sessions, "b", "2");
                throw std::runtime_error("not a system_error");
            },
            [&](std::error_code ec) { results[1] = ec; });
        w.submit([](write_txn& t) { t.put(t.dbs().sessions, "c", "3"); },
                 [&](std::error_code ec) { results[2] = ec; });
        gate.open();
    }  // the destructor drains the queue
    BOOST_TEST((results[0] == errc::already_exists));
    BOOST_TEST((results[1] == errc::storage_unavailable));
    BOOST_TEST(!results[2]);
    read_txn r = env.begin_read();
    BOOST_TEST(!r.get(env.dbs().sessions, "a").has_value());
    BOOST_TEST(!r.get(env.dbs().sessions, "b").has_value());
    BOOST_TEST(r.get(env.dbs().sessions, "c").has_value());
}

BOOST_AUTO_TEST_CASE(submit_after_stop_is_refused) {
    environment env(opts);
    writer w(env, 4, 4);
    bool ran = false;
    BOOST_TEST(w.submit([&](write_txn&) { ran = true; }, nullptr));
    w.stop();
    BOOST_TEST(ran);  // stop() ran what was queued
    bool called = false;
    BOOST_TEST(!w.submit([](write_txn&) {}, [&](std::error_code) { called = true; }));
    w.stop();  // idempotent
    BOOST_TEST(!called);
}

BOOST_AUTO_TEST_CASE(full_queue_is_refused) {
    environment env(opts);
    writer w(env, 2, 3);
    writer_gate gate;
    gate.close(w);
    std::atomic<int> done_calls{0};
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(w.submit([](write_txn&) {}, [&](std::error_code) { ++done_calls; }));
    }
    BOOST_TEST(w.queue_depth() == 3u);
    bool refused_called = false;
    BOOST_TEST(!w.submit([](write_txn&) {}, [&](std::error_code) { refused_called = true; }));
    gate.open();
    w.stop();
    BOOST_TEST(done_calls.load() == 3);
    BOOST_TEST(!refused_called);
    BOOST_TEST(w.queue_depth() == 0u);
}

BOOST_AUTO_TEST_CASE(stop_from_a_completion_does_not_deadlock) {
    environment env(opts);
    writer w(env, 4, 4);
    std::promise<void> stopped;
    BOOST_TEST(w.submit([](write_txn&) {}, [&](std::error_code) {
        w.stop();
        stopped.set_value();
    }));
    stopped.get_future().wait();
    BOOST_TEST(!w.submit([](write_txn&) {}, nullptr));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(process_suite, storage_fixture)

// The CLI writes to the folder the server holds open. LMDB forbids a second environment on the
// same folder inside one process, so the second writer is a forked child with its own one.
BOOST_AUTO_TEST_CASE(another_process_writes_while_this_one_holds_the_folder) {
    opts.durability = durability_mode::full_sync;
    environment env(opts);
    read_txn before = env.begin_read();

    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        // No Boost.Test and no destructors of the parent's objects in here: just exit.
        int status = 1;
        try {
            environment own(opts);
            write_txn w = own.begin_write();
            put_account(w, sample_account());
            w.commit();
            status = 0;
        } catch (...) {
        }
        ::_exit(status);
    }
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_REQUIRE(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);

    const account a = sample_account();
    BOOST_TEST(!get_account(before, a.portal, a.selfcare_id).has_value());  // snapshot
    read_txn after = env.begin_read();
    const std::optional<account> got = get_account(after, a.portal, a.selfcare_id);
    BOOST_REQUIRE(got.has_value());
    check_same(*got, a);

    // And this process can still write after the child released the lock.
    write_txn w = env.begin_write();
    w.put(env.dbs().meta, "parent", "1");
    BOOST_CHECK_NO_THROW(w.commit());
}

BOOST_AUTO_TEST_SUITE_END()
