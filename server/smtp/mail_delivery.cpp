#include "server/smtp/mail_delivery.hpp"

#include "core/mail/sealed_mail.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

#include "core/base/clock.hpp"
#include "core/base/log.hpp"
#include "server/smtp/smtp_connection.hpp"
#include "server/base/storage_bridge.hpp"
#include "server/base/awaitables.hpp"

namespace nidan::server {
namespace {

// Mails queued by another process (`nidan outbox retry`, an import) are not announced through
// notify(); the scheduler looks at least this often.
constexpr std::chrono::milliseconds poll_interval{1000};
// A mail due this soon counts as due. Another process's clock reading and ours cannot be ordered
// finer than the gap between our reading and the read of the outbox: a code queued with
// due = its writer's now could otherwise miss a look that an older notice makes, and the notice
// would go first. Sending a mail this much early is harmless (retries wait seconds).
constexpr std::int64_t due_slack_ms = 250;
constexpr std::chrono::hours forever{24};

std::string recipients(const outbox_mail& mail) {
    std::string out;
    for (const auto& r : mail.rcpt_to) {
        if (!out.empty()) out += ",";
        out += log::mask_email(r);
    }
    return out;
}

}  // namespace

mail_delivery::mail_delivery(net::io_context& ioc, const config& cfg, storage::backend& store)
    : ioc_(ioc),
      cfg_(cfg),
      store_(store),
      tls_(make_smtp_tls_context(cfg.smtp)),
      credentials_(load_smtp_credentials(cfg.smtp)),
      strand_(net::make_strand(ioc)),
      scheduler_wake_(strand_) {
    for (unsigned i = 0; i < cfg.smtp.pool_size; ++i) worker_wake_.push_back(std::make_unique<net::steady_timer>(strand_));
}

mail_delivery::~mail_delivery() = default;

void mail_delivery::start() {
    net::co_spawn(strand_, schedule(), log_escaped("mail.delivery_crashed"));
    for (std::size_t i = 0; i < worker_wake_.size(); ++i) net::co_spawn(strand_, work(i), log_escaped("mail.delivery_crashed"));
}

void mail_delivery::notify() {
    net::post(strand_, [this] {
        wake_pending_ = true;
        scheduler_wake_.cancel();
    });
}

void mail_delivery::stop() {
    net::post(strand_, [this] {
        stopping_ = true;
        scheduler_wake_.cancel();
        wake_workers();
    });
}

void mail_delivery::wake_workers() {
    for (auto& timer : worker_wake_) timer->cancel();
}

awaitable<void> mail_delivery::schedule() {
    const std::size_t pool = worker_wake_.size();
    while (!stopping_) {
        // Taken again where the outbox is read: the read may first wait for a free storage
        // thread or a connection, and a mail queued meanwhile must count as due. (A stale "now"
        // found a code queued during that wait not yet due and sent an older notice first.)
        auto now = unix_now_ms();
        std::vector<outbox_mail> fetched;
        std::optional<std::int64_t> next_due;
        // Copied: the read may run on a storage thread while the workers change the originals.
        const std::size_t wanted = ready_.size() < pool ? pool - ready_.size() : 0;
        const auto in_flight = in_flight_;
        std::vector<outbox_mail> expired;
        std::vector<outbox_mail> sendable;
        const auto look = [&](const storage::extra_reads& v) {
            now = unix_now_ms();
            const auto due_by = now + due_slack_ms;
            if (wanted > 0)
                fetched = v.due_mails(due_by, wanted, [&in_flight](std::uint64_t id) { return in_flight.contains(id); });
            next_due = v.next_due_after(due_by);
            for (auto& mail : fetched) {
                if (mail.expires_at != 0 && mail.expires_at * 1000 <= now) expired.push_back(std::move(mail));
                else sendable.push_back(std::move(mail));
            }
        };
        if (store_.shared()) {
            // Where nodes deliver side by side, what is due and the lease of what this node will
            // send are one transaction.
            const auto ec = co_await write(store_, [&](storage::record_store& s) {
                look(s);
                if (!sendable.empty()) sendable = s.lease_mails(std::move(sendable), now, lease_until(now));
            });
            if (ec) {
                log::error("mail.lease_failed").add("error", ec.message());
                expired.clear();
                sendable.clear();  // none leased: they are tried again at the next look
            }
        } else {
            const auto ec = co_await read(store_, [&](const storage::record_view& v) { look(v); });
            if (ec) log::error("mail.outbox_read_failed").add("error", ec.message());
        }
        for (auto& mail : sendable) {
            in_flight_.insert(mail.id);
            ready_.push_back(std::move(mail));
        }
        if (!ready_.empty()) wake_workers();
        if (!expired.empty()) co_await drop_expired(std::move(expired));

        if (wake_pending_) {
            wake_pending_ = false;
            continue;
        }
        auto wait = poll_interval;
        if (next_due) wait = std::min(wait, std::chrono::milliseconds(std::max<std::int64_t>(*next_due - now, 0)));
        scheduler_wake_.expires_after(wait);
        co_await scheduler_wake_.async_wait(use_tuple);
        wake_pending_ = false;
    }
}

std::int64_t mail_delivery::lease_until(std::int64_t now) const {
    // Long enough for one whole SMTP transaction at the configured timeouts, so a lease does not
    // run out under a slow but working relay; a node that dies holds its mails this long.
    const auto& s = cfg_.smtp;
    const auto longest = s.connect_timeout + s.tls_timeout + s.greeting_timeout + 6 * s.command_timeout + s.data_timeout;
    return now + std::chrono::duration_cast<std::chrono::milliseconds>(longest).count() + 10'000;
}

awaitable<void> mail_delivery::drop_expired(std::vector<outbox_mail> mails) {
    const auto now = unix_now_ms() / 1000;
    auto ec = co_await write(store_, [&mails, now](storage::record_store& s) {
        for (const auto& mail : mails) s.fail_mail(mail, "expired: the code expired before it could be delivered", now);
    });
    if (ec) {
        log::error("mail.record_failed").add("error", ec.message());
        co_return;
    }
    for (const auto& mail : mails) {
        metrics_.expired.fetch_add(1, std::memory_order_relaxed);
        log::warn("mail.expired").add("mail_id", mail.id).add("kind", mail.kind).add("to", recipients(mail))
            .add("attempts", mail.attempts);
    }
}

awaitable<void> mail_delivery::work(std::size_t index) {
    auto& wake = *worker_wake_[index];
    std::unique_ptr<smtp_connection> connection;
    const auto& smtp = cfg_.smtp;
    while (!stopping_) {
        if (ready_.empty()) {
            wake.expires_after(connection ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(smtp.idle_timeout)
                                          : std::chrono::duration_cast<std::chrono::steady_clock::duration>(forever));
            auto [ec] = co_await wake.async_wait(use_tuple);
            if (!ec && connection && ready_.empty()) {  // idle for smtp.idle_timeout_s
                co_await connection->close();
                connection.reset();
            }
            continue;
        }
        auto mail = std::move(ready_.front());
        ready_.pop_front();

        if (connection && (!connection->reusable() || connection->messages_sent() >= smtp.max_messages_per_connection ||
                           std::chrono::steady_clock::now() - connection->opened_at() > smtp.connection_max_age)) {
            co_await connection->close();
            connection.reset();
        }
        smtp::message_outcome outcome;
        auto opened = mail::open_message(outbox_key_, mail.message);
        if (!opened) {
            // Sealed under another server secret, or damaged: no relay can be given it, so no
            // connection is opened for it.
            outcome = {smtp::message_outcome::kind::permanent, 0, "outbox",
                       "the sealed mail does not open with this server's secret"};
        } else {
            if (!connection) {
                connection = std::make_unique<smtp_connection>(strand_, smtp, *tls_, credentials_, [](const std::string& line) {
                    log::debug("smtp.dialogue").add("line", line);
                });
                metrics_.connections.fetch_add(1, std::memory_order_relaxed);
                if (auto error = co_await connection->open()) {
                    metrics_.connection_failures.fetch_add(1, std::memory_order_relaxed);
                    log::warn("smtp.connect_failed").add("relay", smtp.relay.to_string()).add("error", *error);
                    outcome = {smtp::message_outcome::kind::transient, 0, "connection", *error};
                    connection.reset();
                }
            }
            if (connection) {
                // A named envelope, not a braced temporary inside the co_await expression: GCC 12
                // destroys such a temporary twice (a double free on every mail sent; GCC bug
                // 100611, see server/base/storage_bridge.hpp).
                smtp::envelope envelope{mail.mail_from, mail.rcpt_to, std::move(*opened)};
                outcome = co_await connection->send(std::move(envelope));
            }
        }
        co_await record(mail, outcome);
        in_flight_.erase(mail.id);
        wake_pending_ = true;
        scheduler_wake_.cancel();
    }
    if (connection) co_await connection->close();
}

awaitable<void> mail_delivery::record(const outbox_mail& mail, const smtp::message_outcome& outcome) {
    using kind = smtp::message_outcome::kind;
    const auto& smtp = cfg_.smtp;
    const auto now = unix_now_ms();
    const auto attempts = mail.attempts + 1;
    // The relay's reply (its code included) or the connection error, for the log and the operator.
    const std::string reply = outcome.stage + ": " + outcome.reply;

    auto result = outcome.result;
    if (result == kind::transient && attempts >= smtp.max_attempts) result = kind::permanent;
    const auto& backoff = smtp.retry_backoff;
    const auto delay = backoff[std::min<std::size_t>(attempts - 1, backoff.size() - 1)];
    const auto next_try = now + std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();

    bool stored = false;
    auto ec = co_await write(store_, [&](storage::record_store& s) {
        switch (result) {
        case kind::accepted: stored = s.remove_mail(mail); break;
        case kind::permanent: stored = s.fail_mail(mail, reply, now / 1000); break;
        case kind::transient: stored = s.reschedule_mail(mail, next_try, reply); break;
        }
    });
    if (ec) {
        // The mail stays queued as it was and is tried again: at least once, never lost.
        log::error("mail.record_failed").add("mail_id", mail.id).add("error", ec.message());
        co_return;
    }
    auto event = result == kind::accepted ? log::info("mail.sent") : log::warn(result == kind::permanent ? "mail.failed" : "mail.retry");
    event.add("mail_id", mail.id).add("kind", mail.kind).add("to", recipients(mail)).add("attempts", attempts)
        .add("reply", reply);
    if (result == kind::transient) event.add("next_try_in_s", static_cast<std::int64_t>(delay.count()));
    if (!stored) event.add("note", "the mail had left the queue meanwhile (operator action)");
    auto& counter = result == kind::accepted ? metrics_.sent : result == kind::permanent ? metrics_.failed : metrics_.retried;
    counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace nidan::server
