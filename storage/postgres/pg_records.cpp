#include "storage/postgres/pg_records.hpp"

#include <sodium.h>

#include <algorithm>

#include "storage/error.hpp"

namespace nidan::storage::pg {
namespace {

constexpr std::string_view account_columns =
    "portal, selfcare_id, password_hash, email, phone, created_at, updated_at, password_locked, operator_locked, "
    "address_form_locked, phone_strikes, credential_epoch, pending_email, pending_email_at";
constexpr std::string_view session_columns =
    "portal, selfcare_id, state, created_at, last_seen, idle_expires_at, absolute_expires_at, csrf_secret, "
    "credential_epoch";
constexpr std::string_view code_columns =
    "mac, issued_at, expires_at, attempts_left, target_email, purpose, session_hash, credential_epoch";
constexpr std::string_view mail_columns =
    "id, priority, kind, created_at, due_at, expires_at, attempts, mail_from, rcpt_to, message, last_error, failed_at";

account account_at(const result& r, int row) {
    account a;
    a.portal = r.text(row, 0);
    a.selfcare_id = r.text(row, 1);
    a.password_hash = r.text(row, 2);
    a.email = r.text(row, 3);
    a.phone = r.text(row, 4);
    a.created_at = r.i64(row, 5);
    a.updated_at = r.i64(row, 6);
    a.password_locked = r.boolean(row, 7);
    a.operator_locked = r.boolean(row, 8);
    a.address_form_locked = r.boolean(row, 9);
    a.phone_strikes = static_cast<std::uint32_t>(r.i32(row, 10));
    a.credential_epoch = static_cast<std::uint64_t>(r.i64(row, 11));
    a.pending_email = r.text(row, 12);
    a.pending_email_at = r.i64(row, 13);
    return a;
}

params& account_params(params& p, const account& a) {
    return p.text(a.portal).text(a.selfcare_id).text(a.password_hash).text(a.email).text(a.phone).i64(a.created_at)
        .i64(a.updated_at).boolean(a.password_locked).boolean(a.operator_locked).boolean(a.address_form_locked)
        .i32(static_cast<std::int32_t>(a.phone_strikes)).i64(static_cast<std::int64_t>(a.credential_epoch))
        .text(a.pending_email).i64(a.pending_email_at);
}

session_record session_at(const result& r, int row, int first) {
    session_record s;
    s.portal = r.text(row, first);
    s.selfcare_id = r.text(row, first + 1);
    const auto state = r.i16(row, first + 2);
    if (state != static_cast<int>(session_state::code_pending) && state != static_cast<int>(session_state::authenticated))
        throw_corrupt("sessions: unknown state");
    s.state = static_cast<session_state>(state);
    s.created_at = r.i64(row, first + 3);
    s.last_seen = r.i64(row, first + 4);
    s.idle_expires_at = r.i64(row, first + 5);
    s.absolute_expires_at = r.i64(row, first + 6);
    s.csrf_secret = r.text(row, first + 7);
    s.credential_epoch = static_cast<std::uint64_t>(r.i64(row, first + 8));
    return s;
}

outbox_mail mail_at(const result& r, int row) {
    outbox_mail m;
    m.id = static_cast<std::uint64_t>(r.i64(row, 0));
    const auto priority = r.i16(row, 1);
    if (priority != static_cast<int>(mail_priority::code) && priority != static_cast<int>(mail_priority::notice))
        throw_corrupt("outbox: unknown priority");
    m.priority = static_cast<mail_priority>(priority);
    m.kind = r.text(row, 2);
    m.created_at = r.i64(row, 3);
    m.due_at = r.i64(row, 4);
    m.expires_at = r.i64(row, 5);
    m.attempts = static_cast<std::uint32_t>(r.i32(row, 6));
    m.mail_from = r.text(row, 7);
    const auto rcpt = r.text(row, 8);
    for (std::size_t start = 0; start <= rcpt.size();) {
        const auto end = std::min(rcpt.find('\n', start), rcpt.size());
        if (end > start) m.rcpt_to.push_back(rcpt.substr(start, end - start));
        start = end + 1;
    }
    m.message = r.text(row, 9);
    m.last_error = r.text(row, 10);
    m.failed_at = r.i64(row, 11);
    return m;
}

std::string joined_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        if (l.find('\n') != std::string::npos) throw error(errc::invalid_input, "outbox: a recipient with a line break");
        if (!out.empty()) out += '\n';
        out += l;
    }
    return out;
}

// The advisory lock key of an account: 64 bits of a hash of portal '\0' id.
std::int64_t lock_key(std::string_view portal, std::string_view id) {
    std::string key(portal);
    key += '\0';
    key += id;
    unsigned char digest[8];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
    std::uint64_t v = 0;
    for (const auto b : digest) v = (v << 8) | b;
    return static_cast<std::int64_t>(v);
}

}  // namespace

template <class Base>
std::optional<account> reads<Base>::find_account(std::string_view portal, std::string_view id) const {
    touching(portal, id);
    const auto r = c_.run("find_account", {"SELECT ", account_columns, " FROM accounts WHERE portal = $1 AND selfcare_id = $2"},
                          params().text(portal).text(id));
    if (r.rows() == 0) return std::nullopt;
    return account_at(r, 0);
}

template <class Base>
std::optional<session_record> reads<Base>::find_session(std::string_view hash, std::int64_t now) const {
    const auto r = c_.run("find_session", {"SELECT ", session_columns, " FROM sessions WHERE id_hash = $1 AND expires_at > $2"},
                          params().bytes(hash).i64(now));
    if (r.rows() == 0) return std::nullopt;
    return session_at(r, 0, 0);
}

template <class Base>
std::optional<code_record> reads<Base>::find_code(std::string_view portal, std::string_view id) const {
    touching(portal, id);
    const auto r = c_.run("find_code", {"SELECT ", code_columns, " FROM codes WHERE portal = $1 AND selfcare_id = $2"},
                          params().text(portal).text(id));
    if (r.rows() == 0) return std::nullopt;
    code_record c;
    c.mac = r.text(0, 0);
    c.issued_at = r.i64(0, 1);
    c.expires_at = r.i64(0, 2);
    c.attempts_left = static_cast<std::uint32_t>(r.i32(0, 3));
    c.target_email = r.text(0, 4);
    const auto purpose = r.i16(0, 5);
    if (purpose != static_cast<int>(code_purpose::login) && purpose != static_cast<int>(code_purpose::address_change))
        throw_corrupt("codes: unknown purpose");
    c.purpose = static_cast<code_purpose>(purpose);
    c.session_hash = r.text(0, 6);
    c.credential_epoch = static_cast<std::uint64_t>(r.i64(0, 7));
    return c;
}

template <class Base>
std::uint32_t reads<Base>::count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                                 std::int64_t now) const {
    const auto r = c_.run("count",
                          "SELECT count FROM counters WHERE kind = $1 AND subject = $2 AND window_start = $3 AND expires_at > $4",
                          params().text(kind).bytes(subject).i64(window_start).i64(now));
    if (r.rows() == 0) return 0;
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(r.i64(0, 0), 0, UINT32_MAX));
}

template <class Base>
bool reads<Base>::code_mail_failed_to(std::string_view address) const {
    const auto r = c_.run("code_mail_failed_to",
                          "SELECT 1 FROM outbox WHERE failed_at <> 0 AND kind = 'login_code' AND "
                          "strpos(E'\\n' || rcpt_to || E'\\n', E'\\n' || $1 || E'\\n') > 0 LIMIT 1",
                          params().text(address));
    return r.rows() > 0;
}

template <class Base>
std::vector<outbox_mail> reads<Base>::due_mails(std::int64_t now_ms, std::size_t limit,
                                                const std::function<bool(std::uint64_t)>& skip) const {
    std::vector<outbox_mail> out;
    // Mails in flight on this node are skipped; fetch a few more so that they do not starve
    // the ones behind them.
    const auto wanted = static_cast<std::int64_t>(limit) + 64;
    const auto r = c_.run("due_mails",
                          {"SELECT ", mail_columns,
                              " FROM outbox WHERE failed_at = 0 AND due_at <= $1 AND lease_until <= $1 "
                              "ORDER BY priority, due_at, id LIMIT $2"},
                          params().i64(now_ms).i64(wanted));
    for (int row = 0; row < r.rows() && out.size() < limit; ++row) {
        auto mail = mail_at(r, row);
        if (skip && skip(mail.id)) continue;
        out.push_back(std::move(mail));
    }
    return out;
}

template <class Base>
std::optional<std::int64_t> reads<Base>::next_due_after(std::int64_t now_ms) const {
    const auto r = c_.run("next_due_after", "SELECT min(due_at) FROM outbox WHERE failed_at = 0 AND due_at > $1",
                          params().i64(now_ms));
    if (r.rows() == 0 || r.is_null(0, 0)) return std::nullopt;
    return r.i64(0, 0);
}

template <class Base>
outbox_stats reads<Base>::outbox_statistics() const {
    const auto r = c_.run("outbox_statistics",
                          "SELECT count(*) FILTER (WHERE failed_at = 0), count(*) FILTER (WHERE failed_at <> 0), "
                          "coalesce(min(created_at) FILTER (WHERE failed_at = 0), 0) FROM outbox");
    return {static_cast<std::size_t>(r.i64(0, 0)), static_cast<std::size_t>(r.i64(0, 1)), r.i64(0, 2)};
}

template <class Base>
void reads<Base>::for_each_queued(const std::function<bool(const outbox_mail&)>& visit) const {
    const auto r = c_.run("queued_mails", {"SELECT ", mail_columns, " FROM outbox WHERE failed_at = 0 ORDER BY priority, due_at, id"});
    for (int row = 0; row < r.rows(); ++row)
        if (!visit(mail_at(r, row))) return;
}

template <class Base>
void reads<Base>::for_each_failed(const std::function<bool(const outbox_mail&)>& visit) const {
    const auto r = c_.run("failed_mails", {"SELECT ", mail_columns, " FROM outbox WHERE failed_at <> 0 ORDER BY failed_at, id"});
    for (int row = 0; row < r.rows(); ++row)
        if (!visit(mail_at(r, row))) return;
}

template <class Base>
void reads<Base>::for_each_account(std::string_view portal, const std::function<bool(const account&)>& visit) const {
    const auto r = c_.run("accounts_of_portal",
                          {"SELECT ", account_columns, " FROM accounts WHERE $1 = '' OR portal = $1 ORDER BY portal, selfcare_id"},
                          params().text(portal));
    for (int row = 0; row < r.rows(); ++row)
        if (!visit(account_at(r, row))) return;
}

template <class Base>
std::vector<std::pair<std::string, session_record>> reads<Base>::sessions_of(std::string_view portal, std::string_view id,
                                                                             std::int64_t now) const {
    const auto r = c_.run("sessions_of",
                          {"SELECT id_hash, ", session_columns,
                              " FROM sessions WHERE portal = $1 AND selfcare_id = $2 AND expires_at > $3 ORDER BY id_hash"},
                          params().text(portal).text(id).i64(now));
    std::vector<std::pair<std::string, session_record>> out;
    for (int row = 0; row < r.rows(); ++row) out.emplace_back(r.text(row, 0), session_at(r, row, 1));
    return out;
}

template <class Base>
std::optional<std::string> reads<Base>::get_secret(std::string_view name) const {
    const auto r = c_.run("get_secret", "SELECT value FROM secrets WHERE name = $1", params().text(name));
    if (r.rows() == 0) return std::nullopt;
    return r.text(0, 0);
}

template class reads<record_view>;
template class reads<record_store>;

void store::notify_delivery() {
    // Delivered to every listening node when the transaction commits, never before.
    if (!queued_mail_) c_.run("notify_outbox", "SELECT pg_notify('nidan_outbox', '')");
    queued_mail_ = true;
}

void store::touching(std::string_view portal, std::string_view id) const {
    std::string key(portal);
    key += '\0';
    key += id;
    if (!locked_.insert(key).second) return;
    c_.run("lock_account", "SELECT pg_advisory_xact_lock($1)", params().i64(lock_key(portal, id)));
}

void store::save_account(const account& a) {
    touching(a.portal, a.selfcare_id);
    params p;
    c_.run("save_account",
           {"INSERT INTO accounts (", account_columns,
               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
               "ON CONFLICT (portal, selfcare_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
               "email = EXCLUDED.email, phone = EXCLUDED.phone, created_at = EXCLUDED.created_at, "
               "updated_at = EXCLUDED.updated_at, password_locked = EXCLUDED.password_locked, "
               "operator_locked = EXCLUDED.operator_locked, address_form_locked = EXCLUDED.address_form_locked, "
               "phone_strikes = EXCLUDED.phone_strikes, credential_epoch = EXCLUDED.credential_epoch, "
               "pending_email = EXCLUDED.pending_email, pending_email_at = EXCLUDED.pending_email_at"},
           account_params(p, a));
}

bool store::insert_account(const account& a) {
    touching(a.portal, a.selfcare_id);
    params p;
    const auto r = c_.run("insert_account",
                          {"INSERT INTO accounts (", account_columns,
                              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
                              "ON CONFLICT (portal, selfcare_id) DO NOTHING"},
                          account_params(p, a));
    return r.affected() == 1;
}

bool store::erase_account(std::string_view portal, std::string_view id) {
    touching(portal, id);
    return c_.run("erase_account", "DELETE FROM accounts WHERE portal = $1 AND selfcare_id = $2", params().text(portal).text(id))
               .affected() == 1;
}

void store::save_session(std::string_view hash, const session_record& s) {
    if (hash.size() != 32) throw error(errc::invalid_input, "sessions: an id hash of the wrong size");
    c_.run("save_session",
           {"INSERT INTO sessions (id_hash, ", session_columns,
               ", expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id_hash) DO UPDATE SET "
               "portal = EXCLUDED.portal, selfcare_id = EXCLUDED.selfcare_id, state = EXCLUDED.state, "
               "created_at = EXCLUDED.created_at, last_seen = EXCLUDED.last_seen, "
               "idle_expires_at = EXCLUDED.idle_expires_at, absolute_expires_at = EXCLUDED.absolute_expires_at, "
               "csrf_secret = EXCLUDED.csrf_secret, credential_epoch = EXCLUDED.credential_epoch, "
               "expires_at = EXCLUDED.expires_at"},
           params().bytes(hash).text(s.portal).text(s.selfcare_id).i32(static_cast<std::int32_t>(s.state))
               .i64(s.created_at).i64(s.last_seen).i64(s.idle_expires_at).i64(s.absolute_expires_at).bytes(s.csrf_secret)
               .i64(static_cast<std::int64_t>(s.credential_epoch)).i64(std::min(s.idle_expires_at, s.absolute_expires_at)));
}

void store::drop_session(std::string_view hash) {
    c_.run("drop_session", "DELETE FROM sessions WHERE id_hash = $1", params().bytes(hash));
}

void store::save_code(std::string_view portal, std::string_view id, const code_record& c) {
    touching(portal, id);
    c_.run("save_code",
           {"INSERT INTO codes (portal, selfcare_id, ", code_columns,
               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (portal, selfcare_id) DO UPDATE SET "
               "mac = EXCLUDED.mac, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, "
               "attempts_left = EXCLUDED.attempts_left, target_email = EXCLUDED.target_email, "
               "purpose = EXCLUDED.purpose, session_hash = EXCLUDED.session_hash, "
               "credential_epoch = EXCLUDED.credential_epoch"},
           params().text(portal).text(id).bytes(c.mac).i64(c.issued_at).i64(c.expires_at)
               .i32(static_cast<std::int32_t>(c.attempts_left)).text(c.target_email).i32(static_cast<std::int32_t>(c.purpose))
               .bytes(c.session_hash).i64(static_cast<std::int64_t>(c.credential_epoch)));
}

void store::drop_code(std::string_view portal, std::string_view id) {
    touching(portal, id);
    c_.run("drop_code", "DELETE FROM codes WHERE portal = $1 AND selfcare_id = $2", params().text(portal).text(id));
}

void store::add_count(std::string_view kind, std::string_view subject, std::int64_t window_start, std::int64_t expires_at) {
    c_.run("add_count",
           "INSERT INTO counters (kind, subject, window_start, count, expires_at) VALUES ($1, $2, $3, 1, $4) "
           "ON CONFLICT (kind, subject, window_start) DO UPDATE SET count = counters.count + 1, "
           "expires_at = EXCLUDED.expires_at",
           params().text(kind).bytes(subject).i64(window_start).i64(expires_at));
}

void store::clear_count(std::string_view kind, std::string_view subject, std::int64_t window_start) {
    c_.run("clear_count", "DELETE FROM counters WHERE kind = $1 AND subject = $2 AND window_start = $3",
           params().text(kind).bytes(subject).i64(window_start));
}

void store::queue_mail(outbox_mail mail, std::int64_t now_ms) {
    if (mail.priority != mail_priority::code && mail.priority != mail_priority::notice)
        throw error(errc::invalid_input, "outbox: unknown priority");
    const auto due = mail.due_at ? mail.due_at : now_ms;
    const auto created = mail.created_at ? mail.created_at : now_ms / 1000;
    c_.run("queue_mail",
           "INSERT INTO outbox (priority, kind, created_at, due_at, expires_at, attempts, mail_from, rcpt_to, message, "
           "last_error, failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)",
           params().i32(static_cast<std::int32_t>(mail.priority)).text(mail.kind).i64(created).i64(due).i64(mail.expires_at)
               .i32(static_cast<std::int32_t>(mail.attempts)).text(mail.mail_from).text(joined_lines(mail.rcpt_to))
               .bytes(mail.message).text(mail.last_error));
    notify_delivery();
}

bool store::remove_mail(const outbox_mail& mail) {
    return c_.run("remove_mail", "DELETE FROM outbox WHERE id = $1 AND failed_at = 0 AND due_at = $2",
                  params().i64(static_cast<std::int64_t>(mail.id)).i64(mail.due_at))
               .affected() == 1;
}

bool store::reschedule_mail(const outbox_mail& mail, std::int64_t new_due_ms, const std::string& error) {
    return c_.run("reschedule_mail",
                  "UPDATE outbox SET attempts = attempts + 1, due_at = $3, last_error = $4, lease_until = 0 "
                  "WHERE id = $1 AND failed_at = 0 AND due_at = $2",
                  params().i64(static_cast<std::int64_t>(mail.id)).i64(mail.due_at).i64(new_due_ms).text(error))
               .affected() == 1;
}

bool store::fail_mail(const outbox_mail& mail, const std::string& reason, std::int64_t now) {
    return c_.run("fail_mail",
                  "UPDATE outbox SET failed_at = $3, last_error = $4, lease_until = 0 "
                  "WHERE id = $1 AND failed_at = 0 AND due_at = $2",
                  params().i64(static_cast<std::int64_t>(mail.id)).i64(mail.due_at).i64(std::max<std::int64_t>(now, 1))
                      .text(reason))
               .affected() == 1;
}

bool store::retry_mail(std::uint64_t id, std::int64_t now_ms) {
    const auto changed = c_.run("retry_mail",
                                "UPDATE outbox SET failed_at = 0, due_at = $2, lease_until = 0 "
                                "WHERE id = $1 AND (failed_at <> 0 OR due_at > $2)",
                                params().i64(static_cast<std::int64_t>(id)).i64(now_ms));
    if (changed.affected() == 1) {
        notify_delivery();
        return true;
    }
    return c_.run("mail_exists", "SELECT 1 FROM outbox WHERE id = $1", params().i64(static_cast<std::int64_t>(id))).rows() == 1;
}

std::size_t store::purge_failed(std::optional<std::uint64_t> id) {
    if (!id) return c_.run("purge_failed_all", "DELETE FROM outbox WHERE failed_at <> 0").affected();
    return c_.run("purge_failed_one", "DELETE FROM outbox WHERE failed_at <> 0 AND id = $1",
                  params().i64(static_cast<std::int64_t>(*id)))
        .affected();
}

std::vector<outbox_mail> store::lease_mails(std::vector<outbox_mail> due, std::int64_t now_ms, std::int64_t lease_until_ms) {
    std::vector<outbox_mail> leased;
    for (auto& mail : due) {
        // Taken only when still queued as read and no other node's lease is running.
        const auto r = c_.run("lease_mail",
                              "UPDATE outbox SET lease_until = $4 WHERE id = $1 AND failed_at = 0 AND due_at = $2 "
                              "AND lease_until <= $3",
                              params().i64(static_cast<std::int64_t>(mail.id)).i64(mail.due_at).i64(now_ms).i64(lease_until_ms));
        if (r.affected() == 1) leased.push_back(std::move(mail));
    }
    return leased;
}

std::size_t store::sweep_expired(std::int64_t now, std::size_t max_entries) {
    // One node sweeps at a time; the others find the lock taken and skip this round.
    constexpr std::int64_t sweep_lock = 0x6e6964616e02;  // "nidan" 02
    if (!c_.run("sweep_lock", "SELECT pg_try_advisory_xact_lock($1)", params().i64(sweep_lock)).boolean(0, 0)) return 0;
    // Each table in a bounded batch, so one sweep never holds many rows locked; max_entries in
    // all (the caller sweeps again while a call returns max_entries), not per table.
    std::size_t removed = 0;
    const auto batch = [&](const char* name, const char* sql) {
        if (removed >= max_entries) return;
        removed += c_.run(name, sql, params().i64(now).i64(static_cast<std::int64_t>(max_entries - removed))).affected();
    };
    batch("sweep_sessions",
          "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)");
    batch("sweep_codes",
          "DELETE FROM codes WHERE (portal, selfcare_id) IN "
          "(SELECT portal, selfcare_id FROM codes WHERE expires_at <= $1 LIMIT $2)");
    batch("sweep_counters",
          "DELETE FROM counters WHERE (kind, subject, window_start) IN "
          "(SELECT kind, subject, window_start FROM counters WHERE expires_at <= $1 LIMIT $2)");
    batch("sweep_gate",
          "DELETE FROM gate_entries WHERE id IN (SELECT id FROM gate_entries WHERE expires_at <= $1 * 1000 LIMIT $2)");
    return removed;
}

std::string store::get_or_create_secret(std::string_view name, std::size_t bytes) {
    if (name.empty() || bytes == 0) throw error(errc::invalid_input, "secrets: an empty name or size");
    std::string fresh(bytes, '\0');
    randombytes_buf(fresh.data(), fresh.size());
    c_.run("create_secret", "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
           params().text(name).bytes(fresh));
    sodium_memzero(fresh.data(), fresh.size());
    auto stored = get_secret(name);
    if (!stored || stored->size() != bytes) throw_corrupt("secrets: a stored secret of another size");
    return std::move(*stored);
}

bool store::erase_secret(std::string_view name) {
    return c_.run("erase_secret", "DELETE FROM secrets WHERE name = $1", params().text(name)).affected() == 1;
}

}  // namespace nidan::storage::pg
