#pragma once
// SMTP replies (RFC 5321 section 4.2) parsed from the bytes a relay sends, strictly: a reply is
// one or more lines "NNN-text" ending with "NNN text" (or "NNN"), all with the same code, each
// ended by CRLF. Anything else, an over-long line or too many lines is a protocol error: the
// connection is then treated as failed (transiently), never trusted further.
// Bare LF (or a CR not followed by LF) is rejected too: RFC 5321 2.3.8 requires CRLF, every real
// relay sends it, and a client that guesses at line ends is one that can be confused about where
// a reply stops. Text may hold HTAB and bytes >= 0x80 but no other control bytes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nidan::smtp {

struct reply {
    int code = 0;                    // 200..599
    std::vector<std::string> lines;  // the text of each line, without "NNN-" / "NNN " and CRLF

    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    // "250 first line / second line ..." for logs and operator messages (control bytes removed).
    std::string summary() const;
};

class reply_parser {
public:
    // RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF. Multi-line replies
    // (EHLO) are bounded by max_lines.
    explicit reply_parser(std::size_t max_line = 512, std::size_t max_lines = 64);

    // Appends received bytes and checks every completed line at once, so an over-long line fails
    // as soon as it exceeds max_line, whether or not next() is called. Unread complete replies
    // are bounded too (max_line * max_lines bytes). Once failed() is true, further input is
    // ignored.
    void feed(std::string_view bytes);
    // The next complete reply, if one has arrived; always nullopt once failed() (even for replies
    // that arrived before the bad bytes: a connection that sent garbage is not trusted).
    std::optional<reply> next();
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    // Bytes received but not yet part of a returned reply.
    std::size_t buffered() const { return buffer_.size(); }
    // Drops everything buffered (after STARTTLS: nothing the server sent before the handshake
    // may be read as a reply afterwards).
    void discard_buffered();

private:
    std::size_t max_line_;
    std::size_t max_lines_;
    std::string buffer_;                    // every byte not yet returned by next()
    std::string error_;
    std::size_t line_start_ = 0;            // in buffer_: the line being received
    int reply_code_ = 0;                    // of the reply being received (0: none begun)
    std::size_t reply_lines_ = 0;           // its lines so far
    std::vector<std::size_t> reply_ends_;   // in buffer_: where each complete reply ends

    void scan(std::size_t from);
    bool check_line(std::string_view line);
    void fail(std::string why);
};

}  // namespace nidan::smtp
