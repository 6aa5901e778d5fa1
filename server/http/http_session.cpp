#include "server/http/http_session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <chrono>

#include "core/base/log.hpp"
#include "server/http/dispatch.hpp"
#include "server/http/request_guard.hpp"
#include "server/http/response_wire.hpp"
#include "server/base/awaitables.hpp"

namespace nidan::server {
namespace {

// A connection waiting for its next request holds no buffer on the heap: the wait reads into
// this much of the session's own frame, and the buffer is made when bytes arrive and freed
// once they are used. Most requests fit; a longer one is read on by the parser. (Idle
// keep-alive connections are what a server holds most of: this is most of their memory.)
constexpr std::size_t idle_read_size = 512;

template <class Stream>
beast::tcp_stream& lowest(Stream& stream) {
    return beast::get_lowest_layer(stream);
}

// What to answer when reading a request failed; std::nullopt: just close.
std::optional<http::status> status_for_read_error(const beast::error_code& ec) {
    if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
    if (ec == http::error::body_limit) return http::status::payload_too_large;
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
        return http::status::bad_request;
    return std::nullopt;  // timeout, reset, cancelled, EOF: the peer is gone or too slow
}

struct request_log {
    std::string_view method = "-";
    std::string path = "-";
    unsigned status = 0;
    std::size_t bytes = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    void write(const std::string& client) const {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started).count();
        log::access("http.request").add("client", client).add("method", method).add("path", path)
            .add("status", status).add("bytes", static_cast<std::uint64_t>(bytes))
            .add("duration_ms", static_cast<double>(micros) / 1000.0);
    }
};

template <class Stream>
awaitable<bool> write_response(Stream& stream, app_state& app, response& res) {
    // Every response, error pages included: a browser must learn HSTS from the first one it sees.
    const auto& server = app.cfg.server;
    if ((app.cfg.tls.enabled || server.behind_tls) && server.hsts_max_age.count() > 0 &&
        res.result() != http::status::continue_)
        res.set(http::field::strict_transport_security,
                "max-age=" + std::to_string(server.hsts_max_age.count()));
    // One buffer, one write: also one TLS record per response instead of one per piece.
    std::string wire;
    if (!append_response_bytes(res, wire)) co_return false;
    lowest(stream).expires_after(app.cfg.server.write_timeout);
    auto [write_ec, n] = co_await net::async_write(stream, net::buffer(wire), use_tuple);
    co_return !write_ec;
}

template <class Stream>
awaitable<void> close_gracefully(Stream& stream, app_state& app) {
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        lowest(stream).expires_after(app.cfg.server.write_timeout);
        co_await stream.async_shutdown(use_tuple);  // stream_truncated and the like are expected
    }
    beast::error_code ignored;
    lowest(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// One request, read from what `buffer` holds and the stream, answered. False: the connection
// is done (closed, or to be dropped). Its own coroutine so that what a request needs (the
// parser, the request, the response) is held only while one is in flight, not by every idle
// connection.
template <class Stream>
awaitable<bool> serve_one(Stream& stream, app_state& app, beast::flat_buffer& buffer, const std::string& client,
                          const tcp::endpoint& peer) {
    const auto& limits = app.cfg.server;
    request_log entry;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);

    lowest(stream).expires_after(limits.header_timeout);
    auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    std::optional<http::status> refusal;
    std::string_view reason;
    if (header_ec) {
        refusal = status_for_read_error(header_ec);
        reason = "unreadable request header";
    } else if (header_bytes > limits.max_header_bytes) {
        // Beast applies its header limit only to what arrives after the bytes it already
        // holds, so a header that came in one piece with the first read can exceed it.
        refusal = http::status::request_header_fields_too_large;
        reason = "request header over server.max_header_bytes";
    } else if (const auto framing = framing_problem(parser.get())) {
        refusal = http::status::bad_request;
        reason = *framing;
    }
    if (!header_ec) {
        entry.method = http::to_string(parser.get().method());
        entry.path = std::string(parser.get().target().substr(0, parser.get().target().find('?')));
    }

    if (!refusal && !header_ec && !parser.is_done()) {
        if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
            response interim{http::status::continue_, parser.get().version()};
            if (!co_await write_response(stream, app, interim)) co_return false;
        }
        lowest(stream).expires_after(limits.body_timeout);
        auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (body_ec) {
            refusal = status_for_read_error(body_ec);
            reason = "unreadable request body";
            if (!refusal) {
                entry.status = 0;
                entry.write(client);
                co_return false;
            }
        }
    }

    if (header_ec && !refusal) co_return false;  // the peer left or stalled: nobody to answer
    if (refusal) {
        // After a framing error the rest of the byte stream cannot be trusted: answer and close.
        // The request line is stored as soon as it is parsed (it stays empty before that), so a
        // body or header over its limit is answered in the form of its path (JSON under /api/).
        const std::string_view target = parser.get().target();
        auto res = app.errors.make(*refusal, 11, false, target);
        log::info("http.refused").add("client", client).add("status", static_cast<unsigned>(*refusal))
            .add("reason", reason.empty() ? beast::error_code(header_ec).message() : std::string(reason));
        entry.status = static_cast<unsigned>(*refusal);
        entry.bytes = res.body().size();
        co_await write_response(stream, app, res);
        entry.write(client);
        co_await close_gracefully(stream, app);
        co_return false;
    }

    request req = parser.release();
    response res = co_await dispatch(app, req, peer.address());
    const bool keep_alive = req.keep_alive() && res.keep_alive() && !app.stopping;
    res.keep_alive(keep_alive);
    entry.status = res.result_int();
    entry.bytes = res.body().size();
    const bool written = co_await write_response(stream, app, res);
    entry.write(client);
    if (!written) co_return false;
    if (!keep_alive) {
        co_await close_gracefully(stream, app);
        co_return false;
    }
    co_return true;
}

template <class Stream>
awaitable<void> serve_requests(Stream& stream, app_state& app, connection_handle& handle,
                               const tcp::endpoint& peer) {
    const auto& limits = app.cfg.server;
    const auto client = peer.address().to_string();
    beast::flat_buffer buffer;
    std::array<char, idle_read_size> idle_bytes;
    bool first = true;

    for (;;) {
        if (buffer.size() == 0) {
            // Waiting for a request: the only state in which shutdown may close us at once.
            buffer.shrink_to_fit();
            handle.idle = true;
            if (app.stopping) co_return;
            lowest(stream).expires_after(first ? limits.header_timeout : limits.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(net::buffer(idle_bytes), use_tuple);
            handle.idle = false;
            if (ec) co_return;
            buffer.commit(net::buffer_copy(buffer.prepare(n), net::buffer(idle_bytes.data(), n)));
        }
        first = false;

        if (!co_await serve_one(stream, app, buffer, client, peer)) co_return;
    }
}

template <class Stream>
awaitable<void> run_any_session(Stream stream, app_state& app, std::string client) {
    connection_slot slot(app.connections, lowest(stream).get_executor(), std::move(client));
    slot.handle().cancel = [&stream] { lowest(stream).cancel(); };

    if constexpr (std::is_same_v<Stream, tls_stream>) {
        lowest(stream).expires_after(app.cfg.server.header_timeout);
        auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, use_tuple);
        if (ec) {
            log::debug("tls.handshake_failed").add("error", ec.message());
            co_return;
        }
    }
    beast::error_code ec;
    const auto peer = lowest(stream).socket().remote_endpoint(ec);
    if (ec) co_return;  // already gone
    co_await serve_requests(stream, app, slot.handle(), peer);
}

}  // namespace

awaitable<void> run_session(plain_stream stream, app_state& app, std::string client) {
    return run_any_session(std::move(stream), app, std::move(client));
}

awaitable<void> run_session(tls_stream stream, app_state& app, std::string client) {
    return run_any_session(std::move(stream), app, std::move(client));
}

}  // namespace nidan::server
