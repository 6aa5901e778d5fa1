#pragma once
// Password hashing runs here, on hash.threads threads of its own, never on an io thread. A
// bounded queue turns overload into a quick 503 instead of latency growing without limit.
// /metrics shows how long jobs wait for a thread and how long they then take.
#include <atomic>
#include <chrono>
#include <system_error>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/base/error.hpp"
#include "core/base/histogram.hpp"
#include "server/base/http_types.hpp"
#include "server/base/thread_priority.hpp"

namespace nidan::server {

class hash_pool {
public:
    // priority: hash.thread_nice and hash.thread_scheduling, set by each thread at its first job.
    hash_pool(unsigned threads, std::size_t max_queue, thread_priority priority = {})
        : pool_(threads), max_queue_(max_queue), priority_(priority) {}

    // Runs fn() on the pool; the caller resumes on its own executor. Give it a lambda that
    // captures by reference (the caller's locals outlive the co_await): g++ 12 may destroy a
    // temporary of a co_await expression twice (GCC bug 100611, see storage_bridge.hpp). Throws
    // std::system_error(errc::overloaded) when max_queue jobs are already waiting or running,
    // std::system_error(errc::shutting_down) once stop() has been called.
    template <class Fn>
    awaitable<std::invoke_result_t<Fn&>> run(Fn fn) {
        using result = std::invoke_result_t<Fn&>;
        if (stopping_.load(std::memory_order_acquire))
            throw std::system_error(make_error_code(errc::shutting_down), "hash pool stopped");
        if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_queue_) {
            pending_.fetch_sub(1, std::memory_order_relaxed);
            throw std::system_error(make_error_code(errc::overloaded), "hash queue full");
        }
        struct release {
            std::atomic<std::size_t>& n;
            ~release() { n.fetch_sub(1, std::memory_order_relaxed); }
        } on_exit{pending_};
        co_return co_await net::co_spawn(
            pool_,
            [this, fn = std::move(fn), submitted = std::chrono::steady_clock::now()]() mutable -> awaitable<result> {
                wait_.record(std::chrono::steady_clock::now() - submitted);
                if (stopping_.load(std::memory_order_acquire))
                    throw std::system_error(make_error_code(errc::shutting_down), "hash pool stopped");
                prepare_hash_thread_once(priority_);
                const scoped_timer timed(run_);
                co_return fn();
            },
            net::use_awaitable);
    }

    std::size_t pending() const { return pending_.load(std::memory_order_relaxed); }
    // From run() to the job's start on a pool thread: the queue's wait.
    const histogram& queue_wait() const noexcept { return wait_; }
    // The job itself (one Argon2id hash or verify).
    const histogram& durations() const noexcept { return run_; }

    // Call once the io threads have returned and before the io_context is destroyed. Drains
    // instead of abandoning: jobs not started yet fail with errc::shutting_down without
    // hashing, so this waits for at most the hashes already running. A job left in the pool's
    // queue would own its caller's coroutine frames and, when the pool is destroyed after the
    // io_context (server_app's member order), destroy them through the dead io_context
    // (heap-use-after-free under ASan).
    void stop() {
        stopping_.store(true, std::memory_order_release);
        pool_.join();
    }

private:
    net::thread_pool pool_;
    const std::size_t max_queue_;
    const thread_priority priority_;
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> stopping_{false};
    histogram wait_;
    histogram run_;
};

}  // namespace nidan::server
