#include "storage/postgres/pg_backend.hpp"

#include <poll.h>

#include <fstream>

#include "core/base/log.hpp"
#include "core/base/thread_name.hpp"
#include "storage/error.hpp"
#include "storage/postgres/pg_records.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace nidan::storage::pg {
namespace {

std::string first_line_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line))
        throw config_error("storage.postgres_password_file", "cannot read " + file.string());
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

connect_options options_of(const storage_config& cfg) {
    connect_options o;
    o.url = cfg.postgres_url;
    if (!cfg.postgres_password_file.empty()) o.password = first_line_of(cfg.postgres_password_file);
    o.connect_timeout = cfg.postgres_connect_timeout;
    o.statement_timeout = cfg.postgres_statement_timeout;
    o.commit_without_flush = cfg.durability == durability_mode::no_sync;
    return o;
}

pg_backend::pg_backend(const storage_config& cfg) : options_(options_of(cfg)), max_queue_(cfg.writer_max_queue) {
    {
        connection first(options_);
        if (const problem why = schema_problem(first)) throw error(errc::storage_corrupt, *why);
    }
    connected_ = true;
    for (unsigned i = 0; i < std::max(cfg.postgres_pool_size, 1u); ++i) threads_.emplace_back([this, i] { run(i); });
}

pg_backend::~pg_backend() { stop(); }

void pg_backend::read(read_work work, completion done) {
    std::unique_lock lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) {
        lock.unlock();
        done(make_error_code(stopping_ ? errc::shutting_down : errc::overloaded));
        return;
    }
    queue_.push_back({std::move(work), {}, std::move(done), std::chrono::steady_clock::now()});
    lock.unlock();
    wake_.notify_one();
}

bool pg_backend::write(write_work work, completion done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= max_queue_) return false;
        queue_.push_back({{}, std::move(work), std::move(done), std::chrono::steady_clock::now()});
    }
    wake_.notify_one();
    return true;
}

void pg_backend::run(std::size_t) {
    std::unique_ptr<connection> conn;
    for (;;) {
        job j;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued is done
            j = std::move(queue_.front());
            queue_.pop_front();
        }
        queue_wait_[j.write ? write_kind : read_kind].record(std::chrono::steady_clock::now() - j.queued_at);
        busy_.fetch_add(1, std::memory_order_relaxed);
        const auto ec = execute(conn, j);
        busy_.fetch_sub(1, std::memory_order_relaxed);
        if (ec) failures_.fetch_add(1, std::memory_order_relaxed);
        try {
            j.done(ec);
        } catch (...) {
            // A completion must not throw; nothing to undo here.
        }
    }
}

std::error_code pg_backend::execute(std::unique_ptr<connection>& conn, job& j) {
    try {
        if (!conn || !conn->usable()) {
            conn.reset();
            conn = std::make_unique<connection>(options_);
            connects_.fetch_add(1, std::memory_order_relaxed);
        }
        connected_ = true;
    } catch (const std::exception& e) {
        connected_ = false;
        log::warn("storage.connect_failed").add("backend", "postgres").add("error", e.what());
        return error_code_of(std::current_exception());
    }
    bool queued_mail = false;
    auto& timed = db_time_[j.write ? write_kind : read_kind];
    const auto started = std::chrono::steady_clock::now();
    try {
        if (j.write) {
            conn->exec("BEGIN");
            store s(*conn);
            j.write(s);
            conn->exec("COMMIT");
            queued_mail = s.queued_mail();
        } else {
            // One consistent snapshot for every statement of the closure.
            conn->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
            view v(*conn);
            j.read(v);
            conn->exec("COMMIT");
        }
        timed.record(std::chrono::steady_clock::now() - started);
        transactions_.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
        const auto ec = error_code_of(std::current_exception());
        conn->rollback();
        timed.record(std::chrono::steady_clock::now() - started);
        if (!conn->usable()) {
            connected_ = false;
            conn.reset();
        }
        return ec;
    }
    if (queued_mail && mail_queued_) mail_queued_();
    return {};
}

std::string pg_backend::not_ready_reason() const {
    if (!connected_) return "database unreachable (storage.postgres_url)";
    return {};
}

std::vector<metric_sample> pg_backend::metrics() const {
    std::size_t waiting = 0;
    {
        std::lock_guard lock(mutex_);
        waiting = queue_.size();
    }
    std::vector<metric_sample> samples{
        {"nidan_storage_pool_connections", "gauge", "Database connections (storage.postgres_pool_size).",
         static_cast<double>(threads_.size())},
        {"nidan_storage_pool_in_use", "gauge", "Database connections running a transaction now.",
         static_cast<double>(busy_.load(std::memory_order_relaxed))},
        {"nidan_storage_pool_waiting", "gauge", "Storage jobs waiting for a database connection.", static_cast<double>(waiting)},
        {"nidan_storage_transactions_total", "counter", "Database transactions committed.",
         static_cast<double>(transactions_.load(std::memory_order_relaxed))},
        {"nidan_storage_errors_total", "counter", "Storage jobs that failed (connection, timeout, conflict).",
         static_cast<double>(failures_.load(std::memory_order_relaxed))},
        {"nidan_storage_connects_total", "counter", "Database connections opened.",
         static_cast<double>(connects_.load(std::memory_order_relaxed))},
    };
    for (const auto k : {read_kind, write_kind}) {
        const std::string label = k == read_kind ? "kind=\"read\"" : "kind=\"write\"";
        samples.push_back(db_time_[k].sample("nidan_storage_db_seconds",
                                             "Database transactions, from BEGIN on the job's connection to COMMIT "
                                             "or ROLLBACK, by kind.",
                                             label));
    }
    for (const auto k : {read_kind, write_kind}) {
        const std::string label = k == read_kind ? "kind=\"read\"" : "kind=\"write\"";
        samples.push_back(queue_wait_[k].sample("nidan_storage_queue_wait_seconds",
                                                "Time storage jobs waited for a database connection, by kind.", label));
    }
    return samples;
}

void pg_backend::on_mail_queued(std::function<void()> f) {
    mail_queued_ = std::move(f);
    if (!listener_.joinable()) listener_ = std::thread([this] { listen(); });
}

void pg_backend::listen() {
    name_this_thread("nidan-pg-listen");
    constexpr auto retry = std::chrono::seconds(1);
    std::unique_ptr<connection> conn;
    auto stopping = [this] {
        std::lock_guard lock(mutex_);
        return stopping_;
    };
    while (!stopping()) {
        try {
            if (!conn || !conn->usable()) {
                conn = std::make_unique<connection>(options_);
                conn->exec("LISTEN nidan_outbox");
                // Mails queued while it was not listening: look once.
                mail_queued_();
            }
            pollfd fd{PQsocket(conn->handle()), POLLIN, 0};
            // Short waits, so that stop() is noticed.
            if (::poll(&fd, 1, 250) > 0) {
                if (PQconsumeInput(conn->handle()) == 0) {
                    conn.reset();
                    continue;
                }
                bool woken = false;
                while (PGnotify* n = PQnotifies(conn->handle())) {
                    PQfreemem(n);
                    woken = true;
                }
                if (woken) mail_queued_();
            }
        } catch (const std::exception& e) {
            log::warn("storage.listen_failed").add("backend", "postgres").add("error", e.what());
            conn.reset();
            std::unique_lock lock(mutex_);
            listener_wake_.wait_for(lock, retry, [this] { return stopping_; });
        }
    }
}

void pg_backend::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    listener_wake_.notify_all();
    for (auto& t : threads_)
        if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    if (listener_.joinable() && listener_.get_id() != std::this_thread::get_id()) listener_.join();
}

}  // namespace nidan::storage::pg
