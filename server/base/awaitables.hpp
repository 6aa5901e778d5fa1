#pragma once
// The completion tokens and co_spawn handlers every server coroutine uses, written once.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <string_view>

#include "core/base/log.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

// `auto [ec, n] = co_await op(..., use_tuple)`: errors come back as values, never as exceptions,
// so a coroutine's expected failures (EOF, cancellation, timeouts) are branches, not catch blocks.
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The completion handler of a detached co_spawn: an exception that escaped the coroutine is
// logged as one error line under `event` instead of being dropped or ending the process.
class log_escaped {
public:
    explicit constexpr log_escaped(std::string_view event) : event_(event) {}

    void operator()(std::exception_ptr e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error(event_).add("error", ex.what());
        } catch (...) {
            log::error(event_).add("error", "unknown exception");
        }
    }

private:
    std::string_view event_;  // a literal: outlives every coroutine
};

}  // namespace nidan::server
