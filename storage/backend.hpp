#pragma once
// The storage the server and the CLI see: one backend, chosen at startup by storage.backend.
// LMDB (storage/lmdb/lmdb_backend.hpp) is the embedded one-node default; PostgreSQL is for several
// nodes sharing one database. Nothing outside storage/ names either: the login steps read and
// write through core's record interface (core/login/login_records.hpp), the delivery loop, the sweeps
// and the operator commands through the wider one below.
//
// Work is handed over as a closure, run against one transaction, and answered through a
// completion with an error_code (empty: done, and for a write, durable as storage.durability
// promises). A closure may throw: storage::error and other std::system_error codes reach the
// completion unchanged, anything else becomes errc::storage_unavailable, and its writes are
// undone. Knows nothing of Asio: server/base/storage_bridge.hpp turns these into awaitables.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/account/account.hpp"
#include "core/security/attempt_gate.hpp"
#include "core/login/login_records.hpp"
#include "core/mail/outbox_mail.hpp"

namespace nidan::storage {

struct outbox_stats {
    std::size_t queued = 0;
    std::size_t failed = 0;
    std::int64_t oldest_created_at = 0;  // of the queued mails; 0 when none
};

// An entry of the attempt gate shared by several nodes (record_store::gate_track).
struct gate_entry {
    std::uint64_t id = 0;
    std::uint32_t others = 0;  // live entries of the same subject besides this one
};

// What record_store::gate_admit gives: the plan's entries, or why it cannot have them now.
struct gate_admission {
    std::vector<std::uint64_t> entries;            // empty when refused
    std::uint64_t line_entry = 0;                  // its place in the line (0: no line)
    std::optional<throttle_refusal> refused;
};

// What the delivery loop and the operator commands read beyond the login steps' records.
class extra_reads {
public:
    // Due mails (due_at <= now_ms) in delivery order (priority, due time, id), at most `limit`,
    // skipping ids for which skip(id) is true (mails this process already has in flight).
    virtual std::vector<outbox_mail> due_mails(std::int64_t now_ms, std::size_t limit,
                                               const std::function<bool(std::uint64_t)>& skip) const = 0;
    // The earliest due_at later than now_ms; nullopt when no queued mail is due later.
    virtual std::optional<std::int64_t> next_due_after(std::int64_t now_ms) const = 0;
    virtual outbox_stats outbox_statistics() const = 0;
    // For `nidan outbox list`: queued in delivery order, failed by failed_at. false stops.
    virtual void for_each_queued(const std::function<bool(const outbox_mail&)>& visit) const = 0;
    virtual void for_each_failed(const std::function<bool(const outbox_mail&)>& visit) const = 0;
    // Accounts of one portal (all when empty) in (portal, id) order until visit returns false.
    virtual void for_each_account(std::string_view portal, const std::function<bool(const account&)>& visit) const = 0;
    // The live sessions of one account at `now`, each with its id hash. A scan: operator
    // commands only, never a request.
    virtual std::vector<std::pair<std::string, session_record>> sessions_of(std::string_view portal,
                                                                            std::string_view id,
                                                                            std::int64_t now) const = 0;
    // A server-wide secret by name (meta), nullopt when none was stored.
    virtual std::optional<std::string> get_secret(std::string_view name) const = 0;

protected:
    ~extra_reads() = default;
};

// A read-only transaction.
class record_view : public login::record_reader, public extra_reads {
protected:
    ~record_view() = default;
};

// A write transaction.
class record_store : public login::record_writer, public extra_reads {
public:
    // False (nothing written) when the account exists already.
    virtual bool insert_account(const account& a) = 0;
    // False when there was no such account.
    virtual bool erase_account(std::string_view portal, std::string_view id) = 0;

    // The mail as due_mails() returned it. False when it is no longer queued as it was
    // (delivered, purged or retried meanwhile, by this node or another).
    virtual bool remove_mail(const outbox_mail& mail) = 0;  // delivered
    // Attempts + 1, due again at new_due_ms, error as its last_error.
    virtual bool reschedule_mail(const outbox_mail& mail, std::int64_t new_due_ms, const std::string& error) = 0;
    // To the failed list, failed_at = now (unix seconds).
    virtual bool fail_mail(const outbox_mail& mail, const std::string& reason, std::int64_t now) = 0;
    // A failed mail back to the queue due now, or a queued one made due now; false: no such id.
    virtual bool retry_mail(std::uint64_t id, std::int64_t now_ms) = 0;
    // Deletes failed mails (all, or the one id); how many.
    virtual std::size_t purge_failed(std::optional<std::uint64_t> id) = 0;

    // Of `due` (as due_mails() returned them), the mails this node may now send: each is leased
    // to it until lease_until_ms, so no other node sends it meanwhile; a node that dies lets its
    // leases run out and another node takes the mails then. Recording the mail's outcome
    // (remove, reschedule, fail) ends the lease. Backends with one delivering process return
    // `due` unchanged.
    virtual std::vector<outbox_mail> lease_mails(std::vector<outbox_mail> due, std::int64_t now_ms,
                                                 std::int64_t lease_until_ms) = 0;

    // Removes up to max_entries expired sessions, codes and counters; how many. Call again
    // while it returns max_entries.
    virtual std::size_t sweep_expired(std::int64_t now, std::size_t max_entries) = 0;

    // The secret stored under `name`, or `bytes` fresh CSPRNG bytes stored now: two processes
    // starting at once end up with one.
    virtual std::string get_or_create_secret(std::string_view name, std::size_t bytes) = 0;
    virtual bool erase_secret(std::string_view name) = 0;

    // The attempt gate of core/security/attempt_gate.hpp where several nodes share it
    // (server/steps/shared_attempt_gate.hpp), with the same subjects and rules. Only a shared()
    // backend keeps one: on the others a process's own gate is the whole truth and these throw
    // std::logic_error. An entry counts until released or until its expires_ms has passed (a
    // dead node's entries stop counting then), so a gate never stays shut.
    // One entry per subject, in the order given, each with the live entries it joined.
    virtual std::vector<gate_entry> gate_track(const std::vector<std::string>& subjects, std::int64_t now_ms,
                                               std::int64_t expires_ms) = 0;
    // The plan's pair, account slot and place in line, all or none.
    virtual gate_admission gate_admit(const login::gate_plan& plan, std::int64_t now_ms, std::int64_t expires_ms) = 0;
    // Whether line_entry is the first live entry of the plan's line (true without a line); the
    // entries' lives are extended to expires_ms meanwhile.
    virtual bool gate_served(const login::gate_plan& plan, const gate_admission& admitted, std::int64_t now_ms,
                             std::int64_t expires_ms) = 0;
    virtual void gate_release(const std::vector<std::uint64_t>& entries) = 0;

protected:
    ~record_store() = default;
};

// The name of the HMAC key of codes, device tokens and form tokens among the secrets.
inline constexpr std::string_view server_secret_name = "server_secret";

using completion = std::function<void(std::error_code)>;
using read_work = std::function<void(const record_view&)>;
using write_work = std::function<void(record_store&)>;

// One figure for /metrics, backend-specific (writer queue, map use, pool connections...). A
// histogram is one series of its family (storage/duration_histogram.hpp): the series of one
// name come one after the other, told apart by their labels.
struct metric_sample {
    std::string name;  // nidan_storage_...
    std::string type;  // gauge | counter | histogram
    std::string help;
    double value = 0;  // histogram: the sum of the observations
    std::string labels = {};  // histogram: `kind="read"`, or empty
    // histogram: (upper bound, observations <= bound), ascending and cumulative; the last bound
    // is +Inf and its count is the series' _count.
    std::vector<std::pair<double, std::uint64_t>> buckets = {};
};

class backend {
public:
    virtual ~backend() = default;
    virtual std::string_view name() const = 0;  // "lmdb", "postgres"

    // True when read() runs `work` and calls `done` on the calling thread before it returns
    // (LMDB: a read is a memory lookup): the caller may then run it without suspending.
    virtual bool reads_inline() const = 0;
    virtual void read(read_work work, completion done) = 0;
    // False, and `done` never called, when the write queue is full or the backend stopping: the
    // caller answers 503. `done` may run on a storage thread: it must be quick and not throw.
    virtual bool write(write_work work, completion done) = 0;

    // True when several processes share the state (and so deliver mails side by side): the
    // delivery loop then leases the mails it takes (record_store::lease_mails).
    virtual bool shared() const = 0;

    // Empty when ready for requests; otherwise why not, for /readyz and the log.
    virtual std::string not_ready_reason() const = 0;
    virtual std::vector<metric_sample> metrics() const = 0;

    // Runs `f` (on a storage thread or inline) whenever a mail was queued through this or, where
    // the backend can tell, another node. Set once, before serving.
    virtual void on_mail_queued(std::function<void()> f) = 0;

    // Takes no new work, finishes what is queued, makes it durable. Idempotent.
    virtual void stop() = 0;
};

// What a failed closure's exception becomes in its completion (see the header comment).
std::error_code error_code_of(const std::exception_ptr& e);

// Blocking forms, for startup and the CLI (never on an io thread). An exception the closure
// threw is rethrown as it was (the CLI's own errors keep their type); any other failure is
// thrown as a std::system_error of the completion's code.
void read_now(backend& b, const read_work& work);
void write_now(backend& b, const write_work& work);

}  // namespace nidan::storage
