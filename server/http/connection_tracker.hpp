#pragma once
// Counts open connections against server.max_connections, and per client subject (the socket
// peer's address_subject: IPv4 address, IPv6 /64) against server.max_connections_per_client, and lets shutdown reach each of them:
// idle keep-alive connections are closed at once, busy ones finish their request first.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>

namespace nidan::server {

// One per connection. Touched only on the connection's own executor (an io_context run by one
// thread), except through post().
struct connection_handle {
    boost::asio::any_io_executor executor;
    std::function<void()> cancel;  // cancels the socket's pending operation; empty once closed
    bool idle = true;              // waiting for the next request
    std::string client;            // the subject admitted under; released with the connection
};

enum class admission { admitted, server_full, client_full };

class connection_tracker {
public:
    connection_tracker(std::size_t max_connections, std::size_t max_per_client)
        : max_(max_connections), max_per_client_(max_per_client) {}

    // Counts one connection of `client` unless a cap is reached (the caller then refuses the
    // connection). An admitted connection is released by remove() of a handle whose client is
    // the same subject. per_client_cap false: only server.max_connections applies (a trusted
    // proxy carries many clients' connections).
    admission try_admit(const std::string& client, bool per_client_cap = true);
    void add(std::uint64_t id, std::shared_ptr<connection_handle> handle);
    void remove(std::uint64_t id);  // also releases the admission
    std::uint64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
    std::size_t open() const { return open_.load(std::memory_order_relaxed); }
    std::uint64_t refused_server_full() const { return refused_server_.load(std::memory_order_relaxed); }
    std::uint64_t refused_client_full() const { return refused_client_.load(std::memory_order_relaxed); }

    // Each posts to the connections' executors; they return before the closing happens.
    void close_idle();
    void close_all();

private:
    void for_each(bool only_idle);

    const std::size_t max_;
    const std::size_t max_per_client_;
    std::atomic<std::size_t> open_{0};
    std::atomic<std::uint64_t> refused_server_{0};
    std::atomic<std::uint64_t> refused_client_{0};
    std::atomic<std::uint64_t> next_id_{1};
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<connection_handle>> handles_;
    std::unordered_map<std::string, std::size_t> per_client_;  // under mutex_; no zero entries
};

// Registers a connection for its lifetime; remove() on destruction.
class connection_slot {
public:
    // `client`: the subject the connection was admitted under by try_admit().
    connection_slot(connection_tracker& tracker, boost::asio::any_io_executor executor, std::string client);
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
