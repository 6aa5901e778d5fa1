#pragma once
// One coroutine per connection: read a request (with size limits and a deadline for each read),
// dispatch it, write the response, repeat while keep-alive holds. Works over plain TCP and TLS.
#include <string>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "server/http/app_state.hpp"

namespace nidan::server {

using plain_stream = beast::tcp_stream;
using tls_stream = net::ssl::stream<beast::tcp_stream>;

// `client`: the subject app.connections admitted the connection under; released at its end.
awaitable<void> run_session(plain_stream stream, app_state& app, std::string client);
awaitable<void> run_session(tls_stream stream, app_state& app, std::string client);

}  // namespace nidan::server
