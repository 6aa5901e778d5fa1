#pragma once
// The single writer: one thread owns every write transaction of this process and commits work
// in groups. Callers hand it a closure ("what to write") and a completion; the thread takes up
// to max_batch queued closures, runs each in its own nested txn inside ONE top-level txn,
// commits once (one fsync for the whole group), then calls every completion with its result.
//
// Isolation: a closure that throws loses only its own changes (its child txn is aborted); its
// neighbours still commit. A full map is such a throw (storage_full) and fails only that item.
// If the group commit itself fails, every item that had succeeded gets the commit's error.
//
// Knows nothing of Asio: the server wraps submit() into an awaitable and posts the completion
// back to the waiting coroutine's executor.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/base/histogram.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

class writer {
public:
    // May throw to abort its own changes. storage::error and other std::system_error codes
    // reach `done` unchanged; any other exception becomes errc::storage_unavailable.
    using work = std::function<void(write_txn&)>;
    // Called on the writer thread after the group commit, with an empty code on success. Must
    // be quick and must not throw (an escaping exception is swallowed).
    using done = std::function<void(std::error_code)>;

    // max_batch: most closures per commit (0 counts as 1). max_queue: most closures waiting.
    writer(environment& env, std::size_t max_batch, std::size_t max_queue);
    ~writer();  // stop(), then wait for the thread

    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    // False, and `finished` is never called, when the queue is full or the writer is stopping:
    // the caller answers 503.
    bool submit(work job, done finished);

    // Takes no new work, runs what is already queued, then lets the thread exit. Waits for that
    // unless called from the writer thread itself (from a completion). Idempotent.
    void stop();

    std::size_t queue_depth() const;
    // Group commits made so far (successful or not): items / commits is the grouping factor.
    std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }
    // Closures run so far.
    std::uint64_t items() const noexcept { return items_.load(std::memory_order_relaxed); }
    // Closures per group commit, one observation per commit: how much the grouping saves.
    const histogram& batch_sizes() const noexcept { return batch_sizes_; }

private:
    struct item {
        work job;
        done finished;
        std::error_code result;
    };

    void run();
    void run_batch(std::deque<item>& batch);

    environment& env_;
    const std::size_t max_batch_;
    const std::size_t max_queue_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<item> queue_;
    bool stopping_ = false;

    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> items_{0};
    histogram batch_sizes_{size_bounds, one_item};

    std::mutex join_mutex_;
    std::thread thread_;  // last: starts once everything above is constructed
};

}  // namespace nidan::storage
