#pragma once
// Accepts connections and starts one session coroutine per connection, each on its own strand.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "server/app_state.hpp"

namespace nidan::server {

// Returns when the acceptor is closed. tls may be null (plain HTTP).
awaitable<void> accept_connections(tcp::acceptor& acceptor, app_state& app, net::ssl::context* tls);

}  // namespace nidan::server
