#pragma once
// Counts open connections against server.max_connections and lets shutdown reach each of them:
// idle keep-alive connections are closed at once, busy ones finish their request first.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>

namespace nidan::server {

// One per connection. Touched only on the connection's own executor (an io_context run by one
// thread), except through post().
struct connection_handle {
    boost::asio::any_io_executor executor;
    std::function<void()> cancel;  // cancels the socket's pending operation; empty once closed
    bool idle = true;              // waiting for the next request
};

class connection_tracker {
public:
    explicit connection_tracker(std::size_t max_connections) : max_(max_connections) {}

    // False when the cap is reached (the caller refuses the connection).
    bool try_admit();
    void add(std::uint64_t id, std::shared_ptr<connection_handle> handle);
    void remove(std::uint64_t id);  // also releases the admission
    std::uint64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
    std::size_t open() const { return open_.load(std::memory_order_relaxed); }

    // Each posts to the connections' executors; they return before the closing happens.
    void close_idle();
    void close_all();

private:
    void for_each(bool only_idle);

    const std::size_t max_;
    std::atomic<std::size_t> open_{0};
    std::atomic<std::uint64_t> next_id_{1};
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<connection_handle>> handles_;
};

// Registers a connection for its lifetime; remove() on destruction.
class connection_slot {
public:
    connection_slot(connection_tracker& tracker, boost::asio::any_io_executor executor);
    ~connection_slot();
    connection_slot(const connection_slot&) = delete;
    connection_slot& operator=(const connection_slot&) = delete;
    connection_handle& handle() { return *handle_; }

private:
    connection_tracker& tracker_;
    std::uint64_t id_;
    std::shared_ptr<connection_handle> handle_;
};

}  // namespace nidan::server
