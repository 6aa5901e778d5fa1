#pragma once
// Accepts connections and starts one session coroutine per connection, on the executor that
// next_executor() gives (an io_context run by one thread, so the connection needs no strand).
#include <functional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "server/http/app_state.hpp"

namespace nidan::server {

// Returns when the acceptor is closed. tls may be null (plain HTTP).
awaitable<void> accept_connections(tcp::acceptor& acceptor, app_state& app, net::ssl::context* tls,
                                   std::function<net::any_io_executor()> next_executor);

}  // namespace nidan::server
