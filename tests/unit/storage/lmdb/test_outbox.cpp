#define BOOST_TEST_MODULE outbox
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nidan_test/temp_dir.hpp"
#include "storage/lmdb/codec.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/outbox.hpp"
#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/writer.hpp"

using namespace nidan;
using namespace nidan::storage;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;
constexpr std::int64_t now_ms = 1'700'000'000'000;
constexpr std::int64_t now_s = now_ms / 1000;

struct outbox_fixture {
    nidan_test::temp_dir tmp;
    options opts{tmp.path() / "data", 64 * mib, 126, durability_mode::no_sync};
};

auto has_code(errc expected) {
    return [expected](const storage::error& e) { return e.code() == expected; };
}

outbox_mail sample_mail() {
    outbox_mail m;
    m.priority = mail_priority::notice;
    m.kind = "address_notice";
    m.created_at = now_s - 30;
    m.due_at = now_ms - 500;
    m.expires_at = now_s + 600;
    m.attempts = 3;
    m.mail_from = "nidan@example.jp";
    m.rcpt_to = {"a@example.jp", "", "b\x01@example.jp"};  // stored as raw bytes
    m.message = std::string("Subject: x\r\n\r\nbody\0with NUL\r\n", 30);
    m.last_error = "421 try later";
    return m;
}

outbox_mail mail_of(mail_priority priority, std::int64_t due_at, std::string kind = "test") {
    outbox_mail m;
    m.priority = priority;
    m.due_at = due_at;
    m.kind = std::move(kind);
    m.mail_from = "from@example.jp";
    m.rcpt_to = {"to@example.jp"};
    m.message = "hello";
    return m;
}

void check_same(const outbox_mail& got, const outbox_mail& want) {
    BOOST_TEST(got.id == want.id);
    BOOST_TEST((got.priority == want.priority));
    BOOST_TEST(got.kind == want.kind);
    BOOST_TEST(got.created_at == want.created_at);
    BOOST_TEST(got.due_at == want.due_at);
    BOOST_TEST(got.expires_at == want.expires_at);
    BOOST_TEST(got.attempts == want.attempts);
    BOOST_TEST(got.mail_from == want.mail_from);
    BOOST_TEST(got.rcpt_to == want.rcpt_to, boost::test_tools::per_element());
    BOOST_TEST((got.message == want.message));
    BOOST_TEST(got.last_error == want.last_error);
    BOOST_TEST(got.failed_at == want.failed_at);
}

std::vector<outbox_mail> all_queued(const txn& t) {
    std::vector<outbox_mail> out;
    for_each_queued(t, [&](const outbox_mail& m) { return out.push_back(m), true; });
    return out;
}

std::vector<outbox_mail> all_failed(const txn& t) {
    std::vector<outbox_mail> out;
    for_each_failed(t, [&](const outbox_mail& m) { return out.push_back(m), true; });
    return out;
}

std::vector<std::uint64_t> ids_of(const std::vector<outbox_mail>& mails) {
    std::vector<std::uint64_t> ids;
    for (const outbox_mail& m : mails) ids.push_back(m.id);
    return ids;
}

std::string failed_key_for(std::int64_t failed_at, std::uint64_t id) {
    std::string key;
    append_i64_be(key, failed_at);
    append_u64_be(key, id);
    return key;
}

std::uint64_t stored_seq(const txn& t) {
    const std::optional<std::string_view> seq = t.get(t.dbs().meta, meta_outbox_seq);
    return seq ? read_u64_be(*seq) : 0;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(queue_suite, outbox_fixture)

BOOST_AUTO_TEST_CASE(round_trip_of_every_field) {
    environment env(opts);
    outbox_mail want = sample_mail();
    want.id = 999;        // replaced by the counter
    want.failed_at = 77;  // cleared: a queued mail has not failed
    {
        write_txn w = env.begin_write();
        const std::uint64_t id = enqueue_mail(w, want, now_ms);
        BOOST_TEST(id == 1u);
        w.commit();
    }
    want.id = 1;
    want.failed_at = 0;

    read_txn r = env.begin_read();
    const std::vector<outbox_mail> queued = all_queued(r);
    BOOST_REQUIRE_EQUAL(queued.size(), 1u);
    check_same(queued[0], want);
    const std::vector<outbox_mail> due = due_mails(r, now_ms, 10);
    BOOST_REQUIRE_EQUAL(due.size(), 1u);
    check_same(due[0], want);
    // Stored under the documented key, and not in the expiry index: an expired code mail is the
    // delivery loop's to record, not the sweep's to drop.
    BOOST_TEST(r.get(env.dbs().outbox, outbox_key(1, want.due_at, 1)).has_value());
    BOOST_TEST(r.entries(env.dbs().expiry) == 0u);
}

BOOST_AUTO_TEST_CASE(enqueue_fills_in_due_and_created_times) {
    environment env(opts);
    write_txn w = env.begin_write();
    outbox_mail m = mail_of(mail_priority::code, 0);
    m.created_at = 0;
    enqueue_mail(w, m, now_ms + 1234);
    const std::vector<outbox_mail> queued = all_queued(w);
    BOOST_REQUIRE_EQUAL(queued.size(), 1u);
    BOOST_TEST(queued[0].due_at == now_ms + 1234);
    BOOST_TEST(queued[0].created_at == now_s + 1);

    outbox_mail bad = mail_of(static_cast<mail_priority>(7), now_ms);
    BOOST_CHECK_EXCEPTION(enqueue_mail(w, bad, now_ms), storage::error, has_code(errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(codes_go_first_then_due_time_then_id) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::uint64_t old_notice = enqueue_mail(w, mail_of(mail_priority::notice, now_ms - 60'000), now_ms);
    const std::uint64_t code_late = enqueue_mail(w, mail_of(mail_priority::code, now_ms - 10), now_ms);
    const std::uint64_t code_early = enqueue_mail(w, mail_of(mail_priority::code, now_ms - 20), now_ms);
    const std::uint64_t code_same_due = enqueue_mail(w, mail_of(mail_priority::code, now_ms - 10), now_ms);
    const std::uint64_t code_future = enqueue_mail(w, mail_of(mail_priority::code, now_ms + 1), now_ms);
    const std::uint64_t notice_now = enqueue_mail(w, mail_of(mail_priority::notice, now_ms), now_ms);
    enqueue_mail(w, mail_of(mail_priority::notice, now_ms + 5000), now_ms);

    const std::vector<std::uint64_t> want{code_early, code_late, code_same_due, old_notice, notice_now};
    BOOST_TEST(ids_of(due_mails(w, now_ms, 100)) == want, boost::test_tools::per_element());

    // The limit cuts the same order.
    const std::vector<std::uint64_t> first_two{code_early, code_late};
    BOOST_TEST(ids_of(due_mails(w, now_ms, 2)) == first_two, boost::test_tools::per_element());
    const std::vector<std::uint64_t> first_four{code_early, code_late, code_same_due, old_notice};
    BOOST_TEST(ids_of(due_mails(w, now_ms, 4)) == first_four, boost::test_tools::per_element());
    BOOST_TEST(due_mails(w, now_ms, 0).empty());

    // In-flight mails are skipped and do not count against the limit.
    const auto in_flight = [&](std::uint64_t id) { return id == code_early || id == old_notice; };
    const std::vector<std::uint64_t> skipped{code_late, code_same_due, notice_now};
    BOOST_TEST(ids_of(due_mails(w, now_ms, 3, in_flight)) == skipped, boost::test_tools::per_element());

    // A millisecond later the future code mail is due and goes ahead of every notice.
    const std::vector<std::uint64_t> later{code_early, code_late, code_same_due, code_future, old_notice,
                                           notice_now};
    BOOST_TEST(ids_of(due_mails(w, now_ms + 1, 100)) == later, boost::test_tools::per_element());
    BOOST_TEST(due_mails(w, now_ms - 1'000'000, 100).empty());
}

BOOST_AUTO_TEST_CASE(due_mails_reads_only_the_due_head_of_each_priority) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::uint64_t code = enqueue_mail(w, mail_of(mail_priority::code, now_ms - 1), now_ms);
    const std::uint64_t notice = enqueue_mail(w, mail_of(mail_priority::notice, now_ms - 1), now_ms);
    // Behind the due head of both priorities: one well-formed key with a garbage value (looked
    // at, never decoded), then keys of the wrong size. A walk that decoded the first waiting
    // retry, or went on past it, would throw here.
    for (std::uint8_t priority : {std::uint8_t{0}, std::uint8_t{1}}) {
        w.put(env.dbs().outbox, outbox_key(priority, now_ms + 1000, 100), "junk");
        for (std::uint64_t i = 0; i < 50; ++i) {
            w.put(env.dbs().outbox, outbox_key(priority, now_ms + 1001, i) + "!", "junk");
        }
    }
    const std::vector<std::uint64_t> want{code, notice};
    BOOST_TEST(ids_of(due_mails(w, now_ms, 100)) == want, boost::test_tools::per_element());
    BOOST_TEST(next_due(w).value_or(-1) == now_ms - 1);
    BOOST_CHECK_EXCEPTION(all_queued(w), storage::error, has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_CASE(next_due_is_the_earliest_over_all_priorities) {
    environment env(opts);
    write_txn w = env.begin_write();
    BOOST_TEST(!next_due(w).has_value());

    enqueue_mail(w, mail_of(mail_priority::code, now_ms + 5000), now_ms);
    BOOST_TEST(next_due(w).value_or(-1) == now_ms + 5000);
    const std::uint64_t notice = enqueue_mail(w, mail_of(mail_priority::notice, now_ms + 2000), now_ms);
    BOOST_TEST(next_due(w).value_or(-1) == now_ms + 2000);
    enqueue_mail(w, mail_of(mail_priority::code, now_ms + 3000), now_ms);
    BOOST_TEST(next_due(w).value_or(-1) == now_ms + 2000);

    outbox_mail gone = mail_of(mail_priority::notice, now_ms + 2000);
    gone.id = notice;
    BOOST_TEST(remove_mail(w, gone));
    BOOST_TEST(next_due(w).value_or(-1) == now_ms + 3000);
}

BOOST_AUTO_TEST_CASE(next_due_after_skips_the_due_head) {
    environment env(opts);
    write_txn w = env.begin_write();
    BOOST_TEST(!next_due_after(w, now_ms).has_value());
    enqueue_mail(w, mail_of(mail_priority::code, now_ms - 10), now_ms);  // due now: not "after"
    enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms);       // due exactly now
    BOOST_TEST(!next_due_after(w, now_ms).has_value());
    enqueue_mail(w, mail_of(mail_priority::notice, now_ms + 7000), now_ms);
    BOOST_TEST(next_due_after(w, now_ms).value_or(-1) == now_ms + 7000);
    enqueue_mail(w, mail_of(mail_priority::code, now_ms + 9000), now_ms);
    BOOST_TEST(next_due_after(w, now_ms).value_or(-1) == now_ms + 7000);
    enqueue_mail(w, mail_of(mail_priority::code, now_ms + 1), now_ms);
    BOOST_TEST(next_due_after(w, now_ms).value_or(-1) == now_ms + 1);
    BOOST_TEST(next_due_after(w, now_ms + 1).value_or(-1) == now_ms + 7000);
}

BOOST_AUTO_TEST_CASE(remove_reschedule_and_fail) {
    environment env(opts);
    write_txn w = env.begin_write();
    enqueue_mail(w, sample_mail(), now_ms);
    enqueue_mail(w, mail_of(mail_priority::code, now_ms - 1), now_ms);
    enqueue_mail(w, mail_of(mail_priority::code, now_ms - 2), now_ms);
    std::vector<outbox_mail> due = due_mails(w, now_ms, 10);
    BOOST_REQUIRE_EQUAL(due.size(), 3u);
    const outbox_mail delivered = due[0];
    const outbox_mail retried = due[1];
    const outbox_mail refused = due[2];  // the sample notice

    BOOST_TEST(remove_mail(w, delivered));
    BOOST_TEST(!remove_mail(w, delivered));
    BOOST_TEST(!reschedule_mail(w, delivered, now_ms + 1, "x"));
    BOOST_TEST(!fail_mail(w, delivered, "x", now_s));

    // Rescheduled: a new key, one more attempt, the error kept; the old key no longer matches.
    BOOST_TEST(reschedule_mail(w, retried, now_ms + 60'000, "451 greylisted"));
    BOOST_TEST(!remove_mail(w, retried));
    BOOST_TEST(!reschedule_mail(w, retried, now_ms + 1, "again"));
    BOOST_TEST(due_mails(w, now_ms + 59'999, 10).size() == 1u);  // only the notice
    std::vector<outbox_mail> later = due_mails(w, now_ms + 60'000, 10);
    BOOST_REQUIRE_EQUAL(later.size(), 2u);
    outbox_mail want = retried;
    want.attempts = retried.attempts + 1;
    want.last_error = "451 greylisted";
    want.due_at = now_ms + 60'000;
    check_same(later[0], want);
    BOOST_TEST(reschedule_mail(w, later[0], now_ms + 120'000, "451 again"));
    BOOST_TEST(all_queued(w).front().attempts == retried.attempts + 2);

    // Failed: out of the queue, into outbox_failed with the time and reason.
    BOOST_TEST(fail_mail(w, refused, "550 no such user", now_s + 9));
    BOOST_TEST(!fail_mail(w, refused, "550 no such user", now_s + 9));
    BOOST_TEST(!remove_mail(w, refused));
    const std::vector<outbox_mail> failed = all_failed(w);
    BOOST_REQUIRE_EQUAL(failed.size(), 1u);
    want = refused;
    want.failed_at = now_s + 9;
    want.last_error = "550 no such user";
    check_same(failed[0], want);
    BOOST_TEST(w.get(env.dbs().outbox_failed, failed_key_for(now_s + 9, refused.id)).has_value());
    BOOST_TEST(w.entries(env.dbs().outbox) == 1u);
}

BOOST_AUTO_TEST_CASE(operations_start_from_the_stored_mail) {
    environment env(opts);
    write_txn w = env.begin_write();
    enqueue_mail(w, sample_mail(), now_ms);
    outbox_mail stale = due_mails(w, now_ms, 1).at(0);
    const outbox_mail original = stale;
    stale.message = "edited by the caller";
    stale.attempts = 100;
    BOOST_TEST(reschedule_mail(w, stale, now_ms, "e"));
    const outbox_mail stored = all_queued(w).at(0);
    BOOST_TEST(stored.message == original.message);
    BOOST_TEST(stored.attempts == original.attempts + 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(id_suite, outbox_fixture)

BOOST_AUTO_TEST_CASE(ids_increase_across_txns_and_reopen) {
    std::uint64_t last = 0;
    {
        environment env(opts);
        for (int i = 0; i < 3; ++i) {
            write_txn w = env.begin_write();
            const std::uint64_t id = enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms);
            BOOST_TEST(id > last);
            last = id;
            w.commit();
        }
        // Removing the newest mail does not give its id back.
        write_txn w = env.begin_write();
        for (const outbox_mail& m : due_mails(w, now_ms, 10)) BOOST_TEST(remove_mail(w, m));
        w.commit();
    }
    environment env(opts);
    write_txn w = env.begin_write();
    const std::uint64_t id = enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms);
    BOOST_TEST(id == last + 1);
    BOOST_TEST(stored_seq(w) == id);
}

BOOST_AUTO_TEST_CASE(aborted_enqueue_leaves_nothing) {
    environment env(opts);
    {
        write_txn w = env.begin_write();
        BOOST_TEST(enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms) == 1u);
    }  // dropped
    {
        read_txn r = env.begin_read();
        BOOST_TEST(r.entries(env.dbs().outbox) == 0u);
        BOOST_TEST(!r.get(env.dbs().meta, meta_outbox_seq).has_value());
    }
    // The same inside a child txn, as the writer runs each closure: the parent commits, the
    // aborted child's mail and id are gone.
    write_txn w = env.begin_write();
    {
        write_txn child = w.nested();
        enqueue_mail(child, mail_of(mail_priority::code, now_ms), now_ms);
        child.abort();
    }
    {
        write_txn child = w.nested();
        BOOST_TEST(enqueue_mail(child, mail_of(mail_priority::code, now_ms), now_ms) == 1u);
        child.commit();
    }
    w.commit();
    read_txn r = env.begin_read();
    BOOST_TEST(ids_of(all_queued(r)) == std::vector<std::uint64_t>{1}, boost::test_tools::per_element());
    BOOST_TEST(stored_seq(r) == 1u);
}

BOOST_AUTO_TEST_CASE(writer_threads_get_unique_ids) {
    environment env(opts);
    constexpr int thread_count = 4;
    constexpr int per_thread = 50;
    constexpr std::size_t total = thread_count * per_thread;
    std::vector<std::uint64_t> ids(total, 0);  // slot i written only by item i's closure
    std::atomic<int> failed{0};
    {
        writer w(env, 16, total);
        std::vector<std::thread> threads;
        for (int t = 0; t < thread_count; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const std::size_t slot = static_cast<std::size_t>(t * per_thread + i);
                    const mail_priority priority = i % 2 == 0 ? mail_priority::code : mail_priority::notice;
                    const bool queued = w.submit(
                        [&ids, slot, priority](write_txn& txn) {
                            ids[slot] = enqueue_mail(txn, mail_of(priority, now_ms), now_ms);
                        },
                        [&failed](std::error_code ec) {
                            if (ec) ++failed;
                        });
                    if (!queued) ++failed;
                }
            });
        }
        for (std::thread& t : threads) t.join();
        w.stop();
    }
    BOOST_TEST(failed.load() == 0);
    const std::set<std::uint64_t> unique(ids.begin(), ids.end());
    BOOST_TEST(unique.size() == total);
    BOOST_TEST(*unique.begin() == 1u);
    BOOST_TEST(*unique.rbegin() == total);

    read_txn r = env.begin_read();
    BOOST_TEST(r.entries(env.dbs().outbox) == total);
    BOOST_TEST(stored_seq(r) == total);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(operator_suite, outbox_fixture)

BOOST_AUTO_TEST_CASE(retry_a_failed_mail) {
    environment env(opts);
    write_txn w = env.begin_write();
    enqueue_mail(w, sample_mail(), now_ms);
    const outbox_mail queued = due_mails(w, now_ms, 1).at(0);
    BOOST_TEST(fail_mail(w, queued, "550 mailbox full", now_s));

    BOOST_TEST(retry_mail(w, queued.id, now_ms + 7));
    BOOST_TEST(all_failed(w).empty());
    const std::vector<outbox_mail> back = due_mails(w, now_ms + 7, 10);
    BOOST_REQUIRE_EQUAL(back.size(), 1u);
    outbox_mail want = queued;
    want.due_at = now_ms + 7;
    want.last_error = "550 mailbox full";  // kept so the operator still sees why
    check_same(back[0], want);
    BOOST_TEST(!retry_mail(w, queued.id + 1, now_ms));
}

BOOST_AUTO_TEST_CASE(retry_a_queued_mail) {
    environment env(opts);
    write_txn w = env.begin_write();
    const std::uint64_t waiting = enqueue_mail(w, mail_of(mail_priority::notice, now_ms + 3'600'000), now_ms);
    const std::uint64_t due = enqueue_mail(w, mail_of(mail_priority::notice, now_ms - 5), now_ms);

    BOOST_TEST(retry_mail(w, waiting, now_ms));
    const std::vector<outbox_mail> now_due = due_mails(w, now_ms, 10);
    const std::vector<std::uint64_t> want{due, waiting};
    BOOST_TEST(ids_of(now_due) == want, boost::test_tools::per_element());
    BOOST_TEST(now_due[1].due_at == now_ms);
    BOOST_TEST(now_due[1].attempts == 0u);

    // Already due: left under its key, so a delivery in flight still finds it.
    BOOST_TEST(retry_mail(w, due, now_ms + 100));
    BOOST_TEST(remove_mail(w, now_due[0]));
    BOOST_TEST(!retry_mail(w, due, now_ms));
}

BOOST_AUTO_TEST_CASE(purge_one_or_all) {
    environment env(opts);
    write_txn w = env.begin_write();
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms));
    for (const outbox_mail& m : due_mails(w, now_ms, 10)) {
        BOOST_TEST(fail_mail(w, m, "550", now_s - static_cast<std::int64_t>(m.id)));
    }
    // Key order is failure time: the last id failed first.
    const std::vector<std::uint64_t> by_time{ids[3], ids[2], ids[1], ids[0]};
    BOOST_TEST(ids_of(all_failed(w)) == by_time, boost::test_tools::per_element());

    BOOST_TEST(purge_failed(w, ids[1]) == 1u);
    BOOST_TEST(purge_failed(w, ids[1]) == 0u);
    BOOST_TEST(purge_failed(w, 12345) == 0u);
    BOOST_TEST(!retry_mail(w, ids[1], now_ms));
    BOOST_TEST(all_failed(w).size() == 3u);
    BOOST_TEST(purge_failed(w) == 3u);
    BOOST_TEST(all_failed(w).empty());
    BOOST_TEST(purge_failed(w) == 0u);
}

BOOST_AUTO_TEST_CASE(visitors_stop_when_asked) {
    environment env(opts);
    write_txn w = env.begin_write();
    for (int i = 0; i < 3; ++i) enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms);
    for (const outbox_mail& m : due_mails(w, now_ms, 2)) fail_mail(w, m, "550", now_s);
    int seen = 0;
    for_each_queued(w, [&](const outbox_mail&) { return ++seen, false; });
    for_each_failed(w, [&](const outbox_mail&) { return ++seen, false; });
    BOOST_TEST(seen == 2);
}

BOOST_AUTO_TEST_CASE(statistics) {
    environment env(opts);
    write_txn w = env.begin_write();
    outbox_stats s = outbox_statistics(w);
    BOOST_TEST(s.queued == 0u);
    BOOST_TEST(s.failed == 0u);
    BOOST_TEST(s.oldest_created_at == 0);

    outbox_mail young = mail_of(mail_priority::code, now_ms);
    young.created_at = now_s;
    outbox_mail old = mail_of(mail_priority::notice, now_ms);
    old.created_at = now_s - 3600;
    outbox_mail doomed = mail_of(mail_priority::code, now_ms - 1);
    doomed.created_at = now_s - 86400;
    enqueue_mail(w, young, now_ms);
    enqueue_mail(w, old, now_ms);
    enqueue_mail(w, doomed, now_ms);
    BOOST_TEST(outbox_statistics(w).oldest_created_at == now_s - 86400);

    BOOST_TEST(fail_mail(w, due_mails(w, now_ms, 1).at(0), "550", now_s));
    s = outbox_statistics(w);
    BOOST_TEST(s.queued == 2u);
    BOOST_TEST(s.failed == 1u);
    BOOST_TEST(s.oldest_created_at == now_s - 3600);  // failed mails do not count

    // A capped scan looks at the first mails in delivery order only: the code mail.
    BOOST_TEST(outbox_statistics(w, 1).oldest_created_at == now_s);
    BOOST_TEST(outbox_statistics(w, 1).queued == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(corrupt_suite, outbox_fixture)

BOOST_AUTO_TEST_CASE(malformed_values_are_storage_corrupt) {
    environment env(opts);
    write_txn w = env.begin_write();
    const outbox_mail m = sample_mail();
    const std::uint64_t id = enqueue_mail(w, m, now_ms);
    const std::string key = outbox_key(1, m.due_at, id);
    const std::string good(w.get(env.dbs().outbox, key).value());

    const auto check_corrupt = [&](const std::string& value) {
        w.put(env.dbs().outbox, key, value);
        BOOST_CHECK_EXCEPTION(all_queued(w), storage::error, has_code(errc::storage_corrupt));
        BOOST_CHECK_EXCEPTION(due_mails(w, now_ms, 10), storage::error, has_code(errc::storage_corrupt));
    };
    for (std::size_t length = 0; length < good.size(); ++length) check_corrupt(good.substr(0, length));
    check_corrupt(good + "x");
    std::string bad = good;
    bad[0] = 2;  // format version
    check_corrupt(bad);
    bad = good;
    bad[1 + 8] = 9;  // priority
    check_corrupt(bad);
    bad = good;
    bad[1 + 7] = 42;  // the id no longer matches the key
    check_corrupt(bad);

    // A mismatch also stops reschedule from re-keying some other mail.
    outbox_mail queued = m;
    queued.id = id;
    BOOST_CHECK_EXCEPTION(reschedule_mail(w, queued, now_ms, "e"), storage::error,
                          has_code(errc::storage_corrupt));

    w.put(env.dbs().outbox, key, good);
    BOOST_TEST(all_queued(w).size() == 1u);
    w.put(env.dbs().outbox, "short key", good);
    BOOST_CHECK_EXCEPTION(all_queued(w), storage::error, has_code(errc::storage_corrupt));
    BOOST_CHECK_EXCEPTION(next_due(w), storage::error, has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_CASE(malformed_failed_entry_and_counter_are_storage_corrupt) {
    environment env(opts);
    write_txn w = env.begin_write();
    w.put(env.dbs().outbox_failed, failed_key_for(now_s, 5), "\x01");
    BOOST_CHECK_EXCEPTION(all_failed(w), storage::error, has_code(errc::storage_corrupt));
    BOOST_CHECK_EXCEPTION(retry_mail(w, 5, now_ms), storage::error, has_code(errc::storage_corrupt));
    w.put(env.dbs().outbox_failed, "x", "\x01");
    BOOST_CHECK_EXCEPTION(purge_failed(w, 5), storage::error, has_code(errc::storage_corrupt));

    w.put(env.dbs().meta, meta_outbox_seq, "123");
    BOOST_CHECK_EXCEPTION(enqueue_mail(w, mail_of(mail_priority::code, now_ms), now_ms), storage::error,
                          has_code(errc::storage_corrupt));
}

BOOST_AUTO_TEST_CASE(one_mebibyte_message_round_trip) {
    environment env(opts);
    outbox_mail big = sample_mail();
    big.message.assign(mib, '\0');
    for (std::size_t i = 0; i < big.message.size(); ++i) big.message[i] = static_cast<char>(i * 31 % 251);
    {
        write_txn w = env.begin_write();
        big.id = enqueue_mail(w, big, now_ms);
        w.commit();
    }
    {
        write_txn w = env.begin_write();
        const std::vector<outbox_mail> due = due_mails(w, now_ms, 10);
        BOOST_REQUIRE_EQUAL(due.size(), 1u);
        check_same(due[0], big);
        BOOST_TEST(outbox_statistics(w).oldest_created_at == big.created_at);
        BOOST_TEST(fail_mail(w, due[0], "552 too big", now_s));
        BOOST_TEST(retry_mail(w, big.id, now_ms));
        w.commit();
    }
    read_txn r = env.begin_read();
    const std::vector<outbox_mail> queued = all_queued(r);
    BOOST_REQUIRE_EQUAL(queued.size(), 1u);
    BOOST_TEST((queued[0].message == big.message));
    BOOST_TEST(queued[0].last_error == "552 too big");
}

BOOST_AUTO_TEST_SUITE_END()
