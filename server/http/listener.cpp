#include "server/http/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/base/log.hpp"
#include "core/security/throttle.hpp"
#include "server/http/client_address.hpp"
#include "server/http/http_session.hpp"
#include "server/base/awaitables.hpp"

namespace nidan::server {
namespace {


// Past server.max_connections a client gets a one-line 503 instead of a hang. The write is
// non-blocking and best effort: the socket buffer of a fresh connection always takes it.
void refuse(tcp::socket& socket) {
    static constexpr std::string_view busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(net::buffer(busy), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

}  // namespace

awaitable<void> accept_connections(tcp::acceptor& acceptor, app_state& app, net::ssl::context* tls,
                                   std::function<net::any_io_executor()> next_executor) {
    auto executor = co_await net::this_coro::executor;
    for (;;) {
        // The connection's io_context has one thread: its coroutine and shutdown's cancellation
        // (posted there) never run at the same time.
        net::any_io_executor home = next_executor();
        auto [ec, socket] = co_await acceptor.async_accept(home, use_tuple);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of descriptors and the like: back off briefly instead of spinning.
            log::warn("accept.failed").add("error", ec.message());
            net::steady_timer pause(executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        // By the socket's peer: X-Forwarded-For is known only after a request. A trusted proxy
        // carries every client's connections, so only server.max_connections bounds it.
        beast::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        if (peer_ec) continue;  // gone already
        std::string client = address_subject(peer.address().to_string());
        switch (app.connections.try_admit(client, !is_trusted_proxy(peer.address(), app.trusted_proxies))) {
        case admission::admitted: break;
        case admission::server_full:
            log::warn("connection.refused").add("reason", "server.max_connections reached");
            refuse(socket);
            continue;
        case admission::client_full:
            log::warn("connection.refused").add("reason", "server.max_connections_per_client reached")
                .add("client", client);
            refuse(socket);
            continue;
        }
        beast::error_code nodelay_ec;
        socket.set_option(tcp::no_delay(true), nodelay_ec);
        if (tls) {
            net::co_spawn(home, run_session(tls_stream(beast::tcp_stream(std::move(socket)), *tls), app, std::move(client)), log_escaped("session.crashed"));
        } else {
            net::co_spawn(home, run_session(plain_stream(std::move(socket)), app, std::move(client)), log_escaped("session.crashed"));
        }
    }
}

}  // namespace nidan::server
