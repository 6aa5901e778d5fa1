#pragma once
// One connection to the SMTP relay: the socket and TLS work around the sans-I/O smtp::dialogue.
// Every read and write has a deadline from the smtp.* timeouts; nothing blocks a thread.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "core/base/error.hpp"
#include "core/config/config.hpp"
#include "core/smtp/smtp_dialogue.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

// The SMTP client's TLS settings: the system's CA store (or smtp.ca_file), peer verification
// with host-name check unless smtp.verify_certificate is false. Throws config_error naming
// smtp.ca_file when it cannot be loaded.
std::unique_ptr<net::ssl::context> make_smtp_tls_context(const smtp_config& cfg);

// Reads the AUTH password from smtp.password_file (first line). Throws config_error.
std::optional<smtp::credentials> load_smtp_credentials(const smtp_config& cfg);

class smtp_connection {
public:
    // Called with each line sent ("C: ...", AUTH arguments masked) and received ("S: ...").
    using transcript = std::function<void(const std::string&)>;

    smtp_connection(net::any_io_executor executor, const smtp_config& cfg, net::ssl::context& tls,
                    std::optional<smtp::credentials> credentials, transcript trace = {});

    // Resolves, connects, reads the greeting, EHLO, STARTTLS/implicit TLS and AUTH as
    // configured. nullopt on success, otherwise why it failed.
    awaitable<problem> open();
    // Sends one mail on an open connection; afterwards usable() tells whether it can take more.
    awaitable<smtp::message_outcome> send(smtp::envelope mail);
    // QUIT and close; never throws, bounded by smtp.command_timeout_ms.
    awaitable<void> close();

    bool usable() const { return usable_; }
    // For a connection taken from the pool: usable(), and the relay has neither closed it nor
    // sent anything (such as a 421 idle-timeout notice) while it sat idle. Checked without
    // blocking; a connection found dead is marked unusable, so close() skips the QUIT.
    bool reusable();
    std::uint64_t messages_sent() const { return dialogue_.messages_sent(); }
    std::chrono::steady_clock::time_point opened_at() const { return opened_at_; }
    std::string tls_version() const;          // "TLSv1.3", or "" without TLS
    const std::string& certificate_check() const { return certificate_check_; }  // "verified", "not verified (...)", "off", ""

private:
    using stream_type = net::ssl::stream<beast::tcp_stream>;
    enum class phase { greeting, command, data };

    awaitable<smtp::action> drive(smtp::action next, phase during);
    awaitable<problem> handshake();  // the TLS handshake; nullopt once it is done
    awaitable<bool> write(const std::string& bytes, std::chrono::milliseconds timeout);
    awaitable<std::optional<smtp::reply>> read_reply(std::chrono::milliseconds timeout);
    std::chrono::milliseconds timeout_for(phase p) const;
    std::string read_failure() const;  // why read_reply() gave nothing, for the log
    void trace_sent(const std::string& bytes);

    const smtp_config& cfg_;
    net::ssl::context& tls_context_;
    stream_type stream_;
    smtp::dialogue dialogue_;
    smtp::reply_parser parser_;
    beast::error_code read_error_;  // of the last read: timeout, end of stream, reset ...
    transcript trace_;
    bool tls_on_ = false;
    bool usable_ = false;
    std::string certificate_check_;
    std::chrono::steady_clock::time_point opened_at_{};
};

}  // namespace nidan::server
