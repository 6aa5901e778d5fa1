#pragma once
// The shared backend: state in a PostgreSQL database that any number of nidan processes use at
// once (storage.backend = "postgres").
//
// Threads, not non-blocking libpq: a login step's closure calls the record interface
// synchronously (core/ decides between reads and writes), so each job runs on one of
// storage.postgres_pool_size threads that owns one blocking connection, the way Argon2id runs
// on the hash pool. No io thread ever waits for the database. A job is one transaction: BEGIN,
// the closure's statements, COMMIT (durable with the server's synchronous_commit).
//
// Faults: a lost connection fails the job in hand (503) and is replaced on the next job; while
// the database is down every job fails within postgres_connect_timeout_ms, and service comes
// back by itself with the database. Nothing acknowledged is lost: a completion reports success
// only after COMMIT returned.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/config/config.hpp"
#include "storage/backend.hpp"
#include "storage/duration_histogram.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace nidan::storage::pg {

// The connection settings of the config (reads storage.postgres_password_file).
connect_options options_of(const storage_config& cfg);

class pg_backend final : public backend {
public:
    // Connects once and checks the schema: throws storage::error naming what to run when the
    // database cannot be reached or its schema is missing, older or newer.
    explicit pg_backend(const storage_config& cfg);
    ~pg_backend() override;

    std::string_view name() const override { return "postgres"; }
    bool reads_inline() const override { return false; }
    bool shared() const override { return true; }
    void read(read_work work, completion done) override;
    bool write(write_work work, completion done) override;
    std::string not_ready_reason() const override;
    std::vector<metric_sample> metrics() const override;
    void on_mail_queued(std::function<void()> f) override;
    void stop() override;

private:
    struct job {
        read_work read;    // one of the two
        write_work write;
        completion done;
        std::chrono::steady_clock::time_point queued_at;
    };
    enum kind : std::size_t { read_kind, write_kind };
    void run(std::size_t index);
    // LISTEN nidan_outbox on a connection of its own: a mail queued through any node wakes this
    // node's delivery loop within milliseconds, not at its next poll.
    void listen();
    std::error_code execute(std::unique_ptr<connection>& conn, job& j);

    const connect_options options_;
    const std::size_t max_queue_;
    std::function<void()> mail_queued_;  // set before serving, read by the storage threads

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable listener_wake_;  // apart: a worker's notify_one must reach a worker
    std::deque<job> queue_;
    bool stopping_ = false;

    std::atomic<std::size_t> busy_{0};
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> failures_{0};
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<bool> connected_{false};
    // By kind: how long jobs waited for a connection, and how long their transaction took on it
    // (BEGIN to COMMIT or ROLLBACK, the closure's statements included, connecting not).
    std::array<duration_histogram, 2> queue_wait_;
    std::array<duration_histogram, 2> db_time_;

    std::vector<std::thread> threads_;  // last: they start once everything above exists
    std::thread listener_;
};

}  // namespace nidan::storage::pg
