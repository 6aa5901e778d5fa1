#include "server/smtp/smtp_connection.hpp"
#include "server/base/awaitables.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <array>
#include <fstream>

namespace nidan::server {
namespace {


bool is_ip_literal(const std::string& host) {
    beast::error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

// For the transcript: a command line without its CRLF, AUTH secrets masked, message bodies
// summarised (they hold login codes).
std::string describe_sent(const std::string& bytes) {
    if (bytes.ends_with("\r\n.\r\n") && bytes.size() > 64) return "(message, " + std::to_string(bytes.size()) + " bytes)";
    std::string out;
    std::size_t start = 0;
    while (start < bytes.size()) {
        auto end = bytes.find("\r\n", start);
        std::string line = bytes.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (line.starts_with("AUTH ")) {
            auto space = line.find(' ', 5);
            line = space == std::string::npos ? line : line.substr(0, space) + " ***";
        } else if (!line.empty() && line.find(' ') == std::string::npos && !line.starts_with("DATA") &&
                   !line.starts_with("QUIT") && !line.starts_with("RSET") && !line.starts_with("STARTTLS")) {
            line = "***";  // an AUTH LOGIN answer
        }
        if (!out.empty()) out += " | ";
        out += line;
        if (end == std::string::npos) break;
        start = end + 2;
    }
    return out;
}

}  // namespace

std::unique_ptr<net::ssl::context> make_smtp_tls_context(const smtp_config& cfg) {
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (!cfg.ca_file.empty()) {
        ctx->load_verify_file(cfg.ca_file.string(), ec);
        if (ec) throw config_error("smtp.ca_file", "cannot load " + cfg.ca_file.string() + ": " + ec.message());
    } else {
        ctx->set_default_verify_paths(ec);
        if (ec) throw config_error("smtp.ca_file", "cannot load the system CA store: " + ec.message());
    }
    ctx->set_verify_mode(cfg.verify_certificate ? net::ssl::verify_peer : net::ssl::verify_none);
    return ctx;
}

std::optional<smtp::credentials> load_smtp_credentials(const smtp_config& cfg) {
    if (cfg.username.empty()) return std::nullopt;
    std::ifstream in(cfg.password_file);
    std::string password;
    if (!in || !std::getline(in, password))
        throw config_error("smtp.password_file", "cannot read the password from " + cfg.password_file.string());
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return smtp::credentials{cfg.username, password};
}

smtp_connection::smtp_connection(net::any_io_executor executor, const smtp_config& cfg, net::ssl::context& tls,
                                 std::optional<smtp::credentials> credentials, transcript trace)
    : cfg_(cfg),
      tls_context_(tls),
      stream_(beast::tcp_stream(executor), tls),
      dialogue_(smtp::dialogue_options{
          cfg.helo_name,
          cfg.tls == smtp_tls_mode::starttls ? smtp::tls_mode::starttls
          : cfg.tls == smtp_tls_mode::tls    ? smtp::tls_mode::implicit
                                             : smtp::tls_mode::none,
          std::move(credentials), cfg.allow_auth_without_tls}),
      trace_(std::move(trace)) {}

std::chrono::milliseconds smtp_connection::timeout_for(phase p) const {
    switch (p) {
    case phase::greeting: return cfg_.greeting_timeout;
    case phase::command: return cfg_.command_timeout;
    case phase::data: return cfg_.data_timeout;
    }
    return cfg_.command_timeout;
}

void smtp_connection::trace_sent(const std::string& bytes) {
    if (trace_) trace_("C: " + describe_sent(bytes));
}

awaitable<problem> smtp_connection::open() {
    opened_at_ = std::chrono::steady_clock::now();
    auto executor = co_await net::this_coro::executor;
    const auto& relay = cfg_.relay;

    // The resolver has no deadline of its own: a timer cancels it.
    tcp::resolver resolver(executor);
    net::steady_timer deadline(executor, cfg_.connect_timeout);
    deadline.async_wait([&resolver](beast::error_code ec) {
        if (!ec) resolver.cancel();
    });
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(relay.host, std::to_string(relay.port), use_tuple);
    deadline.cancel();
    if (resolve_ec) co_return "cannot resolve " + relay.host + ": " + resolve_ec.message();

    auto& tcp_layer = beast::get_lowest_layer(stream_);
    tcp_layer.expires_after(cfg_.connect_timeout);
    auto [connect_ec, endpoint] = co_await tcp_layer.async_connect(endpoints, use_tuple);
    if (connect_ec) co_return "cannot connect to " + relay.to_string() + ": " + connect_ec.message();
    tcp_layer.socket().set_option(tcp::no_delay(true), connect_ec);

    if (cfg_.tls == smtp_tls_mode::tls) {
        if (auto error = co_await handshake()) co_return error;
    }
    auto result = co_await drive(dialogue_.start(), phase::greeting);
    if (result.what == smtp::action::kind::ready) {
        usable_ = true;
        co_return std::nullopt;
    }
    co_return result.error.empty() ? std::string("the relay closed the connection") : result.error;
}

awaitable<smtp::message_outcome> smtp_connection::send(smtp::envelope mail) {
    if (!usable_) co_return smtp::message_outcome{smtp::message_outcome::kind::transient, 0, "connection", "connection not open"};
    usable_ = false;
    auto result = co_await drive(dialogue_.send_message(std::move(mail)), phase::command);
    smtp::message_outcome outcome = result.outcome;
    if (result.what == smtp::action::kind::message_done) {
        auto after = co_await drive(dialogue_.after_message(), phase::command);
        usable_ = after.what == smtp::action::kind::ready;
    } else if (outcome.stage.empty()) {
        outcome = {smtp::message_outcome::kind::transient, 0, "connection",
                   result.error.empty() ? "connection closed" : result.error};
    }
    co_return outcome;
}

awaitable<void> smtp_connection::close() {
    if (usable_) {
        usable_ = false;
        co_await drive(dialogue_.quit(), phase::command);
    }
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
}

bool smtp_connection::reusable() {
    if (!usable_) return false;
    // Between mails the relay has nothing to say: anything readable is the end of the stream,
    // a reset, a 421 notice or a TLS alert, and sending the next mail into it would only fail
    // (and cost that mail a retry backoff).
    pollfd idle{beast::get_lowest_layer(stream_).socket().native_handle(), POLLIN, 0};
    if (::poll(&idle, 1, 0) != 0) usable_ = false;
    return usable_;
}

std::string smtp_connection::read_failure() const {
    if (parser_.failed()) return "bad reply from the relay: " + parser_.error();
    if (read_error_ == beast::error::timeout) return "no reply from the relay in time";
    if (read_error_ == net::error::eof || read_error_ == net::ssl::error::stream_truncated)
        return "the relay closed the connection";
    return "reading from the relay failed: " + read_error_.message();
}

std::string smtp_connection::tls_version() const {
    if (!tls_on_) return {};
    return SSL_get_version(const_cast<stream_type&>(stream_).native_handle());
}

awaitable<smtp::action> smtp_connection::drive(smtp::action next, phase during) {
    using kind = smtp::action::kind;
    phase current = during;
    for (;;) {
        switch (next.what) {
        case kind::send:
            trace_sent(next.bytes);
            // The message body (it alone ends with CRLF.CRLF) and its final reply get the DATA
            // deadline; commands and their replies the command deadline.
            current = next.bytes.ends_with("\r\n.\r\n") ? phase::data : phase::command;
            if (!co_await write(next.bytes, timeout_for(current))) {
                next = dialogue_.connection_failed("sending to the relay failed or timed out");
                continue;
            }
            [[fallthrough]];
        case kind::wait: {
            auto reply = co_await read_reply(timeout_for(current));
            if (!reply) {
                next = dialogue_.connection_failed(read_failure());
                continue;
            }
            if (trace_) trace_("S: " + reply->summary());
            next = dialogue_.on_reply(*reply);
            continue;
        }
        case kind::start_tls: {
            if (auto error = co_await handshake()) {
                next = dialogue_.connection_failed(*error);
                continue;
            }
            // RFC 3207 section 6: nothing received before the handshake may be acted on.
            parser_.discard_buffered();
            next = dialogue_.tls_established();
            continue;
        }
        case kind::ready:
        case kind::message_done:
        case kind::closed:
            co_return next;
        }
    }
}

awaitable<problem> smtp_connection::handshake() {
    const auto& host = cfg_.relay.host;
    if (!is_ip_literal(host)) SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str());
    if (cfg_.verify_certificate) {
        stream_.set_verify_mode(net::ssl::verify_peer);
        stream_.set_verify_callback(net::ssl::host_name_verification(host));
    } else {
        stream_.set_verify_mode(net::ssl::verify_none);
    }
    beast::get_lowest_layer(stream_).expires_after(cfg_.tls_timeout);
    auto [ec] = co_await stream_.async_handshake(net::ssl::stream_base::client, use_tuple);
    if (ec) {
        const long verify = SSL_get_verify_result(stream_.native_handle());
        certificate_check_ = verify == X509_V_OK ? "" : std::string("not verified (") + X509_verify_cert_error_string(verify) + ")";
        co_return "TLS handshake with the relay failed: " + ec.message() +
                  (certificate_check_.empty() ? "" : ", certificate " + certificate_check_);
    }
    tls_on_ = true;
    certificate_check_ = cfg_.verify_certificate ? "verified" : "off (smtp.verify_certificate = false)";
    co_return std::nullopt;
}

awaitable<bool> smtp_connection::write(const std::string& bytes, std::chrono::milliseconds timeout) {
    beast::get_lowest_layer(stream_).expires_after(timeout);
    beast::error_code ec;
    if (tls_on_) {
        std::tie(ec, std::ignore) = co_await net::async_write(stream_, net::buffer(bytes), use_tuple);
    } else {
        std::tie(ec, std::ignore) = co_await net::async_write(stream_.next_layer(), net::buffer(bytes), use_tuple);
    }
    co_return !ec;
}

awaitable<std::optional<smtp::reply>> smtp_connection::read_reply(std::chrono::milliseconds timeout) {
    std::array<char, 4096> chunk;
    read_error_ = {};
    beast::get_lowest_layer(stream_).expires_after(timeout);
    for (;;) {
        if (auto reply = parser_.next()) co_return reply;
        if (parser_.failed()) co_return std::nullopt;
        beast::error_code ec;
        std::size_t n = 0;
        if (tls_on_) {
            std::tie(ec, n) = co_await stream_.async_read_some(net::buffer(chunk), use_tuple);
        } else {
            std::tie(ec, n) = co_await stream_.next_layer().async_read_some(net::buffer(chunk), use_tuple);
        }
        if (ec) {
            read_error_ = ec;
            co_return std::nullopt;
        }
        parser_.feed(std::string_view(chunk.data(), n));
    }
}

}  // namespace nidan::server
