#pragma once
// Lets a coroutine hand work to the storage backend (storage/backend.hpp) and await its outcome
// without blocking an io thread. The coroutine resumes on its own executor once its write has
// been committed (or has failed); an inline backend's read runs at once, without suspending.
#include <memory>
#include <system_error>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/base/error.hpp"
#include "server/base/http_types.hpp"
#include "storage/backend.hpp"

namespace nidan::server {

namespace detail {

// Completes the awaiting coroutine on its own executor, from whichever thread the backend calls.
template <class Handler>
storage::completion resume_on_own_executor(Handler on_done) {
    auto executor = net::get_associated_executor(on_done);
    auto guard = net::make_work_guard(executor);
    // The completion must be copyable; the awaitable handler is move-only.
    auto shared = std::make_shared<Handler>(std::move(on_done));
    return [shared, guard](std::error_code ec) mutable {
        auto ex = guard.get_executor();
        net::post(ex, [shared, ec] { (*shared)(ec); });
        guard.reset();
    };
}

}  // namespace detail

template <class Token>
auto async_write(storage::backend& store, storage::write_work work, Token&& token) {
    return net::async_initiate<Token, void(std::error_code)>(
        [&store](auto on_done, storage::write_work w) {
            auto complete = detail::resume_on_own_executor(std::move(on_done));
            if (!store.write(std::move(w), complete)) complete(make_error_code(errc::overloaded));
        },
        token, std::move(work));
}

template <class Token>
auto async_read(storage::backend& store, storage::read_work work, Token&& token) {
    return net::async_initiate<Token, void(std::error_code)>(
        [&store](auto on_done, storage::read_work w) {
            store.read(std::move(w), detail::resume_on_own_executor(std::move(on_done)));
        },
        token, std::move(work));
}

// The usual forms: `auto ec = co_await write(store, [&](storage::record_store& s) { ... });` and
// `auto ec = co_await read(store, [&](const storage::record_view& v) { ... });`.
// The std::function is made here, not as a temporary of the caller's co_await expression: g++ 12
// may destroy such temporaries twice, harmless for a lambda of references, fatal for an object
// that owns memory. This is GCC's bug 100611 and its kin 101367
// (https://gcc.gnu.org/bugzilla/show_bug.cgi?id=100611, ...?id=101367): an object initialised in
// place inside a co_await (a lambda's captures, a braced aggregate) is moved into the coroutine
// frame and destroyed there as well as where it was made. Both reports' test cases, and a reduced
// form of ours (`co_await send(envelope{...})`), abort under AddressSanitizer with Debian 12's
// g++ 12.2. Every workaround in the tree names this comment.
template <class Work>
awaitable<std::error_code> write(storage::backend& store, Work&& work) {
    return async_write(store, storage::write_work(std::forward<Work>(work)), net::use_awaitable);
}

template <class Work>
awaitable<std::error_code> read(storage::backend& store, Work&& work) {
    if (store.reads_inline()) {
        // No thread to wait for: run it here and now.
        std::error_code result;
        store.read(storage::read_work(std::forward<Work>(work)), [&result](std::error_code ec) { result = ec; });
        co_return result;
    }
    co_return co_await async_read(store, storage::read_work(std::forward<Work>(work)), net::use_awaitable);
}

}  // namespace nidan::server
