#include "storage/postgres/pg_schema.hpp"

#include <array>

#include "storage/error.hpp"

namespace nidan::storage::pg {
namespace {

// Any number unlikely to be taken by another application sharing the database.
constexpr std::int64_t migration_lock = 0x6e6964616e01;  // "nidan" 01

// Migration N (1-based) takes the schema from version N-1 to N. Never edit one that shipped:
// append a new one. Times are unix seconds (due_at: milliseconds) in bigint, so the values are
// those of the LMDB backend and no time zone is involved; u64 values (credential epochs) are
// stored as the bigint of the same 64 bits.
constexpr std::array migrations{
    R"sql(
CREATE TABLE nidan_schema (
    version integer NOT NULL
);
INSERT INTO nidan_schema (version) VALUES (0);

-- One row per (portal, self-care ID): core/account/account.hpp.
CREATE TABLE accounts (
    portal              text    NOT NULL,
    selfcare_id         text    NOT NULL,
    password_hash       text    NOT NULL,
    email               text    NOT NULL,
    phone               text    NOT NULL,
    created_at          bigint  NOT NULL,
    updated_at          bigint  NOT NULL,
    password_locked     boolean NOT NULL,
    operator_locked     boolean NOT NULL,
    address_form_locked boolean NOT NULL,
    phone_strikes       integer NOT NULL,
    credential_epoch    bigint  NOT NULL,
    pending_email       text    NOT NULL,
    pending_email_at    bigint  NOT NULL,
    PRIMARY KEY (portal, selfcare_id)
);

-- Sessions by the SHA-256 of their id (the id itself is never stored). expires_at is
-- min(idle, absolute): a row past it is dead to every read and removed by the sweep.
CREATE TABLE sessions (
    id_hash             bytea    PRIMARY KEY,
    portal              text     NOT NULL,
    selfcare_id         text     NOT NULL,
    state               smallint NOT NULL,
    created_at          bigint   NOT NULL,
    last_seen           bigint   NOT NULL,
    idle_expires_at     bigint   NOT NULL,
    absolute_expires_at bigint   NOT NULL,
    csrf_secret         bytea    NOT NULL,
    credential_epoch    bigint   NOT NULL,
    expires_at          bigint   NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (portal, selfcare_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The one live code of an account (only its HMAC), kept past expires_at until swept so that
-- "expired" can be told from "none".
CREATE TABLE codes (
    portal           text     NOT NULL,
    selfcare_id      text     NOT NULL,
    mac              bytea    NOT NULL,
    issued_at        bigint   NOT NULL,
    expires_at       bigint   NOT NULL,
    attempts_left    integer  NOT NULL,
    target_email     text     NOT NULL,
    purpose          smallint NOT NULL,
    session_hash     bytea    NOT NULL,
    credential_epoch bigint   NOT NULL,
    PRIMARY KEY (portal, selfcare_id)
);
CREATE INDEX codes_by_expiry ON codes (expires_at);

-- Windowed counters (password failures, phone strikes, mails per hour): one row per kind,
-- subject and window start, removed by the sweep after expires_at.
CREATE TABLE counters (
    kind         text   NOT NULL,
    subject      bytea  NOT NULL,
    window_start bigint NOT NULL,
    count        bigint NOT NULL,
    expires_at   bigint NOT NULL,
    PRIMARY KEY (kind, subject, window_start)
);
CREATE INDEX counters_by_expiry ON counters (expires_at);

-- Mails for the relay. failed_at = 0: queued, taken in (priority, due_at, id) order by the node
-- holding its lease (lease_until, unix ms; a dead node's lease runs out); otherwise on the
-- operator's failed list. rcpt_to holds the recipients one per line.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    priority    smallint NOT NULL,
    kind        text     NOT NULL,
    created_at  bigint   NOT NULL,
    due_at      bigint   NOT NULL,
    expires_at  bigint   NOT NULL,
    attempts    integer  NOT NULL,
    mail_from   text     NOT NULL,
    rcpt_to     text     NOT NULL,
    message     bytea    NOT NULL,
    last_error  text     NOT NULL,
    failed_at   bigint   NOT NULL,
    lease_until bigint   NOT NULL DEFAULT 0
);
CREATE INDEX outbox_queue ON outbox (priority, due_at, id) WHERE failed_at = 0;
CREATE INDEX outbox_failed_list ON outbox (failed_at, id) WHERE failed_at <> 0;

-- Server-wide secrets (the HMAC key, unless storage.secret_file holds it).
CREATE TABLE secrets (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);
)sql",
    R"sql(
-- The attempt gate the nodes share (storage/postgres/pg_gate.cpp): one row per password check
-- running and per delayed check's pair, account slot and place in its address's line. subject
-- is a kind byte and the gate's subject key; a row counts until its node deletes it or until
-- expires_at (unix ms) passes. UNLOGGED: rows live seconds, a commit touching only them waits
-- for no WAL flush, and after a crash the table starts empty, as a restarted gate does.
CREATE UNLOGGED TABLE gate_entries (
    id         bigserial PRIMARY KEY,
    subject    bytea  NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX gate_entries_by_subject ON gate_entries (subject, id);
)sql",
};

}  // namespace

std::uint32_t current_schema_version() { return static_cast<std::uint32_t>(migrations.size()); }

std::uint32_t stored_schema_version(connection& c) {
    const auto exists = c.run("schema_exists", "SELECT to_regclass('nidan_schema') IS NOT NULL");
    if (!exists.boolean(0, 0)) return 0;
    const auto r = c.run("schema_version", "SELECT version FROM nidan_schema");
    if (r.rows() != 1) throw_corrupt("nidan_schema: not exactly one row");
    return static_cast<std::uint32_t>(r.i32(0, 0));
}

std::uint32_t migrate(connection& c) {
    c.exec("BEGIN");
    try {
        c.run("migration_lock", "SELECT pg_advisory_xact_lock($1)", params().i64(migration_lock));
        const auto before = stored_schema_version(c);
        if (before > current_schema_version())
            throw error(errc::storage_corrupt, "the database has schema version " + std::to_string(before) +
                                                   ", newer than this nidan's " + std::to_string(current_schema_version()) +
                                                   ": run a newer nidan");
        for (auto v = before; v < current_schema_version(); ++v) {
            c.exec(migrations[v]);
            c.run("schema_bump", "UPDATE nidan_schema SET version = $1", params().i32(static_cast<std::int32_t>(v + 1)));
        }
        c.exec("COMMIT");
        return before;
    } catch (...) {
        c.rollback();
        throw;
    }
}

problem schema_problem(connection& c) {
    const auto stored = stored_schema_version(c);
    const auto current = current_schema_version();
    if (stored == current) return std::nullopt;
    if (stored == 0) return "the database has no nidan schema: run `nidan db migrate`";
    if (stored < current)
        return "the database has schema version " + std::to_string(stored) + ", this nidan needs " +
               std::to_string(current) + ": run `nidan db migrate`";
    return "the database has schema version " + std::to_string(stored) + ", newer than this nidan's " +
           std::to_string(current) + ": run a newer nidan";
}

}  // namespace nidan::storage::pg
