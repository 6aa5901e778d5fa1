#pragma once
// Password hashing runs here, on hash.threads threads of its own, never on an io thread. A
// bounded queue turns overload into a quick 503 instead of latency growing without limit.
#include <atomic>
#include <system_error>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"
#include "server/http_types.hpp"

namespace nidan::server {

class hash_pool {
public:
    hash_pool(unsigned threads, std::size_t max_queue) : pool_(threads), max_queue_(max_queue) {}

    // Runs fn() on the pool; the caller resumes on its own executor. Throws
    // std::system_error(errc::overloaded) when max_queue jobs are already waiting or running.
    template <class Fn>
    awaitable<std::invoke_result_t<Fn&>> run(Fn fn) {
        using result = std::invoke_result_t<Fn&>;
        if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_queue_) {
            pending_.fetch_sub(1, std::memory_order_relaxed);
            throw std::system_error(make_error_code(errc::overloaded), "hash queue full");
        }
        struct release {
            std::atomic<std::size_t>& n;
            ~release() { n.fetch_sub(1, std::memory_order_relaxed); }
        } on_exit{pending_};
        co_return co_await net::co_spawn(
            pool_, [fn = std::move(fn)]() mutable -> awaitable<result> { co_return fn(); }, net::use_awaitable);
    }

    std::size_t pending() const { return pending_.load(std::memory_order_relaxed); }
    void stop() {
        pool_.stop();
        pool_.join();
    }

private:
    net::thread_pool pool_;
    const std::size_t max_queue_;
    std::atomic<std::size_t> pending_{0};
};

}  // namespace nidan::server
