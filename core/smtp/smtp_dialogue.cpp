#include "core/smtp/smtp_dialogue.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

namespace nidan::smtp {

// Each state names the reply it waits for (or, for ready/outcome/closed, that none is due).
enum class dialogue::state {
    initial,              // start() not called yet
    greeting,             // 220
    ehlo,                 // EHLO's 250 (5xx: HELO instead)
    helo,                 // HELO's 250
    starttls,             // 220: go ahead with TLS
    tls_handshake,        // the driver is doing the handshake: no reply may come
    auth_login_user,      // 334 to AUTH LOGIN: send the user name
    auth_login_password,  // 334 after the user name: send the password
    auth_result,          // 235
    ready,                // nothing due; a message or QUIT may begin
    mail,                 // MAIL's reply
    rcpt,                 // RCPT's replies, rcpt_answered_ of them so far
    data,                 // 354 to DATA
    body,                 // the final reply after the data
    drain,                // pipelined replies still due after the outcome is decided
    outcome,              // message_done returned; after_message() is next
    rset,                 // RSET's 250
    quit,                 // any reply to QUIT
    closed,
};

namespace {

constexpr std::string_view crlf = "\r\n";
// RFC 5321 4.5.3.1.3: a path is at most 256 octets.
constexpr std::size_t max_path = 256;

action make(action::kind what) {
    action a;
    a.what = what;
    return a;
}

std::string base64(std::string_view data) {
    constexpr int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_ENCODED_LEN(data.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                      data.size(), variant);
    out.pop_back();  // the length counts the terminating NUL
    return out;
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
    return out;
}

// Words separated by spaces (EHLO lines may also use tabs in the wild).
std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < line.size()) {
        const std::size_t start = line.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos) break;
        const std::size_t end = std::min(line.find_first_of(" \t", start), line.size());
        out.push_back(line.substr(start, end - start));
        pos = end;
    }
    return out;
}

// What may go between '<' and '>' in a command we write: no spaces or control bytes (they would
// end or split the command line) and no brackets; non-ASCII would need SMTPUTF8.
bool is_valid_path(std::string_view address) {
    if (address.size() > max_path) return false;
    return std::all_of(address.begin(), address.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b > 0x20 && b < 0x7F && c != '<' && c != '>';
    });
}

// It goes into EHLO/HELO as is: a space or line end in it would split or add commands.
bool is_valid_helo_name(std::string_view name) {
    if (name.empty() || name.size() > max_path) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b > 0x20 && b < 0x7F;
    });
}

std::string too_large(std::uint64_t size, std::uint64_t limit) {
    return "message too large: " + std::to_string(size) + " bytes, limit " + std::to_string(limit);
}

bool is_closing(const reply& r) { return r.code == 421; }
bool is_success(const reply& r) { return r.code >= 200 && r.code < 300; }

message_outcome make_outcome(const reply& r, std::string stage) {
    message_outcome o;
    o.result = r.positive()    ? message_outcome::kind::accepted
               : r.transient() ? message_outcome::kind::transient
                               : message_outcome::kind::permanent;
    o.code = r.code;
    o.stage = std::move(stage);
    o.reply = r.summary();
    return o;
}

}  // namespace

dialogue::dialogue(dialogue_options options)
    : options_(std::move(options)), tls_active_(options_.tls == tls_mode::implicit) {}

bool dialogue::is_ready() const { return state_ == state::ready; }

action dialogue::start() {
    if (state_ != state::initial) return begin_closing("start() called twice");
    if (!is_valid_helo_name(options_.helo_name)) return begin_closing("invalid helo_name");
    state_ = state::greeting;
    return make(action::kind::wait);
}

action dialogue::send_command(std::string bytes, state next) {
    state_ = next;
    action a = make(action::kind::send);
    a.bytes = std::move(bytes);
    return a;
}

// The connection ends without QUIT. A message in progress still gets its outcome first, so the
// driver has a single place (message_done) where results are recorded.
action dialogue::begin_closing(std::string why) {
    if (state_ == state::closed) {
        action a = make(action::kind::closed);
        a.error = error_;  // the first reason stays
        return a;
    }
    if (why.empty()) why = "connection closed";
    switch (state_) {
        case state::mail: return abort_message("MAIL", 0, why, why);
        case state::rcpt: return abort_message("RCPT", 0, why, why);
        case state::data: return abort_message("DATA", 0, why, why);
        case state::body: return abort_message("message", 0, why, why);
        case state::drain:
            broken_ = true;
            error_ = std::move(why);
            return finish_message(pending_);
        default:
            error_ = std::move(why);
            state_ = state::closed;
            break;
    }
    action a = make(action::kind::closed);
    a.error = error_;
    return a;
}

// 421 (RFC 5321 3.8): the relay is going away; the message in progress may be retried.
action dialogue::relay_closing(std::string stage, const reply& r) {
    return abort_message(std::move(stage), r.code, r.summary(), "relay closing: " + r.summary());
}

action dialogue::abort_message(std::string stage, int code, std::string text, std::string why) {
    message_outcome o;
    o.result = message_outcome::kind::transient;
    o.code = code;
    o.stage = std::move(stage);
    o.reply = std::move(text);
    broken_ = true;
    error_ = std::move(why);
    return finish_message(std::move(o));
}

action dialogue::finish_message(message_outcome outcome) {
    state_ = state::outcome;
    current_.reset();
    action a = make(action::kind::message_done);
    a.outcome = std::move(outcome);
    return a;
}

action dialogue::on_reply(const reply& r) {
    // reply_parser never yields these; a hand-made reply could, and must not pass for a class.
    if (r.code < 200 || r.code > 599)
        return begin_closing("ill-formed reply code " + std::to_string(r.code));
    switch (state_) {
        case state::greeting: return on_greeting(r);
        case state::ehlo: return on_ehlo(r);
        case state::helo: return on_helo(r);
        case state::starttls: return on_starttls(r);
        case state::auth_login_user:
        case state::auth_login_password:
        case state::auth_result: return on_auth(r);
        case state::mail: return on_mail(r);
        case state::rcpt: return on_rcpt(r);
        case state::data: return on_data(r);
        case state::body: return on_body(r);
        case state::drain: return on_drain(r);
        case state::rset: return on_rset(r);
        case state::quit:
            state_ = state::closed;
            error_.clear();
            return make(action::kind::closed);
        case state::closed: return begin_closing({});
        case state::ready:
        case state::outcome:
            // An idle relay may time us out with 421; anything else is out of turn.
            if (is_closing(r)) return begin_closing("relay closing: " + r.summary());
            return begin_closing("unexpected reply: " + r.summary());
        case state::initial:
        case state::tls_handshake: break;
    }
    return begin_closing("unexpected reply: " + r.summary());
}

action dialogue::on_greeting(const reply& r) {
    if (r.code == 220) return send_command("EHLO " + options_.helo_name + "\r\n", state::ehlo);
    if (r.positive()) return begin_closing("unexpected greeting: " + r.summary());
    return begin_closing("relay refused the connection: " + r.summary());
}

action dialogue::on_ehlo(const reply& r) {
    if (is_success(r)) {
        note_extensions(r);
        return after_hello();
    }
    // 500/502/504...: a relay that does not know EHLO. HELO still works, without extensions.
    if (r.permanent()) return send_command("HELO " + options_.helo_name + "\r\n", state::helo);
    return begin_closing("EHLO refused: " + r.summary());
}

action dialogue::on_helo(const reply& r) {
    if (is_success(r)) return after_hello();
    return begin_closing("HELO refused: " + r.summary());
}

// The first line greets; each following one is "KEYWORD params".
void dialogue::note_extensions(const reply& r) {
    extensions_.clear();
    auth_mechanisms_.clear();
    size_limit_ = 0;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        const auto w = words(r.lines[i]);
        if (w.empty()) continue;
        std::string keyword = upper(w[0]);
        if (keyword == "AUTH") {
            for (std::size_t j = 1; j < w.size(); ++j) auth_mechanisms_.insert(upper(w[j]));
        } else if (keyword == "SIZE" && w.size() > 1) {
            std::uint64_t limit = 0;
            const auto [end, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), limit);
            if (ec == std::errc{} && end == w[1].data() + w[1].size()) size_limit_ = limit;
        }
        extensions_.insert(std::move(keyword));
    }
}

// After EHLO/HELO: STARTTLS if required and not done, then AUTH if configured, then ready.
action dialogue::after_hello() {
    if (options_.tls == tls_mode::starttls && !tls_active_) {
        // Never on in plain text: the relay (or someone in between) removing STARTTLS is the
        // attack this mode exists to stop.
        if (!extensions_.contains("STARTTLS")) return begin_closing("relay does not offer STARTTLS");
        return send_command("STARTTLS\r\n", state::starttls);
    }
    if (options_.auth) return start_auth();
    state_ = state::ready;
    return make(action::kind::ready);
}

action dialogue::on_starttls(const reply& r) {
    if (r.code != 220) return begin_closing("STARTTLS refused: " + r.summary());
    state_ = state::tls_handshake;
    return make(action::kind::start_tls);
}

action dialogue::tls_established() {
    if (state_ != state::tls_handshake) return begin_closing("tls_established() without STARTTLS");
    tls_active_ = true;
    // RFC 3207 4.2: what the relay said before TLS may have been forged; ask again.
    extensions_.clear();
    auth_mechanisms_.clear();
    size_limit_ = 0;
    return send_command("EHLO " + options_.helo_name + "\r\n", state::ehlo);
}

action dialogue::start_auth() {
    if (!tls_active_ && !options_.allow_auth_without_tls)
        return begin_closing("refusing AUTH without TLS");
    if (!extensions_.contains("AUTH")) return begin_closing("relay does not offer AUTH");
    const credentials& c = *options_.auth;
    if (auth_mechanisms_.contains("PLAIN")) {
        // NUL separates the fields of PLAIN (RFC 4616); inside one it would shift them.
        if (c.username.find('\0') != std::string::npos || c.password.find('\0') != std::string::npos)
            return begin_closing("credentials contain NUL");
        std::string token;
        token += '\0';
        token += c.username;
        token += '\0';
        token += c.password;
        return send_command("AUTH PLAIN " + base64(token) + "\r\n", state::auth_result);
    }
    if (auth_mechanisms_.contains("LOGIN"))
        return send_command("AUTH LOGIN\r\n", state::auth_login_user);
    return begin_closing("relay offers no AUTH mechanism nidan supports (PLAIN, LOGIN)");
}

action dialogue::on_auth(const reply& r) {
    if (state_ == state::auth_result && r.code == 235) {
        state_ = state::ready;
        return make(action::kind::ready);
    }
    if (r.code == 334 && state_ == state::auth_login_user)
        return send_command(base64(options_.auth->username) + "\r\n", state::auth_login_password);
    if (r.code == 334 && state_ == state::auth_login_password)
        return send_command(base64(options_.auth->password) + "\r\n", state::auth_result);
    return begin_closing("authentication failed: " + r.summary());
}

action dialogue::refuse_before_sending(std::string stage, std::string why) {
    message_outcome o;
    o.result = message_outcome::kind::permanent;
    o.stage = std::move(stage);
    o.reply = std::move(why);
    needs_rset_ = false;
    return finish_message(std::move(o));
}

std::string dialogue::rcpt_command(std::size_t index) const {
    return "RCPT TO:<" + current_->rcpt_to[index] + ">\r\n";
}

action dialogue::send_message(envelope mail) {
    if (state_ != state::ready) return begin_closing("send_message() while not ready");
    state_ = state::mail;  // from here a message is in progress
    if (!is_valid_path(mail.mail_from)) return refuse_before_sending("MAIL", "invalid address");
    if (mail.rcpt_to.empty()) return refuse_before_sending("RCPT", "no recipients");
    if (!std::all_of(mail.rcpt_to.begin(), mail.rcpt_to.end(),
                     [](const std::string& a) { return !a.empty() && is_valid_path(a); }))
        return refuse_before_sending("RCPT", "invalid address");
    // Checked before stuffing too, so a huge message is not copied only to be refused.
    if (mail.message.size() > options_.max_message_bytes)
        return refuse_before_sending("MAIL", too_large(mail.message.size(), options_.max_message_bytes));
    mail.message = dot_stuff(mail.message);
    // RFC 1870 counts the message as sent, without the final ".\r\n".
    const std::uint64_t size = mail.message.size() - 3;
    std::uint64_t limit = options_.max_message_bytes;
    if (size_limit_ != 0) limit = std::min(limit, size_limit_);
    if (size > limit) return refuse_before_sending("MAIL", too_large(size, limit));

    current_ = std::move(mail);
    pipelined_ = pipelining();
    rcpt_accepted_ = 0;
    rcpt_answered_ = 0;
    rcpt_any_transient_ = false;
    rcpt_failure_code_ = 0;
    rcpt_refusals_.clear();
    replies_expected_ = 0;
    needs_rset_ = true;
    broken_ = false;

    std::string bytes = "MAIL FROM:<" + current_->mail_from + ">";
    if (extensions_.contains("SIZE")) bytes += " SIZE=" + std::to_string(size);
    bytes += crlf;
    if (pipelined_) {
        for (std::size_t i = 0; i < current_->rcpt_to.size(); ++i) bytes += rcpt_command(i);
        bytes += "DATA\r\n";
    }
    return send_command(std::move(bytes), state::mail);
}

action dialogue::on_mail(const reply& r) {
    if (is_closing(r)) return relay_closing("MAIL", r);
    if (is_success(r)) {
        if (pipelined_) {
            state_ = state::rcpt;
            return make(action::kind::wait);
        }
        return send_command(rcpt_command(0), state::rcpt);
    }
    if (!r.transient() && !r.permanent())
        return abort_message("MAIL", r.code, r.summary(), "unexpected reply: " + r.summary());
    pending_ = make_outcome(r, "MAIL");
    if (!pipelined_) return finish_message(pending_);
    // The RCPTs and DATA were sent too; their replies (503s) are still due.
    replies_expected_ = current_->rcpt_to.size() + 1;
    state_ = state::drain;
    return make(action::kind::wait);
}

action dialogue::on_rcpt(const reply& r) {
    if (is_closing(r)) return relay_closing("RCPT", r);
    if (is_success(r)) {
        ++rcpt_accepted_;
    } else if (r.transient() || r.permanent()) {
        if (!rcpt_refusals_.empty()) rcpt_refusals_ += "; ";
        rcpt_refusals_ += "<" + current_->rcpt_to[rcpt_answered_] + ">: " + r.summary();
        // The outcome is only as final as the most hopeful refusal.
        if (rcpt_failure_code_ == 0 || (r.transient() && !rcpt_any_transient_))
            rcpt_failure_code_ = r.code;
        rcpt_any_transient_ = rcpt_any_transient_ || r.transient();
    } else {
        return abort_message("RCPT", r.code, r.summary(), "unexpected reply: " + r.summary());
    }
    ++rcpt_answered_;
    if (rcpt_answered_ < current_->rcpt_to.size()) {
        if (pipelined_) return make(action::kind::wait);
        return send_command(rcpt_command(rcpt_answered_), state::rcpt);
    }
    return all_recipients_answered();
}

action dialogue::all_recipients_answered() {
    if (rcpt_accepted_ == 0) {
        pending_ = message_outcome{};
        pending_.result =
            rcpt_any_transient_ ? message_outcome::kind::transient : message_outcome::kind::permanent;
        pending_.code = rcpt_failure_code_;
        pending_.stage = "RCPT";
        pending_.reply = rcpt_refusals_;
        if (!pipelined_) return finish_message(pending_);
        // RFC 2920 3.1: the relay answers the pipelined DATA with 503/554; consume that.
        replies_expected_ = 1;
        state_ = state::drain;
        return make(action::kind::wait);
    }
    if (pipelined_) {
        state_ = state::data;
        return make(action::kind::wait);
    }
    return send_command("DATA\r\n", state::data);
}

action dialogue::on_data(const reply& r) {
    if (is_closing(r)) return relay_closing("DATA", r);
    if (r.code == 354) return send_command(std::move(current_->message), state::body);
    if (!r.transient() && !r.permanent())
        return abort_message("DATA", r.code, r.summary(), "unexpected reply: " + r.summary());
    message_outcome o = make_outcome(r, "DATA");
    if (!rcpt_refusals_.empty()) o.reply += " (refused: " + rcpt_refusals_ + ")";
    return finish_message(std::move(o));
}

action dialogue::on_body(const reply& r) {
    if (r.code >= 300 && r.code < 400)
        return abort_message("message", r.code, r.summary(), "unexpected reply: " + r.summary());
    // Whatever the verdict, the transaction is over (RFC 5321 4.1.1.4): no RSET needed.
    needs_rset_ = false;
    message_outcome o = make_outcome(r, "message");
    if (is_closing(r)) {
        broken_ = true;
        error_ = "relay closing: " + r.summary();
    }
    if (o.result == message_outcome::kind::accepted) {
        ++messages_sent_;
        if (!rcpt_refusals_.empty()) o.reply += " (refused: " + rcpt_refusals_ + ")";
    }
    return finish_message(std::move(o));
}

action dialogue::on_drain(const reply& r) {
    if (is_closing(r)) {
        broken_ = true;
        error_ = "relay closing: " + r.summary();
        return finish_message(pending_);
    }
    // 354 with no valid recipient: the relay now waits for data we will not send. Only dropping
    // the connection gets out of that without delivering an empty message.
    if (r.code >= 300 && r.code < 400) {
        broken_ = true;
        error_ = "relay accepted DATA without a recipient: " + r.summary();
        return finish_message(pending_);
    }
    if (--replies_expected_ > 0) return make(action::kind::wait);
    return finish_message(pending_);
}

action dialogue::after_message() {
    if (state_ == state::ready) return make(action::kind::ready);
    if (state_ != state::outcome) return begin_closing("after_message() without a finished message");
    if (broken_) {
        state_ = state::closed;
        action a = make(action::kind::closed);
        a.error = error_;
        return a;
    }
    if (needs_rset_) return send_command("RSET\r\n", state::rset);
    state_ = state::ready;
    return make(action::kind::ready);
}

action dialogue::on_rset(const reply& r) {
    if (!is_success(r)) return begin_closing("RSET refused: " + r.summary());
    needs_rset_ = false;
    state_ = state::ready;
    return make(action::kind::ready);
}

action dialogue::quit() {
    if (state_ == state::ready || (state_ == state::outcome && !broken_))
        return send_command("QUIT\r\n", state::quit);
    if (state_ == state::initial) {
        state_ = state::closed;
        return make(action::kind::closed);
    }
    if (state_ == state::outcome) return after_message();  // broken: closed with its reason
    return begin_closing("quit() while the relay is busy");
}

action dialogue::connection_failed(const std::string& why) {
    if (state_ == state::quit) {
        // QUIT was sent: the relay hanging up without 221 loses nothing.
        state_ = state::closed;
        error_.clear();
        return make(action::kind::closed);
    }
    if (state_ == state::outcome) {
        // The outcome is out already; nothing is left to report but the end.
        broken_ = true;
        error_ = why.empty() ? "connection failed" : why;
        return after_message();
    }
    // A drained (pipelined) failure keeps its own outcome; see begin_closing().
    std::string reason = why.empty() ? "connection failed" : why;
    switch (state_) {
        case state::mail:
        case state::rcpt:
        case state::data:
        case state::body: return abort_message("connection", 0, reason, reason);
        default: return begin_closing(std::move(reason));
    }
}

std::string dot_stuff(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 32 + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < message.size(); ++i) {
        const char c = message[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
            out += crlf;
            line_start = true;
            continue;
        }
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = false;
    }
    if (!line_start) out += crlf;
    out += ".\r\n";
    return out;
}

}  // namespace nidan::smtp
