#include "storage/open/copy_from_lmdb.hpp"

#include "storage/lmdb/account_table.hpp"
#include "storage/backend.hpp"
#include "storage/lmdb/code_table.hpp"
#include "storage/lmdb/counter_table.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/outbox.hpp"
#include "storage/postgres/pg_backend.hpp"
#include "storage/postgres/pg_records.hpp"
#include "storage/postgres/pg_schema.hpp"
#include "storage/lmdb/secret.hpp"
#include "storage/lmdb/session_table.hpp"

namespace nidan::storage::pg {
namespace {

void require_empty(connection& c) {
    const auto r = c.run("copy_target_rows",
                         "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM sessions) + "
                         "(SELECT count(*) FROM outbox)");
    if (r.i64(0, 0) != 0)
        throw error(errc::already_exists, "the database already holds accounts, sessions or mails: copy into an empty one");
}

// The mail as stored, id and state included (store::queue_mail would give it a new id).
void insert_mail(connection& c, const outbox_mail& m) {
    std::string rcpt;
    for (const auto& r : m.rcpt_to) rcpt += (rcpt.empty() ? "" : "\n") + r;
    c.run("copy_mail",
          "INSERT INTO outbox (id, priority, kind, created_at, due_at, expires_at, attempts, mail_from, rcpt_to, message, "
          "last_error, failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
          params().i64(static_cast<std::int64_t>(m.id)).i32(static_cast<std::int32_t>(m.priority)).text(m.kind)
              .i64(m.created_at).i64(m.due_at).i64(m.expires_at).i32(static_cast<std::int32_t>(m.attempts))
              .text(m.mail_from).text(rcpt).bytes(m.message).text(m.last_error).i64(m.failed_at));
}

}  // namespace

copy_report copy_from_lmdb(const storage_config& lmdb, const storage_config& target) {
    if (!std::filesystem::exists(lmdb.data_dir / "data.mdb"))
        throw error(errc::not_found, "no nidan data in " + lmdb.data_dir.string());
    environment env(make_options(lmdb));
    auto source = env.begin_read();
    connection c(options_of(target));
    if (const problem why = schema_problem(c)) throw error(errc::storage_corrupt, *why);

    copy_report report;
    c.exec("BEGIN");
    try {
        require_empty(c);
        store s(c);
        for_each_account(source, {}, [&](const account& a) {
            s.save_account(a);
            ++report.accounts;
            return true;
        });
        for_each_session(source, [&](std::string_view hash, const session_record& r) {
            s.save_session(hash, r);
            ++report.sessions;
            return true;
        });
        for_each_code(source, [&](std::string_view portal, std::string_view id, const code_record& code) {
            s.save_code(portal, id, code);
            ++report.codes;
            return true;
        });
        for_each_counter(source, [&](const counter_entry& e) {
            c.run("copy_counter",
                  "INSERT INTO counters (kind, subject, window_start, count, expires_at) VALUES ($1, $2, $3, $4, $5)",
                  params().text(e.kind).bytes(e.subject).i64(e.window_start).i64(e.count).i64(e.expires_at));
            ++report.counters;
            return true;
        });
        storage::for_each_queued(source, [&](const outbox_mail& m) {
            insert_mail(c, m);
            ++report.queued_mails;
            return true;
        });
        storage::for_each_failed(source, [&](const outbox_mail& m) {
            insert_mail(c, m);
            ++report.failed_mails;
            return true;
        });
        // New mails continue after the copied ids.
        c.run("copy_outbox_sequence",
              "SELECT setval(pg_get_serial_sequence('outbox', 'id'), coalesce((SELECT max(id) FROM outbox), 0) + 1, false)");
        if (const auto secret = get_secret(source, server_secret_name)) {
            c.run("copy_secret", "INSERT INTO secrets (name, value) VALUES ($1, $2)",
                  params().text(server_secret_name).bytes(*secret));
            ++report.secrets;
        }
        c.exec("COMMIT");
    } catch (...) {
        c.rollback();
        throw;
    }
    return report;
}

}  // namespace nidan::storage::pg
