#pragma once
// Delivers the outbox: a scheduler coroutine takes due mails (login codes first) and hands them
// to smtp.pool_size worker coroutines, each holding at most one reused connection to the relay.
// A mail leaves the outbox only when the relay accepted it (250), so after a crash everything
// not yet accepted is sent again; only a mail in flight at the crash can arrive twice.
// Everything runs on one strand of the io_context: no thread ever waits for SMTP.
#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/config/config.hpp"
#include "core/smtp/smtp_dialogue.hpp"
#include "server/base/http_types.hpp"
#include "storage/backend.hpp"

namespace nidan::server {

struct delivery_metrics {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> retried{0};
    std::atomic<std::uint64_t> failed{0};    // refused for good (5xx) or out of attempts
    std::atomic<std::uint64_t> expired{0};   // dropped: the code expired before delivery
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> connection_failures{0};
};

class mail_delivery {
public:
    // Throws config_error when the SMTP TLS settings or credentials cannot be loaded.
    mail_delivery(net::io_context& ioc, const config& cfg, storage::backend& store);
    ~mail_delivery();

    // The key sealed mails are opened with (core/mail/sealed_mail.hpp); set before start().
    void set_outbox_key(std::string key) { outbox_key_ = std::move(key); }
    void start();
    // A mail was committed to the outbox: look now instead of at the next poll. Thread-safe.
    void notify();
    // Stops taking mails; workers finish the mail in hand and close their connections.
    void stop();

    const delivery_metrics& metrics() const { return metrics_; }

private:
    awaitable<void> schedule();
    awaitable<void> work(std::size_t index);
    awaitable<void> record(const outbox_mail& mail, const smtp::message_outcome& outcome);
    awaitable<void> drop_expired(std::vector<outbox_mail> mails);
    // With several nodes: until when a mail taken now is leased to this node
    // (storage::record_store::lease_mails).
    std::int64_t lease_until(std::int64_t now) const;
    void wake_workers();

    net::io_context& ioc_;
    const config& cfg_;
    storage::backend& store_;
    std::unique_ptr<net::ssl::context> tls_;
    std::optional<smtp::credentials> credentials_;
    net::strand<net::io_context::executor_type> strand_;
    net::steady_timer scheduler_wake_;
    bool wake_pending_ = false;
    std::vector<std::unique_ptr<net::steady_timer>> worker_wake_;
    std::deque<outbox_mail> ready_;
    std::set<std::uint64_t> in_flight_;
    bool stopping_ = false;
    std::string outbox_key_;
    delivery_metrics metrics_;
};

}  // namespace nidan::server
