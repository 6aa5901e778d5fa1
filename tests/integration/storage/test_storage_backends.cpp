// The storage contract (storage/backend.hpp) checked the same way on both backends: LMDB in a
// temp folder and PostgreSQL in a database of the executable's private cluster
// (nidan_test/postgres_server.hpp). Each case runs its checks through read_now/write_now on a
// fresh store of each kind, so what the login steps, the delivery loop and the operator commands
// rely on holds whichever storage.backend an operator picks. Also: `nidan db status` before and
// after `nidan db migrate`, and a server refusing an unmigrated database.
#define BOOST_TEST_MODULE storage_backends
#include <boost/test/unit_test.hpp>

#include <functional>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "nidan_test/postgres_server.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/temp_dir.hpp"
#include "storage/backend.hpp"
#include "storage/error.hpp"
#include "storage/open/open_backend.hpp"
#include "storage/postgres/pg_backend.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/open/schema_admin.hpp"

using namespace nidan;
using namespace nidan_test;
using storage::read_now;
using storage::write_now;

namespace {

struct store_under_test {
    temp_dir dir;
    storage_config cfg;
    std::unique_ptr<storage::backend> b;
};

std::unique_ptr<store_under_test> open_store(bool postgres) {
    auto s = std::make_unique<store_under_test>();
    s->cfg.data_dir = s->dir / "data";
    std::filesystem::create_directories(s->cfg.data_dir);
    if (postgres) {
        s->cfg.backend = storage_backend::postgres;
        s->cfg.postgres_url = shared_postgres().create_database();
        s->cfg.postgres_pool_size = 2;
        storage::migrate_schema(s->cfg);
    }
    s->b = storage::open_backend(s->cfg);
    return s;
}

// `check` once on each backend, the failure messages naming which.
void on_both(const std::function<void(storage::backend&)>& check) {
    for (const bool postgres : {false, true}) {
        BOOST_TEST_CONTEXT("backend " << (postgres ? "postgres" : "lmdb")) {
            auto s = open_store(postgres);
            BOOST_TEST(s->b->name() == (postgres ? "postgres" : "lmdb"));
            check(*s->b);
            s->b->stop();
        }
    }
}

account make_account(const std::string& id) {
    account a;
    a.portal = "freevoice";
    a.selfcare_id = id;
    a.password_hash = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA";
    a.email = id + "@example.jp";
    a.phone = "0312345678";
    a.created_at = 1'700'000'000;
    a.updated_at = 1'700'000'001;
    a.phone_strikes = 2;
    a.credential_epoch = 0xfedcba9876543210ULL;  // above INT64_MAX: stored as the same 64 bits
    return a;
}

outbox_mail make_mail(mail_priority p, std::int64_t due_ms, const std::string& kind) {
    outbox_mail m;
    m.priority = p;
    m.kind = kind;
    m.created_at = 1'700'000'000;
    m.due_at = due_ms;
    m.mail_from = "noreply@example.jp";
    m.rcpt_to = {"a@example.jp", "b@example.jp"};
    m.message = std::string("Subject: x\r\n\r\nbody \0 with a NUL", 31);
    return m;
}

std::vector<outbox_mail> due(storage::backend& b, std::int64_t now_ms) {
    std::vector<outbox_mail> out;
    read_now(b, [&](const storage::record_view& v) { out = v.due_mails(now_ms, 100, [](std::uint64_t) { return false; }); });
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(accounts_insert_find_erase) {
    on_both([](storage::backend& b) {
        const auto a = make_account("taro");
        bool first = false, second = true;
        write_now(b, [&](storage::record_store& s) { first = s.insert_account(a); });
        write_now(b, [&](storage::record_store& s) { second = s.insert_account(a); });
        BOOST_TEST(first);
        BOOST_TEST(!second);
        std::optional<account> found;
        read_now(b, [&](const storage::record_view& v) { found = v.find_account("freevoice", "taro"); });
        BOOST_TEST_REQUIRE(found.has_value());
        BOOST_TEST(found->email == a.email);
        BOOST_TEST(found->phone_strikes == 2u);
        BOOST_TEST(found->credential_epoch == a.credential_epoch);
        BOOST_TEST(found->password_hash == a.password_hash);
        auto changed = *found;
        changed.password_locked = true;
        changed.pending_email = "new@example.jp";
        changed.pending_email_at = 42;
        write_now(b, [&](storage::record_store& s) { s.save_account(changed); });
        std::vector<std::string> ids;
        read_now(b, [&](const storage::record_view& v) {
            found = v.find_account("freevoice", "taro");
            v.for_each_account("", [&](const account& x) { return ids.push_back(x.selfcare_id), true; });
        });
        BOOST_TEST(found->password_locked);
        BOOST_TEST(found->pending_email == "new@example.jp");
        BOOST_TEST(found->pending_email_at == 42);
        BOOST_TEST(ids == std::vector<std::string>{"taro"});
        bool erased = false, again = true;
        write_now(b, [&](storage::record_store& s) { erased = s.erase_account("freevoice", "taro"); });
        write_now(b, [&](storage::record_store& s) { again = s.erase_account("freevoice", "taro"); });
        BOOST_TEST(erased);
        BOOST_TEST(!again);
        read_now(b, [&](const storage::record_view& v) { found = v.find_account("freevoice", "taro"); });
        BOOST_TEST(!found.has_value());
    });
}

BOOST_AUTO_TEST_CASE(sessions_expire_and_codes_are_one_per_account) {
    on_both([](storage::backend& b) {
        write_now(b, [&](storage::record_store& s) { s.insert_account(make_account("taro")); });
        session_record sr;
        sr.portal = "freevoice";
        sr.selfcare_id = "taro";
        sr.state = session_state::authenticated;
        sr.created_at = 1000;
        sr.last_seen = 1000;
        sr.idle_expires_at = 1600;
        sr.absolute_expires_at = 5000;
        sr.csrf_secret = std::string("\0csrf", 5);
        sr.credential_epoch = 7;
        const std::string hash(32, '\x01');
        write_now(b, [&](storage::record_store& s) { s.save_session(hash, sr); });
        std::optional<session_record> live, dead;
        std::size_t listed = 0;
        read_now(b, [&](const storage::record_view& v) {
            live = v.find_session(hash, 1599);
            dead = v.find_session(hash, 1600);
            listed = v.sessions_of("freevoice", "taro", 1500).size();
        });
        BOOST_TEST_REQUIRE(live.has_value());
        BOOST_TEST((live->state == session_state::authenticated));
        BOOST_TEST(live->csrf_secret == sr.csrf_secret);
        BOOST_TEST(live->credential_epoch == 7u);
        BOOST_TEST(!dead.has_value(), "a session is dead at its idle expiry");
        BOOST_TEST(listed == 1u);
        write_now(b, [&](storage::record_store& s) { s.drop_session(hash); });
        read_now(b, [&](const storage::record_view& v) { live = v.find_session(hash, 1500); });
        BOOST_TEST(!live.has_value());

        code_record c;
        c.mac = std::string(32, '\x02');
        c.issued_at = 1000;
        c.expires_at = 1600;
        c.attempts_left = 5;
        c.target_email = "taro@example.jp";
        c.session_hash = hash;
        write_now(b, [&](storage::record_store& s) { s.save_code("freevoice", "taro", c); });
        c.mac = std::string(32, '\x03');
        c.attempts_left = 4;
        c.purpose = code_purpose::address_change;
        write_now(b, [&](storage::record_store& s) { s.save_code("freevoice", "taro", c); });
        std::optional<code_record> found;
        read_now(b, [&](const storage::record_view& v) { found = v.find_code("freevoice", "taro"); });
        BOOST_TEST_REQUIRE(found.has_value());
        BOOST_TEST(found->mac == c.mac, "the second code replaced the first");
        BOOST_TEST(found->attempts_left == 4u);
        BOOST_TEST((found->purpose == code_purpose::address_change));
        write_now(b, [&](storage::record_store& s) { s.drop_code("freevoice", "taro"); });
        read_now(b, [&](const storage::record_view& v) { found = v.find_code("freevoice", "taro"); });
        BOOST_TEST(!found.has_value());
    });
}

BOOST_AUTO_TEST_CASE(counters_add_clear_and_expire) {
    on_both([](storage::backend& b) {
        const std::string subject("acct\0id", 7);
        for (int i = 0; i < 3; ++i)
            write_now(b, [&](storage::record_store& s) { s.add_count("pw_acct", subject, 900, 1800); });
        write_now(b, [&](storage::record_store& s) { s.add_count("pw_acct", subject, 1800, 2700); });
        std::uint32_t now = 0, expired = 9, other = 0;
        read_now(b, [&](const storage::record_view& v) {
            now = v.count("pw_acct", subject, 900, 1000);
            expired = v.count("pw_acct", subject, 900, 1800);
            other = v.count("pw_acct", subject, 1800, 1000);
        });
        BOOST_TEST(now == 3u);
        BOOST_TEST(expired == 0u);
        BOOST_TEST(other == 1u);
        write_now(b, [&](storage::record_store& s) { s.clear_count("pw_acct", subject, 900); });
        read_now(b, [&](const storage::record_view& v) { now = v.count("pw_acct", subject, 900, 1000); });
        BOOST_TEST(now == 0u);
    });
}

BOOST_AUTO_TEST_CASE(the_outbox_keeps_its_order_and_its_failed_list) {
    on_both([](storage::backend& b) {
        write_now(b, [&](storage::record_store& s) {
            s.queue_mail(make_mail(mail_priority::notice, 1000, "notice-early"), 1000);
            s.queue_mail(make_mail(mail_priority::code, 3000, "code-late"), 1000);
            s.queue_mail(make_mail(mail_priority::code, 2000, "code-a"), 1000);
            s.queue_mail(make_mail(mail_priority::code, 2000, "code-b"), 1000);
            s.queue_mail(make_mail(mail_priority::code, 9000, "code-future"), 1000);
        });
        auto mails = due(b, 5000);
        std::vector<std::string> kinds;
        for (const auto& m : mails) kinds.push_back(m.kind);
        BOOST_TEST(kinds == (std::vector<std::string>{"code-a", "code-b", "code-late", "notice-early"}),
                   "priority, then due time, then id");
        BOOST_TEST_REQUIRE(mails.size() == 4u);
        BOOST_TEST(mails[0].id < mails[1].id);
        BOOST_TEST(mails[0].rcpt_to == (std::vector<std::string>{"a@example.jp", "b@example.jp"}));
        BOOST_TEST(mails[0].message == make_mail(mail_priority::code, 0, "").message);
        std::optional<std::int64_t> next;
        std::size_t skipped = 0;
        read_now(b, [&](const storage::record_view& v) {
            next = v.next_due_after(5000);
            skipped = v.due_mails(5000, 100, [&](std::uint64_t id) { return id == mails[0].id; }).size();
        });
        BOOST_TEST(next.value_or(-1) == 9000);
        BOOST_TEST(skipped == 3u);
        read_now(b, [&](const storage::record_view& v) { skipped = v.due_mails(5000, 2, [](std::uint64_t) { return false; }).size(); });
        BOOST_TEST(skipped == 2u, "at most limit");

        bool removed = false, removed_again = true, rescheduled = false, failed = false;
        write_now(b, [&](storage::record_store& s) { removed = s.remove_mail(mails[0]); });
        write_now(b, [&](storage::record_store& s) { removed_again = s.remove_mail(mails[0]); });
        BOOST_TEST(removed);
        BOOST_TEST(!removed_again);
        write_now(b, [&](storage::record_store& s) { rescheduled = s.reschedule_mail(mails[1], 8000, "451 later"); });
        BOOST_TEST(rescheduled);
        write_now(b, [&](storage::record_store& s) { failed = s.fail_mail(mails[2], "550 no such user", 1234); });
        BOOST_TEST(failed);
        bool stale = true;
        write_now(b, [&](storage::record_store& s) { stale = s.remove_mail(mails[2]); });
        BOOST_TEST(!stale, "a failed mail is no longer queued as due_mails returned it");

        mails = due(b, 5000);
        BOOST_TEST_REQUIRE(mails.size() == 1u);
        BOOST_TEST(mails[0].kind == "notice-early");
        auto later = due(b, 8000);
        BOOST_TEST_REQUIRE(later.size() == 2u);
        BOOST_TEST(later[0].kind == "code-b");
        BOOST_TEST(later[0].attempts == 1u);
        BOOST_TEST(later[0].last_error == "451 later");

        storage::outbox_stats stats;
        std::vector<outbox_mail> failed_list;
        bool failed_to = false;
        read_now(b, [&](const storage::record_view& v) {
            stats = v.outbox_statistics();
            v.for_each_failed([&](const outbox_mail& m) { return failed_list.push_back(m), true; });
            failed_to = v.code_mail_failed_to("a@example.jp");
        });
        BOOST_TEST(stats.queued == 3u);
        BOOST_TEST(stats.failed == 1u);
        BOOST_TEST(stats.oldest_created_at == 1'700'000'000);
        BOOST_TEST_REQUIRE(failed_list.size() == 1u);
        BOOST_TEST(failed_list[0].kind == "code-late");
        BOOST_TEST(failed_list[0].failed_at == 1234);
        BOOST_TEST(failed_list[0].last_error == "550 no such user");
        BOOST_TEST(!failed_to, "only a login code mail (kind login_code) counts");

        // retry: a failed mail back to the queue due now; a queued one made due now; no such id.
        bool retried = false, retried_queued = false, retried_none = true;
        write_now(b, [&](storage::record_store& s) {
            retried = s.retry_mail(failed_list[0].id, 6000);
            retried_queued = s.retry_mail(later[0].id, 6000);
            retried_none = s.retry_mail(999'999, 6000);
        });
        BOOST_TEST(retried);
        BOOST_TEST(retried_queued);
        BOOST_TEST(!retried_none);
        mails = due(b, 6000);
        kinds.clear();
        for (const auto& m : mails) kinds.push_back(m.kind);
        BOOST_TEST(kinds == (std::vector<std::string>{"code-late", "code-b", "notice-early"}), "both due at 6000: by id");
        for (const auto& m : mails) BOOST_TEST(m.failed_at == 0);

        // purge: one id, then all.
        write_now(b, [&](storage::record_store& s) {
            for (const auto& m : mails) s.fail_mail(m, "gone", 2000);
        });
        std::size_t one = 0, rest = 0, none = 9;
        write_now(b, [&](storage::record_store& s) { one = s.purge_failed(mails[0].id); });
        write_now(b, [&](storage::record_store& s) { rest = s.purge_failed(std::nullopt); });
        write_now(b, [&](storage::record_store& s) { none = s.purge_failed(std::nullopt); });
        BOOST_TEST(one == 1u);
        BOOST_TEST(rest == 2u);
        BOOST_TEST(none == 0u);
        read_now(b, [&](const storage::record_view& v) { stats = v.outbox_statistics(); });
        BOOST_TEST(stats.queued == 1u);  // code-future
        BOOST_TEST(stats.failed == 0u);
    });
}

BOOST_AUTO_TEST_CASE(the_sweep_removes_what_expired_in_batches) {
    on_both([](storage::backend& b) {
        write_now(b, [&](storage::record_store& s) {
            s.insert_account(make_account("taro"));
            session_record sr;
            sr.portal = "freevoice";
            sr.selfcare_id = "taro";
            sr.idle_expires_at = 100;
            sr.absolute_expires_at = 100;
            s.save_session(std::string(32, 'a'), sr);
            sr.idle_expires_at = sr.absolute_expires_at = 10'000;
            s.save_session(std::string(32, 'b'), sr);
            code_record c;
            c.mac = std::string(32, 'm');
            c.expires_at = 100;
            c.session_hash = std::string(32, 'a');
            s.save_code("freevoice", "taro", c);
            s.add_count("pw_addr", "x", 0, 100);
            s.add_count("pw_addr", "y", 0, 10'000);
        });
        std::size_t first = 0, second = 0, third = 9;
        write_now(b, [&](storage::record_store& s) { first = s.sweep_expired(200, 2); });
        write_now(b, [&](storage::record_store& s) { second = s.sweep_expired(200, 2); });
        write_now(b, [&](storage::record_store& s) { third = s.sweep_expired(200, 2); });
        BOOST_TEST(first == 2u);
        BOOST_TEST(second == 1u);
        BOOST_TEST(third == 0u);
        std::optional<session_record> kept;
        std::optional<code_record> code;
        std::uint32_t kept_count = 0;
        read_now(b, [&](const storage::record_view& v) {
            kept = v.find_session(std::string(32, 'b'), 200);
            code = v.find_code("freevoice", "taro");
            kept_count = v.count("pw_addr", "y", 0, 200);
        });
        BOOST_TEST(kept.has_value());
        BOOST_TEST(!code.has_value());
        BOOST_TEST(kept_count == 1u);
    });
}

// The attempt gate of several nodes: two backends on one database stand for two nodes, each
// rule of core/security/attempt_gate.hpp seen from the other; LMDB keeps none.
BOOST_AUTO_TEST_CASE(the_shared_attempt_gate_holds_across_nodes) {
    auto node_a = open_store(true);
    storage_config second = node_a->cfg;
    auto node_b = storage::open_backend(second);
    auto& a = *node_a->b;
    auto& b = *node_b;
    constexpr std::int64_t now = 1'700'000'000'000, later = now + 60'000;
    const std::string address("pw_addr\0" "192.0.2.7", 17);
    const std::string account_subject("pw_acct\0" "x", 9);

    std::vector<storage::gate_entry> first, second_node, third;
    write_now(a, [&](storage::record_store& s) { first = s.gate_track({address, account_subject}, now, later); });
    write_now(b, [&](storage::record_store& s) { second_node = s.gate_track({address}, now, later); });
    BOOST_TEST_REQUIRE(first.size() == 2u);
    BOOST_TEST(first[0].others == 0u);
    BOOST_TEST(first[1].others == 0u);
    BOOST_TEST_REQUIRE(second_node.size() == 1u);
    BOOST_TEST(second_node[0].others == 1u);  // node A's check in flight
    // Released, and past its life: neither counts.
    write_now(a, [&](storage::record_store& s) { s.gate_release({first[0].id}); });
    write_now(b, [&](storage::record_store& s) { third = s.gate_track({address}, later + 1, later + 60'000); });
    BOOST_TEST(third[0].others == 0u);

    login::gate_plan plan{"pair-1", "acct-1", 1, "line-1", 1};
    storage::gate_admission on_a, again_on_b, other_pair, behind, full;
    write_now(a, [&](storage::record_store& s) { on_a = s.gate_admit(plan, now, later); });
    BOOST_TEST(!on_a.refused.has_value());
    BOOST_TEST(on_a.entries.size() == 3u);
    write_now(b, [&](storage::record_store& s) { again_on_b = s.gate_admit(plan, now, later); });
    BOOST_TEST((again_on_b.refused == throttle_refusal::busy_same_account));
    BOOST_TEST(again_on_b.entries.empty());
    write_now(b, [&](storage::record_store& s) { other_pair = s.gate_admit({"pair-2", "acct-1", 1, "", 0}, now, later); });
    BOOST_TEST((other_pair.refused == throttle_refusal::account_concurrency));
    // The line: one served, line_max (1) behind it, then full; served in order of arrival.
    write_now(b, [&](storage::record_store& s) { behind = s.gate_admit({"", "", 1, "line-1", 1}, now, later); });
    BOOST_TEST(!behind.refused.has_value());
    write_now(b, [&](storage::record_store& s) { full = s.gate_admit({"", "", 1, "line-1", 1}, now, later); });
    BOOST_TEST((full.refused == throttle_refusal::busy_queue_full));
    bool a_first = false, b_first = true;
    write_now(a, [&](storage::record_store& s) { a_first = s.gate_served(plan, on_a, now, later); });
    write_now(b, [&](storage::record_store& s) { b_first = s.gate_served({"", "", 1, "line-1", 1}, behind, now, later); });
    BOOST_TEST(a_first);
    BOOST_TEST(!b_first);
    write_now(a, [&](storage::record_store& s) { s.gate_release(on_a.entries); });
    write_now(b, [&](storage::record_store& s) { b_first = s.gate_served({"", "", 1, "line-1", 1}, behind, now, later); });
    BOOST_TEST(b_first);

    // The sweep removes entries past their life (in seconds: the sweep's clock).
    std::size_t swept = 0;
    write_now(a, [&](storage::record_store& s) { swept = s.sweep_expired(later / 1000 + 120, 100); });
    BOOST_TEST(swept == 4u);  // the account's and two address tracks, and the line's second place

    // LMDB: one process, whose gate is in memory.
    auto lmdb = open_store(false);
    BOOST_CHECK_THROW(write_now(*lmdb->b, [&](storage::record_store& s) { s.gate_track({address}, now, later); }),
                      std::logic_error);
    lmdb->b->stop();
    b.stop();
    a.stop();
}

// storage.durability reaches PostgreSQL's synchronous_commit only when it is "no_sync".
BOOST_AUTO_TEST_CASE(durability_no_sync_turns_off_synchronous_commit) {
    storage_config cfg;
    cfg.backend = storage_backend::postgres;
    cfg.postgres_url = shared_postgres().create_database();
    {
        // The test cluster runs with it off; this database's default is the production one.
        storage::pg::connection admin(storage::pg::options_of(cfg));
        admin.exec("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$");
    }
    for (const auto mode : {durability_mode::full_sync, durability_mode::no_meta_sync, durability_mode::no_sync}) {
        cfg.durability = mode;
        storage::pg::connection c(storage::pg::options_of(cfg));
        const auto setting = c.run("show", "SHOW synchronous_commit").text(0, 0);
        BOOST_TEST(setting == (mode == durability_mode::no_sync ? "off" : "on"));
    }
}

BOOST_AUTO_TEST_CASE(secrets_are_created_once) {
    on_both([](storage::backend& b) {
        std::string first, second;
        std::optional<std::string> read;
        write_now(b, [&](storage::record_store& s) { first = s.get_or_create_secret("test_secret", 32); });
        write_now(b, [&](storage::record_store& s) { second = s.get_or_create_secret("test_secret", 32); });
        read_now(b, [&](const storage::record_view& v) { read = v.get_secret("test_secret"); });
        BOOST_TEST(first.size() == 32u);
        BOOST_TEST(first == second);
        BOOST_TEST(read.value_or("") == first);
        bool erased = false, again = true;
        write_now(b, [&](storage::record_store& s) { erased = s.erase_secret("test_secret"); });
        write_now(b, [&](storage::record_store& s) { again = s.erase_secret("test_secret"); });
        read_now(b, [&](const storage::record_view& v) { read = v.get_secret("test_secret"); });
        BOOST_TEST(erased);
        BOOST_TEST(!again);
        BOOST_TEST(!read.has_value());
    });
}

BOOST_AUTO_TEST_CASE(a_closure_that_throws_writes_nothing) {
    on_both([](storage::backend& b) {
        const auto half_way = [](storage::record_store& s) {
            s.insert_account(make_account("taro"));
            s.queue_mail(make_mail(mail_priority::code, 0, "x"), 0);
            s.add_count("pw_addr", "x", 0, 100);
            throw std::runtime_error("a step gives up half way");
        };
        // Through the completion: anything but a system_error becomes storage_unavailable.
        std::promise<std::error_code> answered;
        BOOST_TEST_REQUIRE(b.write(half_way, [&](std::error_code ec) { answered.set_value(ec); }));
        BOOST_TEST((answered.get_future().get() == make_error_code(nidan::errc::storage_unavailable)));
        // write_now rethrows the closure's own exception as it was (storage/backend.cpp).
        std::string thrown;
        try {
            write_now(b, half_way);
        } catch (const std::exception& e) {
            thrown = e.what();
        }
        BOOST_TEST(thrown == "a step gives up half way");
        std::optional<account> found;
        storage::outbox_stats stats;
        std::uint32_t count = 9;
        read_now(b, [&](const storage::record_view& v) {
            found = v.find_account("freevoice", "taro");
            stats = v.outbox_statistics();
            count = v.count("pw_addr", "x", 0, 0);
        });
        BOOST_TEST(!found.has_value());
        BOOST_TEST(stats.queued == 0u);
        BOOST_TEST(count == 0u);
        // The backend still works afterwards (on PostgreSQL: the connection was rolled back).
        bool inserted = false;
        write_now(b, [&](storage::record_store& s) { inserted = s.insert_account(make_account("taro")); });
        BOOST_TEST(inserted);
    });
}

BOOST_AUTO_TEST_CASE(db_status_before_and_after_migrate_and_an_unmigrated_server_refuses) {
    temp_dir dir;
    const auto url = shared_postgres().create_database();
    const std::vector<std::string> where{"--config", source_dir() + "/conf/nidan.toml", "--set",
                                         "storage.data_dir=" + (dir / "data").string(), "--set",
                                         "storage.backend=postgres", "--set", "storage.postgres_url=" + url};
    auto with = [&](std::vector<std::string> args) {
        args.insert(args.end(), where.begin(), where.end());
        return args;
    };
    std::filesystem::create_directories(dir / "data");
    const auto before = run_nidan(with({"db", "status"}));
    BOOST_TEST(before.exit_code == 1, before.out << before.err);
    BOOST_TEST(before.out.find("nidan db migrate") != std::string::npos, before.out);

    bool refused = false;
    try {
        server_process server((dir / "data").string(), {"storage.backend=postgres", "storage.postgres_url=" + url});
    } catch (const std::runtime_error& e) {
        refused = true;
        BOOST_TEST(std::string(e.what()).find("nidan db migrate") != std::string::npos, e.what());
    }
    BOOST_TEST(refused, "nidan serve started on a database without the schema");

    const auto migrated = run_nidan(with({"db", "migrate"}));
    BOOST_TEST(migrated.exit_code == 0, migrated.out << migrated.err);
    const auto after = run_nidan(with({"db", "status"}));
    BOOST_TEST(after.exit_code == 0, after.out << after.err);
    BOOST_TEST(after.out.find("up to date") != std::string::npos, after.out);
    const auto again = run_nidan(with({"db", "migrate"}));
    BOOST_TEST(again.exit_code == 0, again.out << again.err);
    BOOST_TEST(again.out.find("nothing to do") != std::string::npos, again.out);
}

// A database left at schema version 1 (before the shared attempt gate): refused by the server
// with the command to run, upgraded by `nidan db migrate`, its rows kept.
BOOST_AUTO_TEST_CASE(a_version_one_database_is_upgraded_by_migrate) {
    temp_dir dir;
    storage_config cfg;
    cfg.backend = storage_backend::postgres;
    cfg.postgres_url = shared_postgres().create_database();
    cfg.data_dir = dir / "data";
    std::filesystem::create_directories(cfg.data_dir);
    storage::migrate_schema(cfg);
    {
        auto b = storage::open_backend(cfg);
        write_now(*b, [](storage::record_store& s) { s.insert_account(make_account("taro")); });
        b->stop();
        storage::pg::connection c(storage::pg::options_of(cfg));
        c.exec("DROP TABLE gate_entries; UPDATE nidan_schema SET version = 1");
    }
    const std::vector<std::string> where{"--config", source_dir() + "/conf/nidan.toml", "--set",
                                         "storage.data_dir=" + cfg.data_dir.string(), "--set",
                                         "storage.backend=postgres", "--set", "storage.postgres_url=" + cfg.postgres_url};
    auto with = [&](std::vector<std::string> args) {
        args.insert(args.end(), where.begin(), where.end());
        return args;
    };
    const auto old = run_nidan(with({"db", "status"}));
    BOOST_TEST(old.exit_code == 1, old.out << old.err);
    BOOST_TEST(old.out.find("schema version 1") != std::string::npos, old.out);
    BOOST_TEST(old.out.find("nidan db migrate") != std::string::npos, old.out);

    const auto migrated = run_nidan(with({"db", "migrate"}));
    BOOST_TEST(migrated.exit_code == 0, migrated.out << migrated.err);
    const auto after = run_nidan(with({"db", "status"}));
    BOOST_TEST(after.exit_code == 0, after.out << after.err);
    auto b = storage::open_backend(cfg);
    std::optional<account> kept;
    std::vector<storage::gate_entry> entries;
    read_now(*b, [&](const storage::record_view& v) { kept = v.find_account("freevoice", "taro"); });
    write_now(*b, [&](storage::record_store& s) { entries = s.gate_track({"x"}, 1000, 2000); });
    BOOST_TEST(kept.has_value());
    BOOST_TEST(entries.size() == 1u);
    b->stop();
}
