// The attempt gate shared by the nodes: core/security/attempt_gate.hpp's rules over the gate_entries
// table (storage/postgres/pg_schema.cpp). Each rule reads the live rows of a subject and adds
// one, which only holds while no other node does the same for that subject: every subject's
// rows are read and written under a transaction-scoped advisory lock of the subject, taken
// before the reading statement (under READ COMMITTED each statement sees what was committed
// before it began, so it sees every row added under the lock before). Ids come from one
// sequence, and the rows of one line are added under its lock, so their order is the order of
// arrival.
#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "storage/postgres/pg_records.hpp"

namespace nidan::storage::pg {
namespace {

// A row's subject: a kind byte, then the gate's key.
constexpr char running = 't';  // a check in flight (attempt_gate::track)
constexpr char pair = 'p';
constexpr char slot = 'a';
constexpr char line = 'l';

std::string row_subject(char kind, std::string_view key) {
    std::string s(1, kind);
    s += key;
    return s;
}

// The first key of the gate's two-part advisory locks ("nidg"); accounts' locks take the
// one-part form, a separate space.
constexpr std::int32_t gate_lock_space = 0x6e696467;

std::int32_t gate_lock_key(std::string_view subject) {
    unsigned char digest[4];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(subject.data()), subject.size(),
                       nullptr, 0);
    std::uint32_t v = 0;
    for (const auto b : digest) v = (v << 8) | b;
    return static_cast<std::int32_t>(v);
}

// The live rows of a subject.
std::uint32_t live_rows(connection& c, const std::string& subject, std::int64_t now_ms) {
    const auto r = c.run("gate_count", "SELECT count(*) FROM gate_entries WHERE subject = $1 AND expires_at > $2",
                         params().bytes(subject).i64(now_ms));
    return static_cast<std::uint32_t>(r.i64(0, 0));
}

std::uint64_t add_row(connection& c, const std::string& subject, std::int64_t expires_ms) {
    const auto r = c.run("gate_add", "INSERT INTO gate_entries (subject, expires_at) VALUES ($1, $2) RETURNING id",
                         params().bytes(subject).i64(expires_ms));
    return static_cast<std::uint64_t>(r.i64(0, 0));
}

// "{1,2,3}": ids as one text parameter cast to bigint[] (the statements are binary; arrays of
// one type are simplest sent as text).
std::string id_array(const std::vector<std::uint64_t>& ids) {
    std::string s = "{";
    for (const auto id : ids) {
        if (s.size() > 1) s += ',';
        s += std::to_string(id);
    }
    return s + '}';
}

}  // namespace

void store::lock_gate_subjects(std::vector<std::string> subjects) {
    std::vector<std::int32_t> keys;
    for (const auto& s : subjects) keys.push_back(gate_lock_key(s));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto k : keys)
        c_.run("gate_lock", "SELECT pg_advisory_xact_lock($1, $2)", params().i32(gate_lock_space).i32(k));
}

std::vector<gate_entry> store::gate_track(const std::vector<std::string>& subjects, std::int64_t now_ms,
                                          std::int64_t expires_ms) {
    std::vector<std::string> rows;
    for (const auto& s : subjects) rows.push_back(row_subject(running, s));
    lock_gate_subjects(rows);
    std::vector<gate_entry> entries;
    for (const auto& subject : rows) {
        // One round trip: the count's snapshot does not see the row its own statement adds.
        const auto r = c_.run("gate_track",
                              "WITH added AS (INSERT INTO gate_entries (subject, expires_at) VALUES ($1, $3) RETURNING id) "
                              "SELECT (SELECT id FROM added), "
                              "(SELECT count(*) FROM gate_entries WHERE subject = $1 AND expires_at > $2)",
                              params().bytes(subject).i64(now_ms).i64(expires_ms));
        entries.push_back({static_cast<std::uint64_t>(r.i64(0, 0)), static_cast<std::uint32_t>(r.i64(0, 1))});
    }
    return entries;
}

gate_admission store::gate_admit(const login::gate_plan& plan, std::int64_t now_ms, std::int64_t expires_ms) {
    gate_admission out;
    const auto pair_row = row_subject(pair, plan.pair);
    const auto slot_row = row_subject(slot, plan.account);
    const auto line_row = row_subject(line, plan.line);
    std::vector<std::string> taken;
    if (!plan.pair.empty()) taken.push_back(pair_row);
    if (!plan.account.empty()) taken.push_back(slot_row);
    if (!plan.line.empty()) taken.push_back(line_row);
    lock_gate_subjects(taken);
    // The refusals in attempt_gate::admit's order.
    if (!plan.pair.empty() && live_rows(c_, pair_row, now_ms) > 0) {
        out.refused = throttle_refusal::busy_same_account;
        return out;
    }
    if (!plan.account.empty() && (plan.account_limit == 0 || live_rows(c_, slot_row, now_ms) >= plan.account_limit)) {
        out.refused = throttle_refusal::account_concurrency;
        return out;
    }
    // The one served plus line_max waiting behind it.
    if (!plan.line.empty() && live_rows(c_, line_row, now_ms) > plan.line_max) {
        out.refused = throttle_refusal::busy_queue_full;
        return out;
    }
    for (const auto& subject : taken) {
        const auto id = add_row(c_, subject, expires_ms);
        out.entries.push_back(id);
        if (&subject == &taken.back() && !plan.line.empty()) out.line_entry = id;
    }
    return out;
}

bool store::gate_served(const login::gate_plan& plan, const gate_admission& admitted, std::int64_t now_ms,
                        std::int64_t expires_ms) {
    if (!admitted.entries.empty())
        c_.run("gate_renew", "UPDATE gate_entries SET expires_at = $2 WHERE id = ANY($1::text::bigint[])",
               params().text(id_array(admitted.entries)).i64(expires_ms));
    if (plan.line.empty() || admitted.line_entry == 0) return true;
    const auto r = c_.run("gate_first", "SELECT min(id) FROM gate_entries WHERE subject = $1 AND expires_at > $2",
                          params().bytes(row_subject(line, plan.line)).i64(now_ms));
    // No live row at all: ours ran out (a stalled node); it is not held back for that.
    return r.is_null(0, 0) || static_cast<std::uint64_t>(r.i64(0, 0)) == admitted.line_entry;
}

void store::gate_release(const std::vector<std::uint64_t>& entries) {
    if (entries.empty()) return;
    c_.run("gate_release", "DELETE FROM gate_entries WHERE id = ANY($1::text::bigint[])",
           params().text(id_array(entries)));
}

}  // namespace nidan::storage::pg
