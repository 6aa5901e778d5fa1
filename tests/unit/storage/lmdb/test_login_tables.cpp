#define BOOST_TEST_MODULE login_tables
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "nidan_test/temp_dir.hpp"
#include "storage/lmdb/code_table.hpp"
#include "storage/lmdb/codec.hpp"
#include "storage/lmdb/counter_table.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/expiry.hpp"
#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/secret.hpp"
#include "storage/lmdb/session_table.hpp"

using namespace nidan;
using namespace nidan::storage;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;
constexpr std::int64_t now = 1'700'000'000;

struct tables_fixture {
    nidan_test::temp_dir tmp;
    options opts{tmp.path() / "data", 16 * mib, 126, durability_mode::no_sync};
};

auto has_code(errc expected) {
    return [expected](const storage::error& e) { return e.code() == expected; };
}

// 32 bytes with a NUL and high bytes in them, as a real digest has.
std::string hash_of(char seed) {
    std::string h(32, seed);
    h[3] = '\0';
    h[31] = '\xff';
    return h;
}

session_record sample_session() {
    session_record s;
    s.portal = "ip-phone";
    s.selfcare_id = "山田\x01id";
    s.state = session_state::authenticated;
    s.created_at = now - 100;
    s.last_seen = -7;  // a negative time must survive the sign-flipped encoding
    s.idle_expires_at = now + 600;
    s.absolute_expires_at = now + 3600;
    s.csrf_secret = std::string("csrf\0secret", 11);
    s.credential_epoch = 0x8000000000000001ull;  // the top bit must survive too
    return s;
}

void check_same(const session_record& got, const session_record& want) {
    BOOST_TEST(got.portal == want.portal);
    BOOST_TEST(got.selfcare_id == want.selfcare_id);
    BOOST_TEST((got.state == want.state));
    BOOST_TEST(got.created_at == want.created_at);
    BOOST_TEST(got.last_seen == want.last_seen);
    BOOST_TEST(got.idle_expires_at == want.idle_expires_at);
    BOOST_TEST(got.absolute_expires_at == want.absolute_expires_at);
    BOOST_TEST(got.csrf_secret == want.csrf_secret);
    BOOST_TEST(got.credential_epoch == want.credential_epoch);
}

code_record sample_code() {
    code_record c;
    c.mac = std::string(32, '\xab');
    c.mac[0] = '\0';
    c.issued_at = now - 10;
    c.expires_at = now + 300;
    c.attempts_left = 5;
    c.target_email = "user@example.jp";
    c.purpose = code_purpose::address_change;
    c.session_hash = hash_of('s');
    return c;
}

void check_same(const code_record& got, const code_record& want) {
    BOOST_TEST(got.mac == want.mac);
    BOOST_TEST(got.issued_at == want.issued_at);
    BOOST_TEST(got.expires_at == want.expires_at);
    BOOST_TEST(got.attempts_left == want.attempts_left);
    BOOST_TEST(got.target_email == want.target_email);
    BOOST_TEST((got.purpose == want.purpose));
    BOOST_TEST(got.session_hash == want.session_hash);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(secret_suite, tables_fixture)

BOOST_AUTO_TEST_CASE(created_once_and_stable_across_txns_and_reopen) {
    std::string first;
    {
        environment env(opts);
        {
            read_txn r = env.begin_read();
            BOOST_TEST(!get_secret(r, meta_server_secret).has_value());
        }
        write_txn w = env.begin_write();
        first = get_or_create_secret(w, meta_server_secret, 32);
        BOOST_TEST(first.size() == 32u);
        BOOST_TEST(get_or_create_secret(w, meta_server_secret, 32) == first);
        w.commit();

        write_txn w2 = env.begin_write();
        BOOST_TEST(get_or_create_secret(w2, meta_server_secret, 32) == first);
        // Another name gets its own secret.
        BOOST_TEST(get_or_create_secret(w2, "other_secret", 32) != first);
        w2.commit();
    }
    environment env(opts);
    read_txn r = env.begin_read();
    BOOST_TEST((get_secret(r, meta_server_secret) == std::optional<std::string>(first)));
}

BOOST_AUTO_TEST_CASE(aborted_creation_leaves_nothing) {
    environment env(opts);
    {
        write_txn w = env.begin_write();
        get_or_create_secret(w, meta_server_secret, 32);
    }
    read_txn r = env.begin_read();
    BOOST_TEST(!get_secret(r, meta_server_secret).has_value());
}

BOOST_AUTO_TEST_CASE(size_mismatch_is_corrupt_and_bad_arguments_are_refused) {
    environment env(opts);
    write_txn w = env.begin_write();
    get_or_create_secret(w, meta_server_secret, 32);
    BOOST_CHECK_EXCEPTION(get_or_create_secret(w, meta_server_secret, 64), storage::error,
                          has_code(errc::storage_corrupt));
    w.put(env.dbs().meta, "short", "abc");
    BOOST_CHECK_EXCEPTION(get_or_create_secret(w, "short", 32), storage::error, has_code(errc::storage_corrupt));
    BOOST_CHECK_EXCEPTION(get_or_create_secret(w, "x", 0), storage::error, has_code(errc::invalid_input));
    BOOST_CHECK_EXCEPTION(get_or_create_secret(w, "", 32), storage::error, has_code(errc::invalid_input));
    BOOST_CHECK_EXCEPTION(get_or_create_secret(w, meta_schema_version, 4), storage::error,
                          has_code(errc::invalid_input));
    BOOST_CHECK_EXCEPTION(get_or_create_secret(w, meta_outbox_seq, 8), storage::error,
                          has_code(errc::invalid_input));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(session_suite, tables_fixture)

BOOST_AUTO_TEST_CASE(round_trip_of_every_field) {
    environment env(opts);
    const session_record s = sample_session();
    {
        write_txn w = env.begin_write();
        put_session(w, hash_of('a'), s);
        w.commit();
    }
    read_txn r = env.begin_read();
    const std::optional<session_record> got = get_session(r, hash_of('a'), now);
    BOOST_REQUIRE(got.has_value());
    check_same(*got, s);
    BOOST_TEST(!get_session(r, hash_of('b'), now).has_value());

    // The other state and an epoch of 0 round-trip too.
    session_record pending = s;
    pending.state = session_state::code_pending;
    pending.credential_epoch = 0;
    BOOST_TEST(encode_session(decode_session(encode_session(pending))) == encode_session(pending));
    check_same(decode_session(encode_session(pending)), pending);
}

BOOST_AUTO_TEST_CASE(stored_with_the_earlier_expiry) {
    environment env(opts);
    write_txn w = env.begin_write();
    session_record s = sample_session();
    put_session(w, hash_of('a'), s);
    std::optional<expiring_value> stored = get_expiring(w, env.dbs().sessions, hash_of('a'));
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST(stored->expires_at == s.idle_expires_at);

    s.absolute_expires_at = s.idle_expires_at - 1;
    put_session(w, hash_of('a'), s);
    stored = get_expiring(w, env.dbs().sessions, hash_of('a'));
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST(stored->expires_at == s.absolute_expires_at);
}

BOOST_AUTO_TEST_CASE(idle_and_absolute_expiry_hide_it) {
    environment env(opts);
    write_txn w = env.begin_write();
    session_record idle = sample_session();  // idle ends first
    put_session(w, hash_of('i'), idle);
    session_record absolute = sample_session();
    absolute.idle_expires_at = now + 600;
    absolute.absolute_expires_at = now + 60;  // absolute ends first
    put_session(w, hash_of('x'), absolute);

    BOOST_TEST(get_session(w, hash_of('i'), idle.idle_expires_at - 1).has_value());
    BOOST_TEST(!get_session(w, hash_of('i'), idle.idle_expires_at).has_value());
    BOOST_TEST(get_session(w, hash_of('x'), absolute.absolute_expires_at - 1).has_value());
    BOOST_TEST(!get_session(w, hash_of('x'), absolute.absolute_expires_at).has_value());
    BOOST_TEST(!get_session(w, hash_of('x'), absolute.idle_expires_at + 1).has_value());
}

BOOST_AUTO_TEST_CASE(touching_extends_the_idle_expiry) {
    environment env(opts);
    write_txn w = env.begin_write();
    session_record s = sample_session();
    put_session(w, hash_of('a'), s);
    s.last_seen = s.idle_expires_at - 1;
    s.idle_expires_at += 600;
    put_session(w, hash_of('a'), s);
    BOOST_TEST(get_session(w, hash_of('a'), s.idle_expires_at - 1).has_value());
    // The old expiry's index entry is gone, so sweeping at that time keeps the session.
    BOOST_TEST(sweep_expired(w, s.idle_expires_at - 600, 100) == 0u);
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);
}

BOOST_AUTO_TEST_CASE(sweep_removes_it) {
    environment env(opts);
    write_txn w = env.begin_write();
    const session_record s = sample_session();
    put_session(w, hash_of('a'), s);
    BOOST_TEST(sweep_expired(w, s.idle_expires_at - 1, 100) == 0u);
    BOOST_TEST(w.entries(env.dbs().sessions) == 1u);
    BOOST_TEST(sweep_expired(w, s.idle_expires_at, 100) == 1u);
    BOOST_TEST(w.entries(env.dbs().sessions) == 0u);
    BOOST_TEST(w.entries(env.dbs().expiry) == 0u);
    BOOST_TEST(!erase_session(w, hash_of('a')));
}

BOOST_AUTO_TEST_CASE(erase) {
    environment env(opts);
    write_txn w = env.begin_write();
    put_session(w, hash_of('a'), sample_session());
    put_session(w, hash_of('b'), sample_session());
    BOOST_TEST(erase_session(w, hash_of('a')));
    BOOST_TEST(!erase_session(w, hash_of('a')));
    BOOST_TEST(!get_session(w, hash_of('a'), now).has_value());
    BOOST_TEST(get_session(w, hash_of('b'), now).has_value());
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);
}

BOOST_AUTO_TEST_CASE(bad_hash_size_and_state_are_refused) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::string short_hash(31, 'a');
    const std::string long_hash(33, 'a');
    for (const std::string& bad : {short_hash, long_hash, std::string()}) {
        BOOST_CHECK_EXCEPTION(put_session(w, bad, sample_session()), storage::error, has_code(errc::invalid_input));
        BOOST_CHECK_EXCEPTION(get_session(w, bad, now), storage::error, has_code(errc::invalid_input));
        BOOST_CHECK_EXCEPTION(erase_session(w, bad), storage::error, has_code(errc::invalid_input));
    }
    session_record s = sample_session();
    s.state = static_cast<session_state>(3);
    BOOST_CHECK_EXCEPTION(put_session(w, hash_of('a'), s), storage::error, has_code(errc::invalid_input));
    BOOST_TEST(w.entries(env.dbs().sessions) == 0u);
}

BOOST_AUTO_TEST_CASE(corrupt_values) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::string good = encode_session(sample_session());
    const auto corrupt_with = [&](const std::string& payload) {
        put_expiring(w, env.dbs().sessions, hash_of('c'), payload, now + 60);
        BOOST_CHECK_EXCEPTION(get_session(w, hash_of('c'), now), storage::error, has_code(errc::storage_corrupt));
    };
    corrupt_with(good.substr(0, good.size() - 1));  // truncated
    corrupt_with(good + "x");                       // trailing bytes
    corrupt_with(std::string(1, '\x03') + good.substr(1));  // unknown format
    std::string bad_state = good;
    const session_record s = sample_session();
    bad_state[1 + 4 + s.portal.size() + 4 + s.selfcare_id.size()] = '\x07';  // the state byte
    corrupt_with(bad_state);
    w.put(env.dbs().sessions, hash_of('d'), "short");  // no expiry header
    BOOST_CHECK_EXCEPTION(get_session(w, hash_of('d'), now), storage::error, has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(code_suite, tables_fixture)

BOOST_AUTO_TEST_CASE(round_trip_of_every_field) {
    environment env(opts);
    const code_record c = sample_code();
    {
        write_txn w = env.begin_write();
        put_code(w, "ip-phone", "user\x01", c);
        w.commit();
    }
    read_txn r = env.begin_read();
    const std::optional<code_record> got = get_code(r, "ip-phone", "user\x01", now);
    BOOST_REQUIRE(got.has_value());
    check_same(*got, c);
    BOOST_TEST(!get_code(r, "ip-phone", "user", now).has_value());
    BOOST_TEST(!get_code(r, "other", "user\x01", now).has_value());
    BOOST_TEST(r.get(env.dbs().codes, account_key("ip-phone", "user\x01")).has_value());
}

BOOST_AUTO_TEST_CASE(replacing_kills_the_earlier_code) {
    environment env(opts);
    write_txn w = env.begin_write();
    code_record first = sample_code();
    put_code(w, "p", "u", first);
    code_record second = sample_code();
    second.mac = std::string(32, 'z');
    second.purpose = code_purpose::login;
    second.expires_at = first.expires_at + 100;
    second.attempts_left = 3;
    put_code(w, "p", "u", second);

    const std::optional<code_record> got = get_code(w, "p", "u", now);
    BOOST_REQUIRE(got.has_value());
    check_same(*got, second);
    BOOST_TEST(w.entries(env.dbs().codes) == 1u);
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);
    // The first code's expiry no longer sweeps the second.
    BOOST_TEST(sweep_expired(w, first.expires_at, 100) == 0u);
    BOOST_TEST(get_code(w, "p", "u", first.expires_at).has_value());
}

BOOST_AUTO_TEST_CASE(expiry_hides_it_from_get_code_but_not_get_code_any) {
    environment env(opts);
    write_txn w = env.begin_write();
    const code_record c = sample_code();
    put_code(w, "p", "u", c);
    BOOST_TEST(get_code(w, "p", "u", c.expires_at - 1).has_value());
    BOOST_TEST(!get_code(w, "p", "u", c.expires_at).has_value());
    const std::optional<code_record> any = get_code_any(w, "p", "u");
    BOOST_REQUIRE(any.has_value());
    check_same(*any, c);

    // Once swept it is gone for both.
    BOOST_TEST(sweep_expired(w, c.expires_at, 100) == 1u);
    BOOST_TEST(!get_code_any(w, "p", "u").has_value());
    BOOST_TEST(!get_code(w, "p", "u", now).has_value());
}

BOOST_AUTO_TEST_CASE(erase) {
    environment env(opts);
    write_txn w = env.begin_write();
    put_code(w, "p", "u", sample_code());
    put_code(w, "p", "v", sample_code());
    BOOST_TEST(erase_code(w, "p", "u"));
    BOOST_TEST(!erase_code(w, "p", "u"));
    BOOST_TEST(!get_code_any(w, "p", "u").has_value());
    BOOST_TEST(get_code(w, "p", "v", now).has_value());
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);
}

BOOST_AUTO_TEST_CASE(bad_records_are_refused) {
    environment env(opts);
    write_txn w = env.begin_write();
    code_record c = sample_code();
    c.mac.pop_back();
    BOOST_CHECK_EXCEPTION(put_code(w, "p", "u", c), storage::error, has_code(errc::invalid_input));
    c = sample_code();
    c.session_hash += "x";
    BOOST_CHECK_EXCEPTION(put_code(w, "p", "u", c), storage::error, has_code(errc::invalid_input));
    c = sample_code();
    c.purpose = static_cast<code_purpose>(0);
    BOOST_CHECK_EXCEPTION(put_code(w, "p", "u", c), storage::error, has_code(errc::invalid_input));
    BOOST_CHECK_EXCEPTION(put_code(w, std::string("p\0q", 3), "u", sample_code()), storage::error,
                          has_code(errc::invalid_input));
    BOOST_TEST(w.entries(env.dbs().codes) == 0u);
}

BOOST_AUTO_TEST_CASE(corrupt_values) {
    environment env(opts);
    write_txn w = env.begin_write();
    put_code(w, "p", "u", sample_code());
    const std::string good(get_expiring(w, env.dbs().codes, account_key("p", "u"))->payload);
    const auto corrupt_with = [&](const std::string& payload) {
        put_expiring(w, env.dbs().codes, account_key("p", "u"), payload, now + 60);
        BOOST_CHECK_EXCEPTION(get_code(w, "p", "u", now), storage::error, has_code(errc::storage_corrupt));
        BOOST_CHECK_EXCEPTION(get_code_any(w, "p", "u"), storage::error, has_code(errc::storage_corrupt));
    };
    corrupt_with(good.substr(0, good.size() - 1));
    corrupt_with(good + "x");
    corrupt_with(std::string(1, '\x09') + good.substr(1));
    // A 31-byte MAC: shorten the length prefix and drop one byte.
    std::string short_mac = good;
    short_mac[4] = '\x1f';
    short_mac.erase(5, 1);
    corrupt_with(short_mac);
    std::string bad_purpose = good;
    const std::size_t purpose_at = 1 + 4 + 32 + 8 + 4 + 4 + sample_code().target_email.size();
    bad_purpose[purpose_at] = '\x05';
    corrupt_with(bad_purpose);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(counter_suite, tables_fixture)

BOOST_AUTO_TEST_CASE(increment_and_get) {
    environment env(opts);
    {
        write_txn w = env.begin_write();
        BOOST_TEST(get_counter(w, "pw_addr", "192.0.2.1", now, now) == 0u);
        BOOST_TEST(increment_counter(w, "pw_addr", "192.0.2.1", now, now + 60) == 1u);
        BOOST_TEST(increment_counter(w, "pw_addr", "192.0.2.1", now, now + 60) == 2u);
        w.commit();
    }
    write_txn w = env.begin_write();
    BOOST_TEST(increment_counter(w, "pw_addr", "192.0.2.1", now, now + 60) == 3u);
    BOOST_TEST(get_counter(w, "pw_addr", "192.0.2.1", now, now + 59) == 3u);
    BOOST_TEST(w.entries(env.dbs().counters) == 1u);
    BOOST_TEST(w.entries(env.dbs().expiry) == 1u);
}

BOOST_AUTO_TEST_CASE(expiry_hides_and_sweep_removes) {
    environment env(opts);
    write_txn w = env.begin_write();
    increment_counter(w, "mail_hour", "u", now, now + 3600);
    BOOST_TEST(get_counter(w, "mail_hour", "u", now, now + 3599) == 1u);
    BOOST_TEST(get_counter(w, "mail_hour", "u", now, now + 3600) == 0u);
    // A later expiry for the same window moves the entry's expiry (a lockout outlasting it).
    increment_counter(w, "mail_hour", "u", now, now + 7200);
    BOOST_TEST(get_counter(w, "mail_hour", "u", now, now + 3600) == 2u);
    BOOST_TEST(sweep_expired(w, now + 3600, 100) == 0u);
    BOOST_TEST(sweep_expired(w, now + 7200, 100) == 1u);
    BOOST_TEST(w.entries(env.dbs().counters) == 0u);
    BOOST_TEST(get_counter(w, "mail_hour", "u", now, now) == 0u);
}

BOOST_AUTO_TEST_CASE(reset) {
    environment env(opts);
    write_txn w = env.begin_write();
    increment_counter(w, "pw_acct", "u", now, now + 60);
    increment_counter(w, "pw_acct", "u", now, now + 60);
    reset_counter(w, "pw_acct", "u", now);
    BOOST_TEST(get_counter(w, "pw_acct", "u", now, now) == 0u);
    BOOST_TEST(w.entries(env.dbs().expiry) == 0u);
    reset_counter(w, "pw_acct", "u", now);  // absent is fine
    BOOST_TEST(increment_counter(w, "pw_acct", "u", now, now + 60) == 1u);
}

BOOST_AUTO_TEST_CASE(windows_kinds_and_subjects_are_separate) {
    environment env(opts);
    write_txn w = env.begin_write();
    increment_counter(w, "pw_addr", "192.0.2.1", now, now + 120);
    increment_counter(w, "pw_addr", "192.0.2.1", now + 60, now + 120);
    increment_counter(w, "pw_addr", "192.0.2.1", now + 60, now + 120);
    increment_counter(w, "pw_addr", "192.0.2.2", now, now + 120);
    increment_counter(w, "pw_acct", "192.0.2.1", now, now + 120);
    BOOST_TEST(get_counter(w, "pw_addr", "192.0.2.1", now, now) == 1u);
    BOOST_TEST(get_counter(w, "pw_addr", "192.0.2.1", now + 60, now) == 2u);
    BOOST_TEST(get_counter(w, "pw_addr", "192.0.2.2", now, now) == 1u);
    BOOST_TEST(get_counter(w, "pw_acct", "192.0.2.1", now, now) == 1u);
    BOOST_TEST(get_counter(w, "pw_acct", "192.0.2.2", now, now) == 0u);
    // A negative window start sorts and stores like any other.
    BOOST_TEST(increment_counter(w, "pw_addr", "192.0.2.1", -60, now + 120) == 1u);
    BOOST_TEST(get_counter(w, "pw_addr", "192.0.2.1", now, now) == 1u);
}

BOOST_AUTO_TEST_CASE(account_key_with_nul_as_subject) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::string acct = account_key("ip-phone", "user");
    BOOST_REQUIRE(acct.find('\0') != std::string::npos);
    BOOST_TEST(increment_counter(w, "pw_acct", acct, now, now + 60) == 1u);
    BOOST_TEST(increment_counter(w, "pw_acct", acct, now, now + 60) == 2u);
    BOOST_TEST(get_counter(w, "pw_acct", acct, now, now) == 2u);
    // Neither the portal alone, nor another id in that portal, nor a subject that puts the
    // NUL elsewhere shares its count.
    BOOST_TEST(get_counter(w, "pw_acct", "ip-phone", now, now) == 0u);
    BOOST_TEST(get_counter(w, "pw_acct", account_key("ip-phone", "user2"), now, now) == 0u);
    BOOST_TEST(get_counter(w, "pw_acct", account_key("ip-phon", "euser"), now, now) == 0u);
    BOOST_TEST(get_counter(w, "pw_acct", std::string("ip-phone\0user\0", 14), now, now) == 0u);
    // The subject is stored as given, between the kind and the window.
    BOOST_TEST(w.get(env.dbs().counters, counter_key("pw_acct", acct, now)).has_value());
    reset_counter(w, "pw_acct", acct, now);
    BOOST_TEST(get_counter(w, "pw_acct", acct, now, now) == 0u);
}

BOOST_AUTO_TEST_CASE(bad_kinds_are_refused) {
    environment env(opts);
    write_txn w = env.begin_write();
    for (const std::string& kind : {std::string(), std::string("a\0b", 3), std::string("a b"), std::string("é")}) {
        BOOST_CHECK_EXCEPTION(increment_counter(w, kind, "s", now, now + 60), storage::error,
                              has_code(errc::invalid_input));
        BOOST_CHECK_EXCEPTION(get_counter(w, kind, "s", now, now), storage::error, has_code(errc::invalid_input));
    }
    BOOST_CHECK_EXCEPTION(increment_counter(w, "k", std::string(600, 's'), now, now + 60), storage::error,
                          has_code(errc::invalid_input));
    BOOST_TEST(w.entries(env.dbs().counters) == 0u);
}

BOOST_AUTO_TEST_CASE(saturates_instead_of_wrapping) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::string key = counter_key("k", "s", now);
    const std::uint32_t max = std::numeric_limits<std::uint32_t>::max();
    put_expiring(w, env.dbs().counters, key, value_writer(1).u32(max - 1).bytes(), now + 60);
    BOOST_TEST(increment_counter(w, "k", "s", now, now + 60) == max);
    BOOST_TEST(increment_counter(w, "k", "s", now, now + 60) == max);
}

BOOST_AUTO_TEST_CASE(corrupt_values) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::string key = counter_key("k", "s", now);
    for (const std::string& bad : {std::string("\x01\x00\x00\x01", 4), std::string("\x01\x00\x00\x00\x01\x00", 6),
                                   std::string("\x02\x00\x00\x00\x01", 5), std::string()}) {
        put_expiring(w, env.dbs().counters, key, bad, now + 60);
        BOOST_CHECK_EXCEPTION(get_counter(w, "k", "s", now, now), storage::error, has_code(errc::storage_corrupt));
        BOOST_CHECK_EXCEPTION(increment_counter(w, "k", "s", now, now + 60), storage::error,
                              has_code(errc::storage_corrupt));
    }
}

BOOST_AUTO_TEST_SUITE_END()
