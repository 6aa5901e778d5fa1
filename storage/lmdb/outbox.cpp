#include "storage/lmdb/outbox.hpp"

#include <limits>
#include <string_view>
#include <utility>

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/schema.hpp"

namespace nidan::storage {
namespace {

// Format 1. The fixed-width fields come first so that statistics can read created_at without
// walking past a megabyte of message: id (u64), priority (u8), created_at, due_at, expires_at,
// failed_at (i64), attempts (u32); then kind, mail_from (strings), the recipient count (u32)
// and each recipient, last_error, message (strings).
constexpr std::uint8_t mail_format = 1;

constexpr std::size_t queued_key_size = 1 + 8 + 8;
constexpr std::size_t failed_key_size = 8 + 8;

constexpr const char* queued_what = "outbox value";
constexpr const char* failed_what = "outbox_failed value";

struct queued_key {
    std::uint8_t priority;
    std::int64_t due_at;
    std::uint64_t id;
};

struct failed_key {
    std::int64_t failed_at;
    std::uint64_t id;
};

queued_key parse_queued_key(std::string_view key) {
    if (key.size() != queued_key_size) throw_corrupt("outbox key: wrong size");
    return {static_cast<std::uint8_t>(key[0]), read_i64_be(key.substr(1)), read_u64_be(key.substr(9))};
}

failed_key parse_failed_key(std::string_view key) {
    if (key.size() != failed_key_size) throw_corrupt("outbox_failed key: wrong size");
    return {read_i64_be(key), read_u64_be(key.substr(8))};
}

std::uint8_t priority_byte(mail_priority priority) { return static_cast<std::uint8_t>(priority); }

bool known_priority(std::uint8_t byte) { return byte <= priority_byte(mail_priority::notice); }

std::string key_in_queue(const outbox_mail& mail) {
    return outbox_key(priority_byte(mail.priority), mail.due_at, mail.id);
}

std::string key_in_failed(const outbox_mail& mail) {
    std::string key;
    key.reserve(failed_key_size);
    append_i64_be(key, mail.failed_at);
    append_u64_be(key, mail.id);
    return key;
}

std::string encode_mail(const outbox_mail& mail) {
    if (mail.rcpt_to.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw error(errc::invalid_input, "outbox mail: too many recipients");
    }
    value_writer out(mail_format);
    out.u64(mail.id)
        .u8(priority_byte(mail.priority))
        .i64(mail.created_at)
        .i64(mail.due_at)
        .i64(mail.expires_at)
        .i64(mail.failed_at)
        .u32(mail.attempts)
        .str(mail.kind)
        .str(mail.mail_from)
        .u32(static_cast<std::uint32_t>(mail.rcpt_to.size()));
    for (const std::string& rcpt : mail.rcpt_to) out.str(rcpt);
    out.str(mail.last_error).str(mail.message);
    return out.take();
}

// Reads the format byte and checks it, so every reader of a value starts the same way.
value_reader open_value(std::string_view value, const char* what) {
    value_reader in(value, what);
    if (in.format_version() != mail_format) throw_corrupt(std::string(what) + ": unknown format version");
    return in;
}

outbox_mail decode_mail(std::string_view value, const char* what) {
    value_reader in = open_value(value, what);
    outbox_mail mail;
    mail.id = in.u64();
    const std::uint8_t priority = in.u8();
    if (!known_priority(priority)) throw_corrupt(std::string(what) + ": unknown priority");
    mail.priority = static_cast<mail_priority>(priority);
    mail.created_at = in.i64();
    mail.due_at = in.i64();
    mail.expires_at = in.i64();
    mail.failed_at = in.i64();
    mail.attempts = in.u32();
    mail.kind = in.str();
    mail.mail_from = in.str();
    // No reserve(count): a corrupt count must not allocate; a short value throws in str() long
    // before a large count is reached.
    const std::uint32_t rcpt_count = in.u32();
    for (std::uint32_t i = 0; i < rcpt_count; ++i) mail.rcpt_to.emplace_back(in.str());
    mail.last_error = in.str();
    mail.message = in.str();
    in.expect_end();
    return mail;
}

// The key repeats fields of the value; a disagreement would make remove/reschedule/fail act on
// the wrong entry, so it is corruption.
outbox_mail decode_queued(const queued_key& key, std::string_view value) {
    outbox_mail mail = decode_mail(value, queued_what);
    if (key.priority != priority_byte(mail.priority) || key.due_at != mail.due_at || key.id != mail.id) {
        throw_corrupt("outbox value: does not match its key");
    }
    return mail;
}

outbox_mail decode_failed(const failed_key& key, std::string_view value) {
    outbox_mail mail = decode_mail(value, failed_what);
    if (key.failed_at != mail.failed_at || key.id != mail.id) {
        throw_corrupt("outbox_failed value: does not match its key");
    }
    return mail;
}

// Reads only the fixed-width head of a queued value.
std::int64_t peek_created_at(std::string_view value) {
    value_reader in = open_value(value, queued_what);
    in.u64();  // id
    in.u8();   // priority
    return in.i64();
}

// Ids only ever grow: a delivered mail's id is never handed out again, so log lines stay
// unambiguous.
std::uint64_t next_mail_id(write_txn& t) {
    std::uint64_t last = 0;
    if (const std::optional<std::string_view> stored = t.get(t.dbs().meta, meta_outbox_seq)) {
        if (stored->size() != 8) throw_corrupt("meta outbox_seq: wrong size");
        last = read_u64_be(*stored);
    }
    if (last == std::numeric_limits<std::uint64_t>::max()) throw_corrupt("meta outbox_seq: exhausted");
    std::string bytes;
    append_u64_be(bytes, last + 1);
    t.put(t.dbs().meta, meta_outbox_seq, bytes);
    return last + 1;
}

// An id lives under one key only; finding its key taken means the counter went backwards.
void insert_new(write_txn& t, MDB_dbi table, const std::string& key, const outbox_mail& mail, const char* what) {
    if (!t.insert(table, key, encode_mail(mail))) {
        throw_corrupt(std::string(what) + ": id " + std::to_string(mail.id) + " is already stored");
    }
}

void put_queued(write_txn& t, const outbox_mail& mail) {
    insert_new(t, t.dbs().outbox, key_in_queue(mail), mail, queued_what);
}

void put_failed(write_txn& t, const outbox_mail& mail) {
    insert_new(t, t.dbs().outbox_failed, key_in_failed(mail), mail, failed_what);
}

// Removes the queued entry under `key` and returns what it held; nullopt when absent.
std::optional<outbox_mail> take_queued(write_txn& t, const std::string& key) {
    const std::optional<std::string_view> value = t.get(t.dbs().outbox, key);
    if (!value) return std::nullopt;
    outbox_mail mail = decode_queued(parse_queued_key(key), *value);  // copies before the erase
    t.erase(t.dbs().outbox, key);
    return mail;
}

std::optional<outbox_mail> take_failed(write_txn& t, const std::string& key) {
    const std::optional<std::string_view> value = t.get(t.dbs().outbox_failed, key);
    if (!value) return std::nullopt;
    outbox_mail mail = decode_failed(parse_failed_key(key), *value);
    t.erase(t.dbs().outbox_failed, key);
    return mail;
}

// Both tables are keyed by time first, so finding an id means walking the keys (not decoding
// values). Only the operator's commands do this.
template <typename Parse>
std::optional<std::string> find_key_of(const txn& t, MDB_dbi table, std::uint64_t id, Parse parse) {
    std::optional<std::string> found;
    t.for_each_from(table, {}, [&](std::string_view key, std::string_view) {
        if (parse(key).id != id) return true;
        found.emplace(key);
        return false;
    });
    return found;
}

enum class walk { next_entry, next_priority, stop };

// Walks `outbox` in key order, but lets the visitor leave a priority early: the walk then goes
// on at the first key of the next priority. That is how due_mails and next_due read only the
// due head of each priority and never the retries waiting behind it.
template <typename Visit>
void walk_priorities(const txn& t, Visit visit) {
    std::string from;  // empty: the first key
    for (;;) {
        std::optional<std::uint8_t> left;
        bool stopped = false;
        t.for_each_from(t.dbs().outbox, from, [&](std::string_view key, std::string_view value) {
            const queued_key parsed = parse_queued_key(key);
            switch (visit(parsed, value)) {
            case walk::next_entry:
                return true;
            case walk::next_priority:
                left = parsed.priority;
                return false;
            case walk::stop:
                stopped = true;
                return false;
            }
            return false;
        });
        if (stopped || !left || *left == std::numeric_limits<std::uint8_t>::max()) return;
        from.assign(1, static_cast<char>(*left + 1));
    }
}

}  // namespace

std::uint64_t enqueue_mail(write_txn& txn, outbox_mail mail, std::int64_t now_ms) {
    if (!known_priority(priority_byte(mail.priority))) {
        throw error(errc::invalid_input, "outbox mail: unknown priority");
    }
    mail.id = next_mail_id(txn);
    if (mail.due_at == 0) mail.due_at = now_ms;
    if (mail.created_at == 0) mail.created_at = now_ms / 1000;
    mail.failed_at = 0;
    put_queued(txn, mail);
    return mail.id;
}

std::vector<outbox_mail> due_mails(const txn& txn, std::int64_t now_ms, std::size_t limit,
                                   const std::function<bool(std::uint64_t)>& skip) {
    std::vector<outbox_mail> mails;
    if (limit == 0) return mails;
    walk_priorities(txn, [&](const queued_key& key, std::string_view value) {
        if (key.due_at > now_ms) return walk::next_priority;
        if (skip && skip(key.id)) return walk::next_entry;
        mails.push_back(decode_queued(key, value));
        return mails.size() < limit ? walk::next_entry : walk::stop;
    });
    return mails;
}

std::optional<std::int64_t> next_due(const txn& txn) {
    std::optional<std::int64_t> earliest;
    walk_priorities(txn, [&](const queued_key& key, std::string_view) {
        if (!earliest || key.due_at < *earliest) earliest = key.due_at;
        return walk::next_priority;
    });
    return earliest;
}

std::optional<std::int64_t> next_due_after(const txn& txn, std::int64_t now_ms) {
    std::optional<std::int64_t> earliest;
    for (auto priority : {mail_priority::code, mail_priority::notice}) {
        const auto p = static_cast<std::uint8_t>(priority);
        // Seek straight past the due head of this priority: one key read per priority.
        txn.for_each_from(txn.dbs().outbox, outbox_key(p, now_ms + 1, 0), [&](std::string_view key, std::string_view) {
            const queued_key parsed = parse_queued_key(key);
            if (parsed.priority == p && (!earliest || parsed.due_at < *earliest)) earliest = parsed.due_at;
            return false;
        });
    }
    return earliest;
}

bool remove_mail(write_txn& txn, const outbox_mail& mail) { return txn.erase(txn.dbs().outbox, key_in_queue(mail)); }

bool reschedule_mail(write_txn& txn, const outbox_mail& mail, std::int64_t new_due_ms, const std::string& reason) {
    std::optional<outbox_mail> stored = take_queued(txn, key_in_queue(mail));
    if (!stored) return false;
    stored->attempts += 1;
    stored->last_error = reason;
    stored->due_at = new_due_ms;
    put_queued(txn, *stored);
    return true;
}

bool fail_mail(write_txn& txn, const outbox_mail& mail, const std::string& reason, std::int64_t now) {
    std::optional<outbox_mail> stored = take_queued(txn, key_in_queue(mail));
    if (!stored) return false;
    stored->failed_at = now;
    stored->last_error = reason;
    put_failed(txn, *stored);
    return true;
}

outbox_stats outbox_statistics(const txn& txn, std::size_t scan_limit) {
    outbox_stats stats;
    stats.queued = txn.entries(txn.dbs().outbox);
    stats.failed = txn.entries(txn.dbs().outbox_failed);
    std::optional<std::int64_t> oldest;
    std::size_t scanned = 0;
    txn.for_each_from(txn.dbs().outbox, {}, [&](std::string_view, std::string_view value) {
        if (scanned == scan_limit) return false;
        ++scanned;
        const std::int64_t created_at = peek_created_at(value);
        if (!oldest || created_at < *oldest) oldest = created_at;
        return true;
    });
    stats.oldest_created_at = oldest.value_or(0);
    return stats;
}

void for_each_queued(const txn& txn, const std::function<bool(const outbox_mail&)>& visit) {
    txn.for_each_from(txn.dbs().outbox, {}, [&](std::string_view key, std::string_view value) {
        return visit(decode_queued(parse_queued_key(key), value));
    });
}

void for_each_failed(const txn& txn, const std::function<bool(const outbox_mail&)>& visit) {
    txn.for_each_from(txn.dbs().outbox_failed, {}, [&](std::string_view key, std::string_view value) {
        return visit(decode_failed(parse_failed_key(key), value));
    });
}

bool retry_mail(write_txn& txn, std::uint64_t id, std::int64_t now_ms) {
    if (const std::optional<std::string> key = find_key_of(txn, txn.dbs().outbox_failed, id, parse_failed_key)) {
        outbox_mail mail = take_failed(txn, *key).value();
        mail.due_at = now_ms;
        mail.failed_at = 0;
        put_queued(txn, mail);
        return true;
    }
    const std::optional<std::string> key = find_key_of(txn, txn.dbs().outbox, id, parse_queued_key);
    if (!key) return false;
    // A due mail may be in flight right now: re-keying it would make the delivery loop's
    // remove_mail miss it and the mail go out twice. It is due anyway.
    if (parse_queued_key(*key).due_at <= now_ms) return true;
    outbox_mail mail = take_queued(txn, *key).value();
    mail.due_at = now_ms;
    put_queued(txn, mail);
    return true;
}

std::size_t purge_failed(write_txn& txn, std::optional<std::uint64_t> id) {
    std::vector<std::string> keys;
    if (id) {
        if (std::optional<std::string> key = find_key_of(txn, txn.dbs().outbox_failed, *id, parse_failed_key)) {
            keys.push_back(std::move(*key));
        }
    } else {
        // Collected first: a cursor walk must not delete from the table it walks.
        txn.for_each_from(txn.dbs().outbox_failed, {}, [&](std::string_view key, std::string_view) {
            keys.emplace_back(key);
            return true;
        });
    }
    std::size_t erased = 0;
    for (const std::string& key : keys) {
        if (txn.erase(txn.dbs().outbox_failed, key)) ++erased;
    }
    return erased;
}

}  // namespace nidan::storage
