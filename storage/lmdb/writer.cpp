#include "storage/lmdb/writer.hpp"

#include <algorithm>
#include <utility>

#include "core/base/thread_name.hpp"
#include "storage/error.hpp"

namespace nidan::storage {
namespace {

// What a failed closure or commit reports: our own codes pass through, anything else is an
// unexpected failure of the storage layer.
std::error_code current_exception_code() {
    try {
        throw;
    } catch (const std::system_error& e) {
        return e.code();
    } catch (...) {
        return make_error_code(errc::storage_unavailable);
    }
}

}  // namespace

writer::writer(environment& env, std::size_t max_batch, std::size_t max_queue)
    : env_(env), max_batch_(std::max<std::size_t>(max_batch, 1)), max_queue_(max_queue),
      thread_([this] { run(); }) {}

writer::~writer() { stop(); }

bool writer::submit(work job, done finished) {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= max_queue_) return false;
        queue_.push_back(item{std::move(job), std::move(finished), {}});
    }
    wake_.notify_one();
    return true;
}

void writer::stop() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    // A completion calling stop() runs on the writer thread, which cannot join itself.
    if (std::this_thread::get_id() == thread_.get_id()) return;
    const std::lock_guard lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
}

std::size_t writer::queue_depth() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
}

void writer::run() {
    name_this_thread("nidan-writer");
    std::deque<item> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            const std::size_t count = std::min(queue_.size(), max_batch_);
            const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(count);
            batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
            queue_.erase(queue_.begin(), end);
        }
        run_batch(batch);
        batch.clear();
    }
}

void writer::run_batch(std::deque<item>& batch) {
    std::error_code commit_result;
    try {
        write_txn parent = env_.begin_write();
        for (item& it : batch) {
            try {
                write_txn child = parent.nested();
                it.job(child);
                child.commit();
            } catch (...) {
                // The child's destructor has already aborted its changes.
                it.result = current_exception_code();
            }
        }
        parent.commit();
    } catch (...) {
        commit_result = current_exception_code();
    }
    items_.fetch_add(batch.size(), std::memory_order_relaxed);
    commits_.fetch_add(1, std::memory_order_relaxed);
    batch_sizes_.record(batch.size());

    for (item& it : batch) {
        // An item that failed by itself keeps its own, more precise, error.
        if (!it.result) it.result = commit_result;
        if (!it.finished) continue;
        try {
            it.finished(it.result);
        } catch (...) {
            // A completion must not take the writer thread (and every later write) down.
        }
    }
}

}  // namespace nidan::storage
