#pragma once
// The mail outbox: mails waiting for the SMTP relay, and the ones it refused for good. A mail is
// written inside the caller's write transaction (so a login code and its mail commit together),
// taken by the delivery loop in priority and due-time order, removed when the relay accepts it,
// rescheduled after a transient failure, and moved to `outbox_failed` after a permanent one or
// when its code expired before it could be sent. Nothing here sends anything.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/mail/outbox_mail.hpp"
#include "storage/backend.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

// The mail itself is core's (core/mail/outbox_mail.hpp): the login flow makes it, this table keeps it.
using nidan::mail_priority;
using nidan::outbox_mail;

// Writes the mail (id assigned here from a counter in `meta`, due_at left as given, or now_ms
// when 0; created_at now_ms / 1000 when 0; failed_at cleared) and returns its id. Call inside the
// caller's write txn: an aborted txn leaves neither the mail nor a used-up id behind. A priority
// outside mail_priority throws storage::error(invalid_input).
std::uint64_t enqueue_mail(write_txn& txn, outbox_mail mail, std::int64_t now_ms);

// Due mails (due_at <= now_ms) in order: priority, then due time, then id; at most `limit`,
// skipping ids for which `skip(id)` is true (mails already in flight). Walks only the due part
// of each priority, so mails waiting for a later retry cost nothing here.
std::vector<outbox_mail> due_mails(const txn& txn, std::int64_t now_ms, std::size_t limit,
                                   const std::function<bool(std::uint64_t)>& skip = {});
// The earliest due_at of any queued mail (to sleep until then); nullopt when empty.
std::optional<std::int64_t> next_due(const txn& txn);
// The earliest due_at later than now_ms (when the scheduler must look again, the due mails
// being in flight); nullopt when no queued mail is due later.
std::optional<std::int64_t> next_due_after(const txn& txn, std::int64_t now_ms);

// These find the mail by its key in `outbox`, (priority, due_at, id): pass it as due_mails()
// returned it. Each returns false when the mail is no longer queued under that key (delivered,
// purged or retried meanwhile).
bool remove_mail(write_txn& txn, const outbox_mail& mail);          // delivered
bool reschedule_mail(write_txn& txn, const outbox_mail& mail, std::int64_t new_due_ms,
                     const std::string& error);                     // attempts + 1
bool fail_mail(write_txn& txn, const outbox_mail& mail, const std::string& reason,
               std::int64_t now);                                   // to outbox_failed
// reschedule and fail start from the stored mail (not the fields passed in): new_due_ms becomes
// its due_at, error / reason its last_error; fail sets failed_at = now (unix seconds).

// Counts are exact. oldest_created_at reads the first `scan_limit` queued mails in delivery
// order (a few header bytes each, not the messages): exact while the queue is no longer than
// that, which is normal operation; beyond it, the oldest of those, and the queue length is the
// alarm anyway.
inline constexpr std::size_t outbox_stats_scan_limit = 10000;
outbox_stats outbox_statistics(const txn& txn, std::size_t scan_limit = outbox_stats_scan_limit);

// For `nidan outbox list|retry|purge`. Key order: queued by priority, due time, id; failed by
// failed_at, id. Return false from `visit` to stop.
void for_each_queued(const txn& txn, const std::function<bool(const outbox_mail&)>& visit);
void for_each_failed(const txn& txn, const std::function<bool(const outbox_mail&)>& visit);
// A failed mail back to the queue, due now (priority, attempts and last_error kept, failed_at
// cleared); or a queued mail waiting for a later retry made due now. True also for a queued mail
// that is already due (left as it is: it may be in flight). False when there is no such id.
bool retry_mail(write_txn& txn, std::uint64_t id, std::int64_t now_ms);
// Deletes failed mails (all, or only the one id); returns how many.
std::size_t purge_failed(write_txn& txn, std::optional<std::uint64_t> id = std::nullopt);

}  // namespace nidan::storage
