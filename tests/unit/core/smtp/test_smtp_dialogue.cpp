#define BOOST_TEST_MODULE smtp_dialogue
#include <boost/test/unit_test.hpp>

#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/smtp/smtp_dialogue.hpp"
#include "core/smtp/smtp_reply.hpp"

using namespace std::string_literals;

namespace nidan::smtp {
// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& os, action::kind k) {
    constexpr const char* names[] = {"send", "wait", "start_tls", "ready", "message_done", "closed"};
    return os << names[static_cast<int>(k)];
}
std::ostream& operator<<(std::ostream& os, message_outcome::kind k) {
    constexpr const char* names[] = {"accepted", "transient", "permanent"};
    return os << names[static_cast<int>(k)];
}
}  // namespace nidan::smtp

using namespace nidan::smtp;
using kind = action::kind;
using result = message_outcome::kind;

namespace {

// ---------------------------------------------------------------------------------------------
// Scripted exchanges: each step is either bytes from the relay (parsed like the driver does and
// fed reply by reply) or a call on the dialogue, followed by the action expected from it.

struct step {
    std::string relay;                        // bytes the relay sends; empty: `call` instead
    std::function<action(dialogue&)> call;
    kind expect = kind::wait;
    std::string client;                       // the exact bytes, when `expect` is send
};

step relay(std::string text, kind expect, std::string client = {}) {
    return {std::move(text), {}, expect, std::move(client)};
}
step call(std::function<action(dialogue&)> f, kind expect, std::string client = {}) {
    return {{}, std::move(f), expect, std::move(client)};
}

const auto start = [](dialogue& d) { return d.start(); };
const auto after = [](dialogue& d) { return d.after_message(); };
const auto quit = [](dialogue& d) { return d.quit(); };
const auto tls_up = [](dialogue& d) { return d.tls_established(); };

std::function<action(dialogue&)> send(envelope e) {
    return [e](dialogue& d) { return d.send_message(e); };
}

// Runs the script and returns the last action, for checks on its outcome or error.
action run(dialogue& d, const std::vector<step>& script) {
    reply_parser parser;
    action last;
    for (std::size_t i = 0; i < script.size(); ++i) {
        BOOST_TEST_CONTEXT("step " << i) {
            const step& s = script[i];
            if (s.call) {
                last = s.call(d);
            } else {
                parser.feed(s.relay);
                BOOST_TEST_REQUIRE(!parser.failed(), parser.error());
                bool first = true;
                while (auto r = parser.next()) {
                    // Pipelined replies: all but the last only make the dialogue wait.
                    if (!first) BOOST_TEST(last.what == kind::wait);
                    last = d.on_reply(*r);
                    first = false;
                }
                BOOST_TEST(!first, "the relay's bytes held no complete reply");
                BOOST_TEST(parser.buffered() == 0u);
            }
            BOOST_TEST(last.what == s.expect);
            if (s.expect == kind::send) BOOST_TEST(last.bytes == s.client);
            if (last.what != kind::send) BOOST_TEST(last.bytes.empty());
        }
    }
    return last;
}

dialogue_options plain_options() {
    dialogue_options o;
    o.helo_name = "nidan.test";
    return o;
}

const std::string message = "Subject: code\r\n\r\n.hidden line\r\n123456\r\n";
const std::string stuffed = "Subject: code\r\n\r\n..hidden line\r\n123456\r\n.\r\n";

envelope mail() { return {"no-reply@example.jp", {"user@example.com"}, message}; }

// Greeting and EHLO up to ready, with the given EHLO reply.
std::vector<step> opening(const std::string& ehlo_reply) {
    return {call(start, kind::wait),
            relay("220 relay.example ESMTP\r\n", kind::send, "EHLO nidan.test\r\n"),
            relay(ehlo_reply, kind::ready)};
}

// Those steps, then `rest`.
std::vector<step> opened(const std::string& ehlo_reply, const std::vector<step>& rest) {
    auto script = opening(ehlo_reply);
    script.insert(script.end(), rest.begin(), rest.end());
    return script;
}

// start() and a greeting up to EHLO, then `rest` (which begins with the reply to EHLO).
std::vector<step> greeted(const std::vector<step>& rest) {
    std::vector<step> script = {call(start, kind::wait),
                                relay("220 hi\r\n", kind::send, "EHLO nidan.test\r\n")};
    script.insert(script.end(), rest.begin(), rest.end());
    return script;
}

const std::string ehlo_basic = "250-relay.example\r\n250-8BITMIME\r\n250 HELP\r\n";
const std::string ehlo_pipelining = "250-relay.example\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n";

reply make_reply(int code, std::vector<std::string> lines = {}) {
    reply r;
    r.code = code;
    r.lines = std::move(lines);
    return r;
}

std::vector<reply> parse_all(std::string_view bytes, reply_parser& p) {
    p.feed(bytes);
    std::vector<reply> out;
    while (auto r = p.next()) out.push_back(*r);
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// reply_parser

BOOST_AUTO_TEST_CASE(parser_single_line) {
    reply_parser p;
    const auto replies = parse_all("250 OK\r\n", p);
    BOOST_TEST_REQUIRE(replies.size() == 1u);
    BOOST_TEST(replies[0].code == 250);
    BOOST_TEST(replies[0].lines == std::vector<std::string>{"OK"});
    BOOST_TEST(replies[0].positive());
    BOOST_TEST(replies[0].summary() == "250 OK");

    const auto bare = parse_all("221\r\n", p);
    BOOST_TEST_REQUIRE(bare.size() == 1u);
    BOOST_TEST(bare[0].code == 221);
    BOOST_TEST(bare[0].summary() == "221");
    BOOST_TEST(p.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(parser_multi_line) {
    reply_parser p;
    const auto replies =
        parse_all("250-relay.example hello\r\n250-PIPELINING\r\n250-\r\n250 SIZE 100\r\n", p);
    BOOST_TEST_REQUIRE(replies.size() == 1u);
    BOOST_TEST(replies[0].lines ==
               (std::vector<std::string>{"relay.example hello", "PIPELINING", "", "SIZE 100"}));
    BOOST_TEST(replies[0].summary() == "250 relay.example hello / PIPELINING /  / SIZE 100");
}

BOOST_AUTO_TEST_CASE(parser_classes) {
    BOOST_TEST(make_reply(354).positive());
    BOOST_TEST(make_reply(451).transient());
    BOOST_TEST(!make_reply(451).permanent());
    BOOST_TEST(make_reply(554).permanent());
    const reply with_controls = make_reply(550, {"a\tb\x01", "c"});
    BOOST_TEST(with_controls.summary() == "550 ab / c");
}

BOOST_AUTO_TEST_CASE(parser_rejects_garbage) {
    const std::vector<std::string> bad = {
        "250-a\r\n251 b\r\n",  // codes differ within one reply
        "199 too low\r\n",     "600 too high\r\n", "099 x\r\n",   "2a0 x\r\n", "25 x\r\n",
        "25\r\n",              "250x\r\n",         "\r\n",        "+250 x\r\n", " 250 x\r\n",
        "hello\r\n",           "250 ok\n",         // bare LF
        "250 o\rk\r\n",        // bare CR
        "250 a\0b\r\n"s,       "250 a\x1b[31m\r\n", "250 \x7f\r\n", "\n", "\x16\x03\x01\x02\x00\r\n"s,
    };
    for (const auto& bytes : bad) {
        BOOST_TEST_CONTEXT(bytes) {
            reply_parser p;
            p.feed(bytes);
            BOOST_TEST(p.failed());
            BOOST_TEST(!p.error().empty());
            BOOST_TEST(!p.next().has_value());
            // A failed parser stays failed and ignores what follows.
            p.feed("250 fine\r\n");
            BOOST_TEST(!p.next().has_value());
            BOOST_TEST(p.failed());
        }
    }
}

BOOST_AUTO_TEST_CASE(parser_accepts_tab_and_8bit_text) {
    reply_parser p;
    const auto replies = parse_all("220 relay\tready \xE3\x81\x82\r\n", p);
    BOOST_TEST_REQUIRE(replies.size() == 1u);
    BOOST_TEST(!p.failed());
}

BOOST_AUTO_TEST_CASE(parser_line_length) {
    // 512 including CRLF is the limit.
    const std::string longest = "250 " + std::string(506, 'x') + "\r\n";
    BOOST_TEST_REQUIRE(longest.size() == 512u);
    reply_parser ok;
    BOOST_TEST(parse_all(longest, ok).size() == 1u);
    BOOST_TEST(!ok.failed());

    reply_parser too_long;
    too_long.feed("250 " + std::string(507, 'x') + "\r\n");
    BOOST_TEST(too_long.failed());

    // Without its CRLF, a line fails as soon as it can no longer fit: no unbounded buffering.
    reply_parser unterminated;
    unterminated.feed("250 " + std::string(506, 'x') + "\r");
    BOOST_TEST(!unterminated.failed());
    BOOST_TEST(unterminated.buffered() == 511u);
    reply_parser growing;
    growing.feed("250 " + std::string(507, 'x'));
    BOOST_TEST(!growing.failed());
    growing.feed("x");
    BOOST_TEST(growing.failed());
    BOOST_TEST(growing.buffered() == 0u);
    growing.feed(std::string(100000, 'x'));
    BOOST_TEST(growing.buffered() == 0u);

    reply_parser small(20, 4);
    small.feed("250 " + std::string(30, 'x'));
    BOOST_TEST(small.failed());
}

BOOST_AUTO_TEST_CASE(parser_line_count) {
    reply_parser p(512, 3);
    BOOST_TEST(parse_all("250-a\r\n250-b\r\n250 c\r\n", p).size() == 1u);
    p.feed("250-a\r\n250-b\r\n250-c\r\n");
    BOOST_TEST(!p.failed());
    p.feed("250-d\r\n");
    BOOST_TEST(p.failed());
}

BOOST_AUTO_TEST_CASE(parser_unread_replies_are_bounded) {
    reply_parser p;
    for (int i = 0; i < 10000 && !p.failed(); ++i) p.feed("250 ok\r\n");
    BOOST_TEST(p.failed());
    BOOST_TEST(p.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(parser_byte_by_byte) {
    const std::string bytes = "250-relay\r\n250-AUTH PLAIN\r\n250 OK\r\n354 go on\r\n";
    reply_parser p;
    std::vector<reply> got;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        p.feed(bytes.substr(i, 1));
        BOOST_TEST(!p.failed());
        while (auto r = p.next()) {
            got.push_back(*r);
            // A reply appears exactly when its last line's LF arrives.
            BOOST_TEST((i == 34 || i == bytes.size() - 1));
        }
    }
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].code == 250);
    BOOST_TEST(got[0].lines.size() == 3u);
    BOOST_TEST(got[1].code == 354);
    BOOST_TEST(p.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(parser_two_replies_in_one_feed) {
    reply_parser p;
    p.feed("250 first\r\n550 second\r\n45");
    BOOST_TEST(p.buffered() == 25u);
    auto a = p.next();
    BOOST_TEST_REQUIRE(a.has_value());
    BOOST_TEST(a->lines.front() == "first");
    BOOST_TEST(p.buffered() == 14u);
    auto b = p.next();
    BOOST_TEST_REQUIRE(b.has_value());
    BOOST_TEST(b->code == 550);
    BOOST_TEST(!p.next().has_value());
    BOOST_TEST(p.buffered() == 2u);
    p.feed("1 later\r\n");
    auto c = p.next();
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->code == 451);
}

BOOST_AUTO_TEST_CASE(parser_discard_buffered) {
    reply_parser p;
    // What a man in the middle would append to the 220 of STARTTLS.
    p.feed("220 go ahead\r\n250-injected\r\n250 too\r\n250-par");
    auto r = p.next();
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == 220);
    BOOST_TEST(p.buffered() > 0u);
    p.discard_buffered();
    BOOST_TEST(p.buffered() == 0u);
    BOOST_TEST(!p.next().has_value());
    // The half-received multi-line reply is forgotten as well: a new reply starts clean.
    p.feed("251 fresh\r\n");
    r = p.next();
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == 251);
    BOOST_TEST(!p.failed());
}

BOOST_AUTO_TEST_CASE(parser_random_bytes_never_crash) {
    std::mt19937 rng(12345);
    const std::string alphabet = "0123456789 -\r\n2345abc\x01\xff";
    for (int round = 0; round < 2000; ++round) {
        reply_parser p(64, 4);
        for (int chunk = 0; chunk < 20; ++chunk) {
            std::string bytes(rng() % 40, ' ');
            for (auto& c : bytes) c = alphabet[rng() % alphabet.size()];
            p.feed(bytes);
            while (auto r = p.next()) {
                BOOST_TEST_REQUIRE((r->code >= 200 && r->code <= 599));
                BOOST_TEST_REQUIRE(!r->lines.empty());
            }
            BOOST_TEST_REQUIRE(p.buffered() <= 64u * 5u);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dot_stuff

BOOST_AUTO_TEST_CASE(dot_stuffing) {
    BOOST_TEST(dot_stuff("") == ".\r\n");
    BOOST_TEST(dot_stuff(".") == "..\r\n.\r\n");
    BOOST_TEST(dot_stuff("..x") == "...x\r\n.\r\n");
    BOOST_TEST(dot_stuff("a\r\n.b\r\n.\r\nc.\r\n") == "a\r\n..b\r\n..\r\nc.\r\n.\r\n");
    BOOST_TEST(dot_stuff("a\nb\n") == "a\r\nb\r\n.\r\n");         // bare LF
    BOOST_TEST(dot_stuff("a\rb\r") == "a\r\nb\r\n.\r\n");         // bare CR
    BOOST_TEST(dot_stuff("a\r\r\nb") == "a\r\n\r\nb\r\n.\r\n");   // CR then CRLF: two line ends
    BOOST_TEST(dot_stuff("a\n\r\nb") == "a\r\n\r\nb\r\n.\r\n");
    BOOST_TEST(dot_stuff("no final newline") == "no final newline\r\n.\r\n");
    BOOST_TEST(dot_stuff("x\r\n.") == "x\r\n..\r\n.\r\n");
    BOOST_TEST(dot_stuff("\n.\n") == "\r\n..\r\n.\r\n");
    BOOST_TEST(dot_stuff("a\r\n\r\n") == "a\r\n\r\n.\r\n");
    BOOST_TEST(dot_stuff(" .not first") == " .not first\r\n.\r\n");
    BOOST_TEST(dot_stuff(message) == stuffed);
}

// ---------------------------------------------------------------------------------------------
// dialogue

BOOST_AUTO_TEST_CASE(happy_path_without_pipelining) {
    dialogue d(plain_options());
    BOOST_TEST(!d.tls_active());
    const auto done = run(d, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("250 2.1.0 Ok\r\n", kind::send, "RCPT TO:<user@example.com>\r\n"),
        relay("250 2.1.5 Ok\r\n", kind::send, "DATA\r\n"),
        relay("354 End data with <CR><LF>.<CR><LF>\r\n", kind::send, stuffed),
        relay("250 2.0.0 Ok: queued as 4F2A\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::accepted);
    BOOST_TEST(done.outcome.code == 250);
    BOOST_TEST(done.outcome.stage == "message");
    BOOST_TEST(done.outcome.reply == "250 2.0.0 Ok: queued as 4F2A");
    BOOST_TEST(d.extensions() == (std::set<std::string>{"8BITMIME", "HELP"}));
    BOOST_TEST(!d.pipelining());
    BOOST_TEST(d.messages_sent() == 1u);

    const auto end = run(d, {call(after, kind::ready), call(quit, kind::send, "QUIT\r\n"),
                             relay("221 2.0.0 Bye\r\n", kind::closed)});
    BOOST_TEST(end.error.empty());
    BOOST_TEST(!d.is_ready());
}

BOOST_AUTO_TEST_CASE(happy_path_with_pipelining) {
    dialogue d(plain_options());
    const auto done = run(d, opened(ehlo_pipelining, {
        call(send(mail()), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=" + std::to_string(stuffed.size() - 3) +
                 "\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
        relay("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n", kind::send, stuffed),
        relay("250 2.0.0 queued\r\n", kind::message_done),
        call(after, kind::ready),
    }));
    BOOST_TEST(d.pipelining());
    BOOST_TEST(d.size_limit() == 1000000u);
    BOOST_TEST(d.messages_sent() == 1u);

    // The same, with the replies arriving one at a time and two recipients.
    envelope two = mail();
    two.rcpt_to.push_back("second@example.com");
    const auto again = run(d, {
        call(send(two), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\n"
             "RCPT TO:<second@example.com>\r\nDATA\r\n"),
        relay("250 ok\r\n", kind::wait),
        relay("250 ok\r\n", kind::wait),
        relay("250 ok\r\n", kind::wait),
        relay("354 go\r\n", kind::send, stuffed),
        relay("250 queued\r\n", kind::message_done),
    });
    BOOST_TEST(again.outcome.result == result::accepted);
    BOOST_TEST(d.messages_sent() == 2u);
}

BOOST_AUTO_TEST_CASE(helo_fallback) {
    dialogue d(plain_options());
    run(d, {
        call(start, kind::wait),
        relay("220 old.example\r\n", kind::send, "EHLO nidan.test\r\n"),
        relay("502 5.5.2 Error: command not recognized\r\n", kind::send, "HELO nidan.test\r\n"),
        relay("250 old.example\r\n", kind::ready),
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
    });
    BOOST_TEST(d.extensions().empty());
    BOOST_TEST(!d.pipelining());
}

BOOST_AUTO_TEST_CASE(helo_refused_too) {
    dialogue d(plain_options());
    const auto end = run(d, {
        call(start, kind::wait),
        relay("220 old.example\r\n", kind::send, "EHLO nidan.test\r\n"),
        relay("500 what\r\n", kind::send, "HELO nidan.test\r\n"),
        relay("550 go away\r\n", kind::closed),
    });
    BOOST_TEST(end.error == "HELO refused: 550 go away");
}

BOOST_AUTO_TEST_CASE(ehlo_transient_failure_closes) {
    dialogue d(plain_options());
    const auto end = run(d, greeted({
        relay("451 busy\r\n", kind::closed)
    }));
    BOOST_TEST(end.error == "EHLO refused: 451 busy");
}

BOOST_AUTO_TEST_CASE(starttls) {
    auto o = plain_options();
    o.tls = tls_mode::starttls;
    dialogue d(o);
    run(d, {
        call(start, kind::wait),
        relay("220 relay.example ESMTP\r\n", kind::send, "EHLO nidan.test\r\n"),
        relay("250-relay.example\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n", kind::send,
              "STARTTLS\r\n"),
        relay("220 2.0.0 Ready to start TLS\r\n", kind::start_tls),
    });
    BOOST_TEST(!d.tls_active());
    run(d, {
        call(tls_up, kind::send, "EHLO nidan.test\r\n"),
    });
    BOOST_TEST(d.tls_active());
    BOOST_TEST(d.extensions().empty());  // forgotten: they came over plain text
    run(d, {
        relay("250-relay.example\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 5000\r\n", kind::ready),
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp> SIZE=40\r\n"),
    });
    BOOST_TEST(d.extensions() == (std::set<std::string>{"AUTH", "SIZE"}));
    BOOST_TEST(d.auth_mechanisms() == (std::set<std::string>{"PLAIN", "LOGIN"}));
}

BOOST_AUTO_TEST_CASE(starttls_not_offered) {
    auto o = plain_options();
    o.tls = tls_mode::starttls;
    dialogue d(o);
    const auto end = run(d, greeted({
        relay(ehlo_pipelining, kind::closed)
    }));
    BOOST_TEST(end.error == "relay does not offer STARTTLS");

    // EHLO refused: HELO has no STARTTLS either; never on in plain text.
    dialogue h(o);
    const auto helo_end = run(h, greeted({
        relay("502 no\r\n", kind::send, "HELO nidan.test\r\n"),
        relay("250 hi\r\n", kind::closed)
    }));
    BOOST_TEST(helo_end.error == "relay does not offer STARTTLS");
}

BOOST_AUTO_TEST_CASE(starttls_refused) {
    auto o = plain_options();
    o.tls = tls_mode::starttls;
    dialogue d(o);
    const auto end = run(d, greeted({
        relay("250-hi\r\n250 STARTTLS\r\n", kind::send, "STARTTLS\r\n"),
        relay("454 4.7.0 TLS not available\r\n", kind::closed)
    }));
    BOOST_TEST(end.error == "STARTTLS refused: 454 4.7.0 TLS not available");
}

BOOST_AUTO_TEST_CASE(starttls_injected_reply) {
    auto o = plain_options();
    o.tls = tls_mode::starttls;
    dialogue d(o);
    run(d, greeted({
        relay("250-hi\r\n250 STARTTLS\r\n", kind::send, "STARTTLS\r\n")
    }));
    reply_parser p;
    p.feed("220 go ahead\r\n250-relay\r\n250 AUTH PLAIN\r\n");
    BOOST_TEST(d.on_reply(*p.next()).what == kind::start_tls);
    // A driver that fed the injected reply instead of discarding it gets a closed connection.
    const auto injected = d.on_reply(*p.next());
    BOOST_TEST(injected.what == kind::closed);
    BOOST_TEST(injected.error.starts_with("unexpected reply"));
    BOOST_TEST(d.tls_established().what == kind::closed);
}

BOOST_AUTO_TEST_CASE(implicit_tls_with_auth_plain) {
    auto o = plain_options();
    o.tls = tls_mode::implicit;
    o.auth = credentials{"user", "pass"};
    dialogue d(o);
    BOOST_TEST(d.tls_active());
    run(d, {
        call(start, kind::wait),
        relay("220 relay.example ESMTP\r\n", kind::send, "EHLO nidan.test\r\n"),
        relay("250-relay.example\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n", kind::send,
              "AUTH PLAIN AHVzZXIAcGFzcw==\r\n"),
        relay("235 2.7.0 Authentication successful\r\n", kind::ready),
    });
    BOOST_TEST(d.is_ready());
}

BOOST_AUTO_TEST_CASE(auth_plain_utf8_credentials) {
    auto o = plain_options();
    o.tls = tls_mode::implicit;
    o.auth = credentials{"nidan@example.jp", "p\xC3\xA4ss word"};
    dialogue d(o);
    run(d, greeted({
        relay("250-hi\r\n250 AUTH PLAIN\r\n", kind::send,
        "AUTH PLAIN AG5pZGFuQGV4YW1wbGUuanAAcMOkc3Mgd29yZA==\r\n")
    }));
}

BOOST_AUTO_TEST_CASE(auth_login) {
    auto o = plain_options();
    o.tls = tls_mode::implicit;
    o.auth = credentials{"user", "pass"};
    dialogue d(o);
    run(d, {
        call(start, kind::wait),
        relay("220 hi\r\n", kind::send, "EHLO nidan.test\r\n"),
        relay("250-hi\r\n250 AUTH LOGIN\r\n", kind::send, "AUTH LOGIN\r\n"),
        relay("334 VXNlcm5hbWU6\r\n", kind::send, "dXNlcg==\r\n"),
        relay("334 UGFzc3dvcmQ6\r\n", kind::send, "cGFzcw==\r\n"),
        relay("235 ok\r\n", kind::ready),
    });
}

BOOST_AUTO_TEST_CASE(auth_refused_over_plain_text) {
    auto o = plain_options();
    o.auth = credentials{"user", "pass"};
    dialogue d(o);
    const auto end = run(d, greeted({
        relay("250-hi\r\n250 AUTH PLAIN\r\n", kind::closed)
    }));
    BOOST_TEST(end.error == "refusing AUTH without TLS");

    o.allow_auth_without_tls = true;
    dialogue allowed(o);
    run(allowed, greeted({
        relay("250-hi\r\n250 AUTH PLAIN\r\n", kind::send, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
    }));
}

BOOST_AUTO_TEST_CASE(auth_failures) {
    auto o = plain_options();
    o.tls = tls_mode::implicit;
    o.auth = credentials{"user", "wrong"};
    {
        dialogue d(o);
        const auto end = run(d, greeted({
            relay("250-hi\r\n250 AUTH PLAIN\r\n", kind::send, "AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n"),
            relay("535 5.7.8 Authentication credentials invalid\r\n", kind::closed)
        }));
        BOOST_TEST(end.error == "authentication failed: 535 5.7.8 Authentication credentials invalid");
    }
    {
        dialogue d(o);
        const auto end = run(d, greeted({
            relay("250-hi\r\n250 AUTH LOGIN\r\n", kind::send, "AUTH LOGIN\r\n"),
            relay("334 VXNlcm5hbWU6\r\n", kind::send, "dXNlcg==\r\n"),
            relay("334 UGFzc3dvcmQ6\r\n", kind::send, "d3Jvbmc=\r\n"),
            relay("454 4.7.0 Temporary authentication failure\r\n", kind::closed)
        }));
        BOOST_TEST(end.error.starts_with("authentication failed: 454"));
    }
    {
        dialogue d(o);
        const auto end = run(d, greeted({
            relay("250-hi\r\n250 SIZE 100\r\n", kind::closed)
        }));
        BOOST_TEST(end.error == "relay does not offer AUTH");
    }
    {
        dialogue d(o);
        const auto end = run(d, greeted({
            relay("250-hi\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n", kind::closed)
        }));
        BOOST_TEST(end.error.starts_with("relay offers no AUTH mechanism"));
    }
}

BOOST_AUTO_TEST_CASE(mail_transient_then_rset_and_second_message) {
    dialogue d(plain_options());
    const auto failed = run(d, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("451 4.3.0 Try again later\r\n", kind::message_done),
    }));
    BOOST_TEST(failed.outcome.result == result::transient);
    BOOST_TEST(failed.outcome.code == 451);
    BOOST_TEST(failed.outcome.stage == "MAIL");
    BOOST_TEST(failed.outcome.reply == "451 4.3.0 Try again later");

    const auto second = run(d, {
        call(after, kind::send, "RSET\r\n"),
        relay("250 2.0.0 Ok\r\n", kind::ready),
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("250 ok\r\n", kind::send, "RCPT TO:<user@example.com>\r\n"),
        relay("250 ok\r\n", kind::send, "DATA\r\n"),
        relay("354 go\r\n", kind::send, stuffed),
        relay("250 queued\r\n", kind::message_done),
        call(after, kind::ready),
    });
    BOOST_TEST(d.messages_sent() == 1u);
}

BOOST_AUTO_TEST_CASE(rset_refused_closes) {
    dialogue d(plain_options());
    const auto end = run(d, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("452 full\r\n", kind::message_done),
        call(after, kind::send, "RSET\r\n"),
        relay("500 no\r\n", kind::closed),
    }));
    BOOST_TEST(end.error == "RSET refused: 500 no");
}

BOOST_AUTO_TEST_CASE(rcpt_permanent) {
    dialogue d(plain_options());
    const auto done = run(d, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("250 ok\r\n", kind::send, "RCPT TO:<user@example.com>\r\n"),
        relay("550 5.1.1 User unknown\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::permanent);
    BOOST_TEST(done.outcome.code == 550);
    BOOST_TEST(done.outcome.stage == "RCPT");
    BOOST_TEST(done.outcome.reply == "<user@example.com>: 550 5.1.1 User unknown");
    run(d, {call(after, kind::send, "RSET\r\n"), relay("250 ok\r\n", kind::ready)});
    dialogue p(plain_options());
    const auto pipelined = run(p, opened(ehlo_pipelining, {
        call(send(mail()), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
        // RFC 2920: DATA fails with 554 (or 503) when no recipient was accepted.
        relay("250 ok\r\n550 5.1.1 User unknown\r\n554 5.5.1 Error: no valid recipients\r\n",
              kind::message_done),
    }));
    BOOST_TEST(pipelined.outcome.result == result::permanent);
    BOOST_TEST(pipelined.outcome.code == 550);
    BOOST_TEST(pipelined.outcome.stage == "RCPT");
    BOOST_TEST(pipelined.outcome.reply == "<user@example.com>: 550 5.1.1 User unknown");
    run(p, {call(after, kind::send, "RSET\r\n"), relay("250 ok\r\n", kind::ready)});
}

BOOST_AUTO_TEST_CASE(rcpt_mixed_failures_are_transient) {
    dialogue d(plain_options());
    envelope e = mail();
    e.rcpt_to = {"a@example.com", "b@example.com"};
    const auto done = run(d, opened(ehlo_basic, {
        call(send(e), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("250 ok\r\n", kind::send, "RCPT TO:<a@example.com>\r\n"),
        relay("550 no such user\r\n", kind::send, "RCPT TO:<b@example.com>\r\n"),
        relay("450 mailbox busy\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::transient);
    BOOST_TEST(done.outcome.code == 450);
    BOOST_TEST(done.outcome.reply ==
               "<a@example.com>: 550 no such user; <b@example.com>: 450 mailbox busy");
}

BOOST_AUTO_TEST_CASE(some_recipients_accepted) {
    dialogue d(plain_options());
    envelope e = mail();
    e.rcpt_to = {"a@example.com", "b@example.com"};
    const auto done = run(d, opened(ehlo_pipelining, {
        call(send(e), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<a@example.com>\r\n"
             "RCPT TO:<b@example.com>\r\nDATA\r\n"),
        relay("250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n", kind::send, stuffed),
        relay("250 queued\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::accepted);
    BOOST_TEST(done.outcome.reply == "250 queued (refused: <a@example.com>: 550 no such user)");
    run(d, {call(after, kind::ready)});
}

BOOST_AUTO_TEST_CASE(pipelined_mail_failure_drains_replies) {
    dialogue d(plain_options());
    const auto done = run(d, opened(ehlo_pipelining, {
        call(send(mail()), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
        relay("451 4.7.1 greylisted\r\n", kind::wait),
        relay("503 5.5.1 need MAIL\r\n", kind::wait),
        relay("503 5.5.1 need RCPT\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::transient);
    BOOST_TEST(done.outcome.code == 451);
    BOOST_TEST(done.outcome.stage == "MAIL");
    run(d, {call(after, kind::send, "RSET\r\n"), relay("250 ok\r\n", kind::ready)});
}

BOOST_AUTO_TEST_CASE(pipelined_data_accepted_without_recipients_closes) {
    dialogue d(plain_options());
    const auto done = run(d, opened(ehlo_pipelining, {
        call(send(mail()), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
        relay("250 ok\r\n550 unknown\r\n354 go\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.stage == "RCPT");
    BOOST_TEST(done.outcome.result == result::permanent);
    const auto end = run(d, {call(after, kind::closed)});
    BOOST_TEST(end.error.starts_with("relay accepted DATA without a recipient"));
}

BOOST_AUTO_TEST_CASE(data_refused) {
    dialogue d(plain_options());
    const auto done = run(d, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("250 ok\r\n", kind::send, "RCPT TO:<user@example.com>\r\n"),
        relay("250 ok\r\n", kind::send, "DATA\r\n"),
        relay("554 5.5.1 no\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::permanent);
    BOOST_TEST(done.outcome.code == 554);
    BOOST_TEST(done.outcome.stage == "DATA");
    run(d, {call(after, kind::send, "RSET\r\n"), relay("250 ok\r\n", kind::ready)});
}

BOOST_AUTO_TEST_CASE(final_reply_failures) {
    const std::vector<std::pair<std::string, result>> cases = {
        {"452 4.3.1 Insufficient storage\r\n", result::transient},
        {"554 5.7.1 Spam\r\n", result::permanent},
    };
    for (const auto& [text, expected] : cases) {
        dialogue d(plain_options());
        const auto done = run(d, opened(ehlo_pipelining, {
            call(send(mail()), kind::send,
                 "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
            relay("250 ok\r\n250 ok\r\n354 go\r\n", kind::send, stuffed),
            relay(text, kind::message_done),
        }));
        BOOST_TEST(done.outcome.result == expected);
        BOOST_TEST(done.outcome.stage == "message");
        // The transaction ended with the reply to the data: no RSET.
        run(d, {call(after, kind::ready)});
        BOOST_TEST(d.messages_sent() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(closing_421_mid_transaction) {
    dialogue d(plain_options());
    const auto done = run(d, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        relay("250 ok\r\n", kind::send, "RCPT TO:<user@example.com>\r\n"),
        relay("421 4.4.2 relay.example Error: timeout exceeded\r\n", kind::message_done),
    }));
    BOOST_TEST(done.outcome.result == result::transient);
    BOOST_TEST(done.outcome.code == 421);
    BOOST_TEST(done.outcome.stage == "RCPT");
    const auto end = run(d, {call(after, kind::closed)});
    BOOST_TEST(end.error == "relay closing: 421 4.4.2 relay.example Error: timeout exceeded");
    BOOST_TEST(d.quit().what == kind::closed);

    // After the data: the message may or may not have gone; transient, and the connection ends.
    dialogue late(plain_options());
    const auto after_data = run(late, opened(ehlo_pipelining, {
        call(send(mail()), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
        relay("250 ok\r\n250 ok\r\n354 go\r\n", kind::send, stuffed),
        relay("421 shutting down\r\n", kind::message_done),
        call(after, kind::closed),
    }));
    BOOST_TEST(after_data.error == "relay closing: 421 shutting down");

    // While draining a pipelined failure: the failure is still the outcome.
    dialogue drain(plain_options());
    const auto drained = run(drain, opened(ehlo_pipelining, {
        call(send(mail()), kind::send,
             "MAIL FROM:<no-reply@example.jp> SIZE=40\r\nRCPT TO:<user@example.com>\r\nDATA\r\n"),
        relay("550 sender rejected\r\n", kind::wait),
        relay("421 bye\r\n", kind::message_done),
    }));
    BOOST_TEST(drained.outcome.result == result::permanent);
    BOOST_TEST(drained.outcome.code == 550);
    BOOST_TEST(run(drain, {call(after, kind::closed)}).error == "relay closing: 421 bye");
}

BOOST_AUTO_TEST_CASE(closing_421_when_idle) {
    dialogue d(plain_options());
    const auto end = run(d, opened(ehlo_basic, {relay("421 idle too long\r\n", kind::closed)}));
    BOOST_TEST(end.error == "relay closing: 421 idle too long");
}

BOOST_AUTO_TEST_CASE(greeting_refused) {
    for (const auto& text : {"554 5.7.1 No SMTP service here\r\n"s, "421 too busy\r\n"s}) {
        dialogue d(plain_options());
        const auto end = run(d, {call(start, kind::wait), relay(text, kind::closed)});
        BOOST_TEST(end.error == "relay refused the connection: " + text.substr(0, text.size() - 2));
        BOOST_TEST(d.quit().what == kind::closed);
    }
    dialogue odd(plain_options());
    const auto end = run(odd, {call(start, kind::wait), relay("250 hello?\r\n", kind::closed)});
    BOOST_TEST(end.error == "unexpected greeting: 250 hello?");
}

BOOST_AUTO_TEST_CASE(unexpected_replies) {
    {
        dialogue d(plain_options());
        const auto end = run(d, opened(ehlo_basic, {relay("250 surprise\r\n", kind::closed)}));
        BOOST_TEST(end.error == "unexpected reply: 250 surprise");
        // Everything after closed stays closed, with the first reason.
        BOOST_TEST(d.on_reply(make_reply(250, {"x"})).error == "unexpected reply: 250 surprise");
        BOOST_TEST(d.send_message(mail()).what == kind::closed);
        BOOST_TEST(d.after_message().what == kind::closed);
        BOOST_TEST(d.tls_established().what == kind::closed);
        BOOST_TEST(d.start().what == kind::closed);
        BOOST_TEST(d.connection_failed("late").error == "unexpected reply: 250 surprise");
    }
    {
        dialogue d(plain_options());
        run(d, opened(ehlo_basic, {
            call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n")}));
        const auto done = d.on_reply(make_reply(199, {"not a reply"}));
        BOOST_TEST(done.what == kind::message_done);
        BOOST_TEST(done.outcome.result == result::transient);
        BOOST_TEST(d.after_message().error == "ill-formed reply code 199");
    }
    {
        dialogue d(plain_options());
        const auto r = d.on_reply(make_reply(220, {"before start"}));
        BOOST_TEST(r.what == kind::closed);
        BOOST_TEST(r.error.starts_with("unexpected reply"));
    }
    {
        // 354 to MAIL: the message gets an outcome, then the connection ends.
        dialogue d(plain_options());
        const auto done = run(d, opened(ehlo_basic, {
            call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
            relay("354 what\r\n", kind::message_done),
            call(after, kind::closed),
        }));
        BOOST_TEST(done.error == "unexpected reply: 354 what");
    }
    {
        // A reply after message_done, before after_message().
        dialogue d(plain_options());
        run(d, opened(ehlo_basic, {
            call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
            relay("550 no\r\n", kind::message_done),
            relay("250 extra\r\n", kind::closed),
        }));
    }
}

BOOST_AUTO_TEST_CASE(invalid_helo_name) {
    for (const auto& name : {""s, "nidan test"s, "nidan.test\r\nMAIL FROM:<x@y>"s}) {
        auto o = plain_options();
        o.helo_name = name;
        dialogue d(o);
        const auto a = d.start();
        BOOST_TEST(a.what == kind::closed);
        BOOST_TEST(a.error == "invalid helo_name");
    }
}

BOOST_AUTO_TEST_CASE(calls_out_of_order_never_crash) {
    dialogue d(plain_options());
    BOOST_TEST(d.after_message().what == kind::closed);
    dialogue e(plain_options());
    run(e, {call(start, kind::wait), call(send(mail()), kind::closed)});
    dialogue f(plain_options());
    run(f, {call(start, kind::wait), call(start, kind::closed)});
    dialogue g(plain_options());
    run(g, {call(start, kind::wait), call(tls_up, kind::closed)});
    dialogue h(plain_options());
    run(h, opened(ehlo_basic, {
        call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
        call(send(mail()), kind::message_done),  // a second message while one is in progress
        call(after, kind::closed),
    }));
    dialogue q(plain_options());
    BOOST_TEST(q.quit().what == kind::closed);
}

BOOST_AUTO_TEST_CASE(connection_failures) {
    {
        dialogue d(plain_options());
        const auto done = run(d, opened(ehlo_basic, {
            call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
            relay("250 ok\r\n", kind::send, "RCPT TO:<user@example.com>\r\n"),
            relay("250 ok\r\n", kind::send, "DATA\r\n"),
            relay("354 go\r\n", kind::send, stuffed),
            call([](dialogue& x) { return x.connection_failed("read timed out"); }, kind::message_done),
        }));
        BOOST_TEST(done.outcome.result == result::transient);
        BOOST_TEST(done.outcome.stage == "connection");
        BOOST_TEST(done.outcome.code == 0);
        BOOST_TEST(done.outcome.reply == "read timed out");
        const auto end = d.after_message();
        BOOST_TEST(end.what == kind::closed);
        BOOST_TEST(end.error == "read timed out");
    }
    {
        dialogue d(plain_options());
        const auto end = run(d, opened(ehlo_basic, {
            call([](dialogue& x) { return x.connection_failed("reset by peer"); }, kind::closed)}));
        BOOST_TEST(end.error == "reset by peer");
    }
    {
        dialogue d(plain_options());
        const auto end = run(d, opened(ehlo_basic, {
            call(quit, kind::send, "QUIT\r\n"),
            call([](dialogue& x) { return x.connection_failed("eof"); }, kind::closed)}));
        BOOST_TEST(end.error.empty());
    }
    {
        // Between message_done and after_message().
        dialogue d(plain_options());
        const auto end = run(d, opened(ehlo_basic, {
            call(send(mail()), kind::send, "MAIL FROM:<no-reply@example.jp>\r\n"),
            relay("550 no\r\n", kind::message_done),
            call([](dialogue& x) { return x.connection_failed(""); }, kind::closed)}));
        BOOST_TEST(!end.error.empty());
    }
}

BOOST_AUTO_TEST_CASE(invalid_addresses_are_refused_unsent) {
    const std::vector<std::string> bad = {
        "a b@example.com", "<a@example.com>", "a@example.com>",
        "a@example.com\r\nRCPT TO:<evil@example.net>",  // command injection
        "a@ex\nample", "a\0@example.com"s, "\xE3\x81\x82@example.jp", std::string(300, 'a'),
    };
    for (const auto& address : bad) {
        BOOST_TEST_CONTEXT(address) {
            dialogue d(plain_options());
            envelope from = mail();
            from.mail_from = address;
            const auto done = run(d, opened(ehlo_basic, {call(send(from), kind::message_done)}));
            BOOST_TEST(done.outcome.result == result::permanent);
            BOOST_TEST(done.outcome.stage == "MAIL");
            BOOST_TEST(done.outcome.reply == "invalid address");
            BOOST_TEST(done.outcome.code == 0);
            // Nothing was sent, so nothing needs resetting.
            run(d, {call(after, kind::ready)});

            envelope to = mail();
            to.rcpt_to.push_back(address);
            const auto rcpt = run(d, {call(send(to), kind::message_done), call(after, kind::ready)});
            (void)rcpt;
        }
    }
    dialogue d(plain_options());
    envelope none = mail();
    none.rcpt_to.clear();
    const auto done = run(d, opened(ehlo_basic, {call(send(none), kind::message_done)}));
    BOOST_TEST(done.outcome.stage == "RCPT");
    BOOST_TEST(done.outcome.result == result::permanent);

    // The null reverse-path is valid.
    envelope bounce = mail();
    bounce.mail_from.clear();
    run(d, {call(after, kind::ready), call(send(bounce), kind::send, "MAIL FROM:<>\r\n")});
}

BOOST_AUTO_TEST_CASE(message_too_large) {
    dialogue d(plain_options());
    envelope big = mail();
    big.message = std::string(200, 'x');
    const auto done = run(d, opened("250-relay\r\n250 SIZE 100\r\n", {
        call(send(big), kind::message_done),
    }));
    run(d, {call(after, kind::ready)});
    BOOST_TEST(done.outcome.result == result::permanent);
    BOOST_TEST(done.outcome.stage == "MAIL");
    BOOST_TEST(done.outcome.code == 0);
    BOOST_TEST(done.outcome.reply == "message too large: 202 bytes, limit 100");
    BOOST_TEST(d.size_limit() == 100u);

    // Within the limit: sent, with SIZE.
    envelope fits = mail();
    fits.message = std::string(98, 'x');
    run(d, {call(send(fits), kind::send, "MAIL FROM:<no-reply@example.jp> SIZE=100\r\n")});

    // Our own limit, with a relay that announces none ("SIZE" alone or "SIZE 0").
    auto o = plain_options();
    o.max_message_bytes = 50;
    dialogue own(o);
    const auto refused = run(own, opened("250-relay\r\n250 SIZE\r\n", {
        call(send(big), kind::message_done),
    }));
    BOOST_TEST(refused.outcome.reply == "message too large: 200 bytes, limit 50");
    BOOST_TEST(own.size_limit() == 0u);
}

// Random replies and calls: whatever happens, no crash, and once closed always closed.
BOOST_AUTO_TEST_CASE(random_exchanges_never_crash) {
    std::mt19937 rng(2024);
    const std::vector<int> codes = {220, 221, 235, 250, 334, 354, 421, 451,
                                    452, 500, 502, 503, 535, 550, 554};
    const std::vector<std::string> texts = {"ok", "PIPELINING", "STARTTLS", "AUTH PLAIN LOGIN",
                                            "SIZE 10"};
    for (int round = 0; round < 3000; ++round) {
        auto o = plain_options();
        o.tls = static_cast<tls_mode>(rng() % 3);
        if (rng() % 2) o.auth = credentials{"u", "p"};
        o.allow_auth_without_tls = rng() % 2 == 0;
        dialogue d(o);
        action a = d.start();
        for (int i = 0; i < 30; ++i) {
            const bool was_closed = a.what == kind::closed;
            switch (rng() % 8) {
                case 0: a = d.send_message(mail()); break;
                case 1: a = d.after_message(); break;
                case 2: a = d.tls_established(); break;
                case 3: a = d.quit(); break;
                case 4: a = d.connection_failed("x"); break;
                default: {
                    reply r = make_reply(codes[rng() % codes.size()], {"relay"});
                    for (std::size_t n = rng() % 4; n > 0; --n)
                        r.lines.push_back(texts[rng() % texts.size()]);
                    a = d.on_reply(r);
                }
            }
            if (was_closed) BOOST_TEST_REQUIRE(a.what == kind::closed);
        }
    }
}
