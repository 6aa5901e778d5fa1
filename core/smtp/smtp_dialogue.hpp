#pragma once
// The client side of one SMTP connection as a state machine without I/O: it is fed the relay's
// replies and says what to do next (send these bytes, start TLS, report a message's outcome).
// A thin coroutine in server/ does the socket and TLS work. Covers RFC 5321 (EHLO with HELO
// fallback, MAIL, RCPT, DATA with dot-stuffing, RSET, QUIT), RFC 3207 STARTTLS (EHLO again
// afterwards), RFC 4954 AUTH PLAIN and LOGIN, and RFC 2920 PIPELINING when offered.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp/smtp_reply.hpp"

namespace nidan::smtp {

enum class tls_mode { none, starttls, implicit };

struct credentials {
    std::string username;
    std::string password;
};

struct dialogue_options {
    std::string helo_name = "localhost";   // our name in EHLO/HELO
    tls_mode tls = tls_mode::none;         // implicit: the driver did the handshake before the greeting
    std::optional<credentials> auth;       // AUTH when set
    bool allow_auth_without_tls = false;   // otherwise AUTH over plain text is refused
    std::uint64_t max_message_bytes = 10 * 1024 * 1024;
};

// One mail to send: the envelope and the complete RFC 5322 message (CRLF line ends, not yet
// dot-stuffed: the dialogue does that).
struct envelope {
    std::string mail_from;
    std::vector<std::string> rcpt_to;
    std::string message;
};

// What happened to one message.
struct message_outcome {
    enum class kind { accepted, transient, permanent } result = kind::transient;
    int code = 0;           // the deciding reply code (0: the connection failed first, or the
                            // message was refused before anything was sent)
    std::string stage;      // "MAIL", "RCPT", "DATA", "message", "connection"
    std::string reply;      // the relay's reply text (or our reason), for the operator; with
                            // several recipients, the refused ones are listed
};

// What the driver must do next. Which fields matter:
//   send:         `bytes` (write all of them, then read and feed replies as for wait)
//   wait:         nothing (read; feed each complete reply to on_reply(), in order)
//   start_tls:    nothing (handshake, discard_buffered() on the parser, tls_established())
//   ready:        nothing (send_message() or quit())
//   message_done: `outcome` (then call after_message(): it says whether the connection lives)
//   closed:       `error` (empty: clean end after QUIT; otherwise why, for the log). `outcome` is
//                 never set here: a message's result always comes as message_done first.
// A driver loop:
//   a = d.start();
//   loop: switch (a.what)
//     send:  write a.bytes; then as wait
//     wait:  r = parser.next(), reading more until one is there; a = d.on_reply(*r)
//            (parser.failed() or a read error/timeout: a = d.connection_failed(why))
//     start_tls: handshake (failure: a = d.connection_failed(why));
//                parser.discard_buffered(); a = d.tls_established()
//     ready: a = d.send_message(next mail) or a = d.quit()
//     message_done: record a.outcome; a = d.after_message()
//     closed: close the socket; stop
// Replies already in the parser are fed before reading again (PIPELINING sends several at once).
struct action {
    enum class kind {
        send,          // write `bytes`, then feed replies as they arrive
        wait,          // read more; feed the replies
        start_tls,     // do the TLS handshake now, then call tls_established()
        ready,         // idle: send_message() or quit() may be called
        message_done,  // `outcome` is the result of the current message; the connection stays
                       // usable when the next action (from after_message()) says so
        closed,        // the connection is finished (after QUIT, or on a failure: see `error`)
    } what = kind::wait;
    std::string bytes;
    message_outcome outcome;
    std::string error;  // for closed: why, when it was a failure (empty after a clean QUIT)
};

class dialogue {
public:
    explicit dialogue(dialogue_options options);

    // After the TCP (and for implicit TLS, the TLS) connection is up: wait for the greeting.
    // (closed at once when helo_name is empty or holds spaces, control or non-ASCII bytes.)
    action start();
    // Each complete reply from the relay. A reply the current state does not expect closes the
    // connection ("unexpected reply: ..."); 421 anywhere means the relay is closing. Either way
    // a message in progress first gets message_done (transient) and after_message() then
    // returns closed with the reason.
    action on_reply(const reply& r);
    // The STARTTLS handshake succeeded; the driver must also call reply_parser::discard_buffered().
    action tls_established();
    // The connection broke or timed out (the driver's word). With a message in progress this
    // returns message_done (transient, stage "connection", code 0, reply = why; but a pipelined
    // failure already decided keeps its own outcome) and the following after_message() returns
    // closed with error = why; otherwise closed with error = why at once (empty error when QUIT
    // was already sent: nothing was lost).
    action connection_failed(const std::string& why);

    // In the ready state: begin sending a message. Returns the bytes to send (MAIL FROM and,
    // with PIPELINING, RCPT TO and DATA in the same write). An invalid address or a message
    // over max_message_bytes or the relay's SIZE gives message_done (permanent, code 0) at once,
    // with nothing sent.
    action send_message(envelope mail);
    // After message_done: RSET when the connection stays open for more mail, ready when no RSET
    // is needed; closed when the message's failure broke the connection.
    action after_message();
    // In the ready state (or after message_done): QUIT.
    action quit();

    bool is_ready() const;
    const std::set<std::string>& extensions() const { return extensions_; }  // upper-case keywords from EHLO
    // The mechanisms of EHLO's AUTH line, upper-case.
    const std::set<std::string>& auth_mechanisms() const { return auth_mechanisms_; }
    std::uint64_t size_limit() const { return size_limit_; }  // from EHLO SIZE; 0: none announced
    bool tls_active() const { return tls_active_; }
    bool pipelining() const { return extensions_.contains("PIPELINING"); }
    // Messages the relay accepted (250 after the data) on this connection.
    std::uint64_t messages_sent() const { return messages_sent_; }

private:
    // Implementation state; see the .cpp file.
    enum class state;

    action begin_closing(std::string why);
    action abort_message(std::string stage, int code, std::string text, std::string why);
    action relay_closing(std::string stage, const reply& r);
    action finish_message(message_outcome outcome);
    action send_command(std::string bytes, state next);
    action after_hello();
    action start_auth();
    void note_extensions(const reply& r);
    action refuse_before_sending(std::string stage, std::string why);
    std::string rcpt_command(std::size_t index) const;
    action all_recipients_answered();

    action on_greeting(const reply& r);
    action on_ehlo(const reply& r);
    action on_helo(const reply& r);
    action on_starttls(const reply& r);
    action on_auth(const reply& r);
    action on_mail(const reply& r);
    action on_rcpt(const reply& r);
    action on_data(const reply& r);
    action on_body(const reply& r);
    action on_drain(const reply& r);
    action on_rset(const reply& r);

    dialogue_options options_;
    state state_{};
    std::set<std::string> extensions_;
    std::set<std::string> auth_mechanisms_;
    std::uint64_t size_limit_ = 0;
    bool tls_active_ = false;
    std::uint64_t messages_sent_ = 0;
    // The message in progress: its envelope, with `message` already dot-stuffed.
    std::optional<envelope> current_;
    bool pipelined_ = false;               // the current message's commands went in one write
    std::size_t replies_expected_ = 0;     // pipelined replies still to consume after a failure
    std::size_t rcpt_accepted_ = 0;
    std::size_t rcpt_answered_ = 0;
    bool rcpt_any_transient_ = false;
    int rcpt_failure_code_ = 0;            // the deciding one when every RCPT failed
    std::string rcpt_refusals_;            // "<a@b>: 550 ...; ..." for the outcome
    message_outcome pending_;              // decided, waiting for the pipelined replies to drain
    bool needs_rset_ = false;              // commands of an unfinished transaction were sent
    bool broken_ = false;                  // after message_done: the connection cannot go on
    std::string error_;                    // why it closes / closed
};

// RFC 5321 4.5.2: a line starting with '.' gets another '.'; the message is ended with
// CRLF.CRLF. Bare LF or CR in the input become CRLF.
std::string dot_stuff(std::string_view message);

}  // namespace nidan::smtp
