#pragma once
// Lets a coroutine hand a write to the storage writer thread and await its outcome without
// blocking an io thread. The coroutine resumes on its own executor once the batch holding its
// write has been committed (or has failed).
#include <memory>
#include <system_error>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"
#include "server/http_types.hpp"
#include "storage/writer.hpp"

namespace nidan::server {

template <class Token>
auto async_write(storage::writer& writer, storage::writer::work work, Token&& token) {
    return net::async_initiate<Token, void(std::error_code)>(
        [&writer](auto on_done, storage::writer::work w) {
            auto executor = net::get_associated_executor(on_done);
            auto guard = net::make_work_guard(executor);
            // writer::done must be copyable; the awaitable handler is move-only.
            auto shared = std::make_shared<decltype(on_done)>(std::move(on_done));
            auto complete = [shared, guard](std::error_code ec) mutable {
                auto ex = guard.get_executor();
                net::post(ex, [shared, ec] { (*shared)(ec); });
                guard.reset();
            };
            if (!writer.submit(std::move(w), complete)) complete(make_error_code(errc::overloaded));
        },
        token, std::move(work));
}

// The usual form: `auto ec = co_await write(writer, [&](storage::write_txn& txn) { ... });`
// The std::function is made here, not as a temporary of the caller's co_await expression: g++ 12
// may destroy such temporaries twice, harmless for a lambda of references, fatal for an object
// that owns memory.
template <class Work>
awaitable<std::error_code> write(storage::writer& writer, Work&& work) {
    return async_write(writer, storage::writer::work(std::forward<Work>(work)), net::use_awaitable);
}

}  // namespace nidan::server
