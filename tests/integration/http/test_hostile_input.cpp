// Randomised hostile input against the real `nidan serve` on 127.0.0.1. The hand-written tables
// (test_bad_input.cpp, test_http_server.cpp, test_api.cpp) say what each known fault must get;
// this test looks for the faults nobody wrote down. It sends a fixed number of generated requests:
// correct requests to the login forms, the code and address forms and the JSON API, each broken by
// one to three random mutations (bytes flipped, inserted or deleted in the request line, the
// header or the body; headers duplicated or dropped; a wrong or contradicting Content-Length;
// chunked bodies with bad sizes; header fields near and over the size limit; invalid UTF-8 and
// NULs; random percent escapes; deep or truncated JSON; random cookies and bearer tokens, tokens
// of another portal among them), and pure random bytes. Slow clients are test_http_server.cpp's.
//
// Each request goes on a connection of its own, and the client half-closes after sending: a
// request the server still waits on (a body shorter than its Content-Length ...) then ends at
// once instead of at the server's read deadline. The server must answer with a status that the
// request's route allows (never 5xx), or close without an answer, but only when the bytes do not
// hold a complete request; within reply_timeout either way. The test frames its own bytes the way
// HTTP/1.1 does to know the route, the body and whether the request is complete.
//
// Nothing may be stored but what a refused login legitimately stores. No request can log in or
// spend anything: passwords are always wrong, the live sessions of the code and address forms
// carry a code or phone number that can never be well formed (it starts with at least eight
// letters, more than the at most three byte edits of a request can remove, so the steps refuse it
// before they touch a code attempt or a phone strike), and logout only ever gets tokens that are
// not live on its portal.
// So the only writes are the failure counters of the wrong passwords - per client address, and
// per account when the ID and the password are well formed (core/login/password_step.cpp) - and their
// expiry index entries. The test predicts them from each reply (a 401 from a password step) and
// the body as framed, and checks every LMDB table after each request and over the whole run.
//
// Replaying: the seed is printed and named in every failure's context; NIDAN_HOSTILE_SEED=<n>
// runs another one. Each request is generated from (seed, index) alone, so a failing index comes
// back with the same bytes in a rerun, except for the session tokens, which are new every run.
// Faults found this way are kept as fixed requests (found_earlier) that every run replays.
#define BOOST_TEST_MODULE hostile_input
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/account/account_rules.hpp"
#include "core/config/config.hpp"
#include "core/web/cookie_names.hpp"
#include "core/web/form_data.hpp"
#include "core/login/login_context.hpp"
#include "core/security/throttle.hpp"
#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/raw_http.hpp"
#include "storage/lmdb/codec.hpp"
#include "storage/lmdb/expiry.hpp"
#include "stored_state.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// ---- the run's shape ---------------------------------------------------------------------

constexpr std::uint32_t fixed_seed = 20240611;
constexpr std::size_t batch_size = 50;  // /healthz is asked after each batch
constexpr auto reply_timeout = 3s;      // per request: answered or closed by then, else a hang
constexpr auto run_budget = 120s;       // the whole loop; a server that hangs ends it early
constexpr std::size_t max_hangs = 3;    // ... as do this many hung requests

// conf/nidan.toml's limits, which the world does not override; api_routes.cpp's JSON bound.
constexpr std::size_t max_header_bytes = 8192;
constexpr std::size_t max_json_bytes = 4096;
// How far from max_header_bytes a header must be for the test to insist on 431 or its absence:
// the exact count (request line, final CRLF) is the parser's business.
constexpr std::size_t header_limit_slack = 512;

enum class request_kind {
    login_form,
    api_login,
    code_form,
    address_form,
    api_code,
    api_address,
    api_session,
    api_logout,
    random_bytes,
    found_earlier  // a reproducer of a fault this test found, replayed on every run (not in quotas)
};

struct kind_quota {
    request_kind kind;
    const char* name;
    std::size_t count;
};

// 600 requests. The password steps get the most: they are the ones that may write.
const std::vector<kind_quota> quotas{
    {request_kind::login_form, "login form", 110},   {request_kind::api_login, "api login", 110},
    {request_kind::code_form, "code form", 65},      {request_kind::address_form, "address form", 65},
    {request_kind::api_code, "api code", 55},        {request_kind::api_address, "api address", 55},
    {request_kind::api_session, "api session", 30},  {request_kind::api_logout, "api logout", 30},
    {request_kind::random_bytes, "random bytes", 80},
};

const char* kind_name(request_kind kind) {
    for (const auto& q : quotas)
        if (q.kind == kind) return q.name;
    return kind == request_kind::found_earlier ? "found earlier" : "?";
}

std::uint32_t seed_of_run() {
    const char* text = std::getenv("NIDAN_HOSTILE_SEED");
    if (text == nullptr || *text == '\0') return fixed_seed;
    return static_cast<std::uint32_t>(std::stoul(text));
}

// ---- the world -----------------------------------------------------------------------------

const world_account taro{"ip-phone", "taro", "taro@example.jp", "09012345678"};  // code form, api code
const world_account jiro{"ip-phone", "jiro", "", "09087654321"};                 // address form, api address
const world_account hanako{"mc050", "hanako", "hanako@example.jp", "09011112222"};  // another portal's sessions
const world_account natsu{"freevoice", "natsu", "natsu@example.jp", "08033334444"};

struct portal_paths {
    std::string id;
    std::string login_path;
    std::string account_id;
};

const std::vector<portal_paths> portals{{"ip-phone", "/selfcare/SelfcareLogin.in", taro.id},
                                        {"mc050", "/mfes/users/login", hanako.id},
                                        {"freevoice", "/cgi-bin/fb_csc_sc_login.cgi.pl", natsu.id}};

const std::string portal_base = "/portal/ip-phone";
const std::string api_base = "/api/v1/ip-phone";
const std::string form_type = "application/x-www-form-urlencoded";
const std::string json_type = "application/json";
const std::string loopback = "127.0.0.1";

// Wrong passwords are the point here. With the shipped throttle every failure past the free ones
// costs a growing delay (and a parallel one a 429), and 200 of them would take hours; with this
// many free failures each is still counted, which is what the test checks, but none waits.
const std::vector<std::string> no_delays{"throttle.address_free_failures=1000000",
                                         "throttle.account_free_failures=1000000"};

// The live values the generated requests carry, looked up once before the run.
struct live_values {
    unsigned short port = 0;
    std::map<std::string, std::string> login_csrf;  // portal -> login form token (cookie and field)
    std::string code_cookie, code_csrf;             // taro's code_pending session on the code form
    std::string address_cookie, address_csrf;       // jiro's, on the address form
    std::string code_token, address_token;          // the same two on the API
    std::string foreign_cookie, foreign_token;      // hanako's mc050 sessions: live, another portal
    std::string dead_token;                         // jiro's API session after its logout
};

// ---- random choices --------------------------------------------------------------------------

using rng_t = std::mt19937;

// One request's generator: from the run's seed and its index only, so it replays on its own.
rng_t rng_for(std::uint32_t seed, std::size_t index) {
    std::seed_seq seq{seed, static_cast<std::uint32_t>(index)};
    return rng_t(seq);
}

std::size_t below(rng_t& rng, std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
std::size_t between(rng_t& rng, std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}
bool one_in(rng_t& rng, std::size_t n) { return below(rng, n) == 0; }

// A copy: the lists are often temporaries.
template <class T>
T pick(rng_t& rng, const std::vector<T>& items) {
    return items[below(rng, items.size())];
}

constexpr std::string_view letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view digits = "0123456789";
constexpr std::string_view alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view token_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
constexpr std::string_view hex_digits = "0123456789abcdefABCDEF";

std::string random_from(rng_t& rng, std::size_t n, std::string_view alphabet) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += alphabet[below(rng, alphabet.size())];
    return out;
}

std::string random_bytes(rng_t& rng, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(below(rng, 256));
    return out;
}

std::string printable_ascii() {
    std::string out;
    for (char c = ' '; c < '\x7f'; ++c) out += c;
    return out;
}

// Bytes that mean something to an HTTP, form or JSON reader, or break UTF-8.
const std::vector<std::string> telling_bytes{"\r", "\n", std::string(1, '\0'), " ", ":", "%", "\xff", "\"", "{",
                                             "\\", "&", "=", ";", ",", "\t", "\x7f", "\xc0", "\xe3"};

// ---- values that can never log in or spend anything -------------------------------------------

// Never an account's password: none of these contains account_password, and the few byte edits a
// request gets cannot turn one into it.
std::string wrong_password(rng_t& rng) {
    switch (below(rng, 6)) {
    case 0: return "wrong-" + random_from(rng, between(rng, 2, 20), alnum);
    case 1: return "間違い-" + random_from(rng, between(rng, 1, 8), alnum);
    case 2: return "";                                   // not well formed: counted for the address only
    case 3: return std::string(between(rng, 1025, 1100), 'w');  // over password_config::max_length
    case 4: return "p w+&=%;\"'\\" + random_from(rng, between(rng, 1, 8), alnum);
    default: return "x" + random_from(rng, between(rng, 8, 40), printable_ascii());
    }
}

std::string login_id(rng_t& rng, const portal_paths& portal) {
    switch (below(rng, 6)) {
    case 0:
    case 1: return portal.account_id;                          // a real account: its counter counts
    case 2: return "ghost" + random_from(rng, between(rng, 1, 6), digits);  // well formed, unknown
    case 3: return pick(rng, portals).account_id;              // maybe an account of another portal
    case 4: return std::string(65, 'a');                       // one byte too long
    default: return pick(rng, std::vector<std::string>{"taro taro", "たろう", "", "taro\t", "a/b", "TARO"});
    }
}

// At least eight letters first: a few byte edits or a truncated body leave letters in it, so it
// is never the six digits a code must be (normalise_code_input) and costs no attempt.
std::string never_valid_code(rng_t& rng) {
    return random_from(rng, between(rng, 8, 12), letters) + random_from(rng, between(rng, 0, 6), digits);
}

// Likewise never a phone number (normalise_phone takes digits and separators only): no strike.
std::string never_valid_phone(rng_t& rng) {
    return "tel" + random_from(rng, between(rng, 5, 9), letters) + "-" + random_from(rng, between(rng, 0, 11), digits);
}

std::string some_address(rng_t& rng) { return "jiro." + random_from(rng, between(rng, 2, 8), alnum) + "@example.jp"; }

std::string random_token(rng_t& rng) { return random_from(rng, 43, token_chars); }

// ---- requests as parts -----------------------------------------------------------------------

// Replaced by the body's length when the request is serialised, so that body mutations keep a
// correct Content-Length unless a framing mutation set another on purpose.
constexpr std::string_view length_placeholder = "{length}";

enum class body_kind { none, form, json };

struct header_line {
    std::string name;
    std::string value;
    bool raw = false;  // `name` is the whole line, as sent (a malformed line)
};

struct request_parts {
    std::string method = "POST";
    std::string target;
    std::string version = "HTTP/1.1";
    std::vector<header_line> headers;
    std::string body;
    body_kind kind = body_kind::none;

    std::string serialized() const {
        std::string out = method + " " + target;
        if (!version.empty()) out += " " + version;
        out += "\r\n";
        const auto length = std::to_string(body.size());
        for (const auto& h : headers) {
            if (h.raw) {
                out += h.name + "\r\n";
                continue;
            }
            std::string value = h.value;
            if (const auto at = value.find(length_placeholder); at != std::string::npos)
                value.replace(at, length_placeholder.size(), length);
            out += h.name + ": " + value + "\r\n";
        }
        return out + "\r\n" + body;
    }
};

char other_case(char c) {
    if (c >= 'a' && c <= 'z') return static_cast<char>(c - 'a' + 'A');
    if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
    return c;
}

bool same_ascii_text(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

header_line* find_header(request_parts& r, std::string_view name) {
    for (auto& h : r.headers)
        if (!h.raw && same_ascii_text(h.name, name)) return &h;
    return nullptr;
}

void set_header(request_parts& r, const std::string& name, const std::string& value) {
    if (auto* h = find_header(r, name))
        h->value = value;
    else
        r.headers.push_back({name, value});
}

void remove_headers(request_parts& r, std::string_view name) {
    std::erase_if(r.headers, [&](const header_line& h) { return !h.raw && same_ascii_text(h.name, name); });
}

request_parts base_request(const live_values& live, std::string method, std::string target) {
    request_parts r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = {{"Host", loopback + ":" + std::to_string(live.port)},
                 {"User-Agent", "nidan-hostile-test"},
                 {"Connection", "close"}};
    return r;
}

void set_body(request_parts& r, body_kind kind, std::string body) {
    r.kind = kind;
    r.body = std::move(body);
    set_header(r, "Content-Type", kind == body_kind::json ? json_type : form_type);
    set_header(r, "Content-Length", std::string(length_placeholder));
}

std::string form_of(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [name, value] : fields) out += (out.empty() ? "" : "&") + form_encode(name) + "=" + form_encode(value);
    return out;
}

std::string quoted(const std::string& text) { return json::serialize(json::value(text)); }

std::string json_of(const std::vector<std::pair<std::string, std::string>>& members) {
    std::string out = "{";
    for (const auto& [name, value] : members) out += (out.size() > 1 ? ", " : "") + quoted(name) + ": " + quoted(value);
    return out + "}";
}

// ---- the correct request of each kind, before mutation -------------------------------------------

request_parts login_form_request(const live_values& live, rng_t& rng) {
    const auto portal = pick(rng, portals);
    const auto& csrf = live.login_csrf.at(portal.id);
    auto r = base_request(live, "POST", portal.login_path);
    r.headers.push_back({"Cookie", "nidan_login=" + csrf});
    std::vector<std::pair<std::string, std::string>> fields{
        {"csrf", csrf}, {"selfcare_id", login_id(rng, portal)}, {"password", wrong_password(rng)}};
    if (one_in(rng, 4)) std::shuffle(fields.begin(), fields.end(), rng);
    set_body(r, body_kind::form, form_of(fields));
    return r;
}

request_parts api_login_request(const live_values& live, rng_t& rng) {
    const auto portal = pick(rng, portals);
    auto r = base_request(live, "POST", "/api/v1/" + portal.id + "/login");
    std::vector<std::pair<std::string, std::string>> members{{"selfcare_id", login_id(rng, portal)},
                                                             {"password", wrong_password(rng)}};
    if (one_in(rng, 4)) members.emplace_back("device_token", random_token(rng));
    set_body(r, body_kind::json, json_of(members));
    return r;
}

request_parts code_form_request(const live_values& live, rng_t& rng) {
    auto r = base_request(live, "POST", portal_base + "/code");
    r.headers.push_back({"Cookie", "nidan_session=" + live.code_cookie});
    set_body(r, body_kind::form, form_of({{"csrf", live.code_csrf}, {"code", never_valid_code(rng)}}));
    return r;
}

request_parts address_form_request(const live_values& live, rng_t& rng) {
    auto r = base_request(live, "POST", portal_base + "/address");
    r.headers.push_back({"Cookie", "nidan_session=" + live.address_cookie});
    set_body(r, body_kind::form,
             form_of({{"csrf", live.address_csrf}, {"email", some_address(rng)}, {"phone", never_valid_phone(rng)}}));
    return r;
}

request_parts api_code_request(const live_values& live, rng_t& rng) {
    auto r = base_request(live, "POST", api_base + "/code");
    r.headers.push_back({"Authorization", "Bearer " + live.code_token});
    set_body(r, body_kind::json, json_of({{"code", never_valid_code(rng)}}));
    return r;
}

request_parts api_address_request(const live_values& live, rng_t& rng) {
    auto r = base_request(live, "POST", api_base + "/address");
    r.headers.push_back({"Authorization", "Bearer " + live.address_token});
    set_body(r, body_kind::json, json_of({{"email", some_address(rng)}, {"phone", never_valid_phone(rng)}}));
    return r;
}

// Any token: asking for the session changes nothing (the idle time moves only for an
// authenticated session, and none exists during the run).
request_parts api_session_request(const live_values& live, rng_t& rng) {
    auto r = base_request(live, "GET", api_base + "/session");
    const std::vector<std::string> tokens{live.code_token, live.address_token, live.foreign_token, live.dead_token,
                                          random_token(rng)};
    r.headers.push_back({"Authorization", "Bearer " + pick(rng, tokens)});
    return r;
}

// Never a token that is live on ip-phone: a logout would end it.
request_parts api_logout_request(const live_values& live, rng_t& rng) {
    auto r = base_request(live, "POST", api_base + "/logout");
    const std::vector<std::string> tokens{live.foreign_token, live.foreign_cookie, live.dead_token, random_token(rng)};
    r.headers.push_back({"Authorization", "Bearer " + pick(rng, tokens)});
    if (one_in(rng, 2)) set_body(r, body_kind::json, "{}");
    return r;
}

// ---- mutations of the parts --------------------------------------------------------------------
// Each changes the request and says how, for the failure context.

using mutation = std::string (*)(request_parts&, rng_t&, const live_values&);

std::string duplicate_header(request_parts& r, rng_t& rng, const live_values&) {
    if (r.headers.empty()) return "no header to duplicate";
    auto copy = r.headers[below(rng, r.headers.size())];
    const bool other_value = one_in(rng, 2);
    if (other_value) copy.value += random_from(rng, between(rng, 1, 8), token_chars);
    r.headers.insert(r.headers.begin() + static_cast<std::ptrdiff_t>(below(rng, r.headers.size() + 1)), copy);
    return "duplicate header " + copy.name + (other_value ? " with another value" : "");
}

std::string drop_header(request_parts& r, rng_t& rng, const live_values&) {
    if (r.headers.empty()) return "no header to drop";
    const auto at = below(rng, r.headers.size());
    const auto name = r.headers[at].name;
    r.headers.erase(r.headers.begin() + static_cast<std::ptrdiff_t>(at));
    return "drop header " + name;
}

std::string bad_bytes_in_header(request_parts& r, rng_t& rng, const live_values&) {
    if (r.headers.empty()) return "no header for bad bytes";
    auto& h = r.headers[below(rng, r.headers.size())];
    const auto bad = pick(rng, std::vector<std::string>{"\xff", "\xc3\x28", "\xc0\xaf", std::string(1, '\0'), "\x7f",
                                                         "\r", "\n", "\x01", "\xe3\x81", "\xed\xa0\x80"});
    h.value.insert(below(rng, h.value.size() + 1), bad);
    return "bad bytes in header " + h.name + ": " + stored_detail::escaped(bad);
}

// Invalid UTF-8, NULs and control characters where the handler decodes the body.
std::string bad_bytes_in_body(request_parts& r, rng_t& rng, const live_values&) {
    std::string bad;
    if (r.kind == body_kind::json) {
        bad = pick(rng, std::vector<std::string>{"\xff", std::string(1, '\0'), "\\u0000", "\\ud800", "\\udc00\\ud800",
                                                 "\xc0\xaf", "\xed\xa0\x80", "\x01", "\\x41", "\\", "\xf4\x90\x80\x80"});
        // Mostly inside a string value: just after one of its quotes.
        std::vector<std::size_t> quotes;
        for (std::size_t i = 0; i < r.body.size(); ++i)
            if (r.body[i] == '"') quotes.push_back(i + 1);
        const auto at = quotes.empty() || one_in(rng, 4) ? below(rng, r.body.size() + 1) : pick(rng, quotes);
        r.body.insert(at, bad);
    } else {
        bad = pick(rng, std::vector<std::string>{"%FF", "%C0%AF", "%00", "%E3%81", "%ED%A0%80", "%F4%90%80%80", "\xff",
                                                 std::string(1, '\0'), "%0D%0A", "%7F", "%01", "%e3%81%82"});
        r.body.insert(below(rng, r.body.size() + 1), bad);
        if (r.kind == body_kind::none) set_body(r, body_kind::form, r.body);
    }
    return "bad bytes in body: " + stored_detail::escaped(bad);
}

std::string percent_escape(rng_t& rng) {
    switch (below(rng, 4)) {
    case 0: return "%" + random_from(rng, 2, hex_digits);
    case 1: return pick(rng, std::vector<std::string>{"%", "%G1", "%4", "%%", "%00", "%2F", "%2e%2e", "%20", "%u0041"});
    default: return "%" + random_from(rng, 2, alnum);
    }
}

std::string random_percent_escapes(request_parts& r, rng_t& rng, const live_values&) {
    const bool in_target = r.body.empty() || one_in(rng, 3);
    auto& text = in_target ? r.target : r.body;
    std::string inserted;
    for (std::size_t n = between(rng, 1, 4); n > 0; --n) {
        const auto escape = percent_escape(rng);
        text.insert(between(rng, std::min<std::size_t>(in_target ? 1 : 0, text.size()), text.size()), escape);
        inserted += escape + " ";
    }
    return std::string("percent escapes in the ") + (in_target ? "target: " : "body: ") + inserted;
}

// The end of the JSON string that starts at `open` (a quote): the index just past its closing quote.
std::size_t end_of_json_string(const std::string& text, std::size_t open) {
    for (std::size_t i = open + 1; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;
        } else if (text[i] == '"') {
            return i + 1;
        }
    }
    return text.size();
}

// The end of the flat JSON value that starts at `start`: a string, or up to the next , or }.
std::size_t end_of_json_value(const std::string& text, std::size_t start) {
    if (text[start] == '"') return end_of_json_string(text, start);
    return std::min(text.find_first_of(",}", start), text.size());
}

std::string nested(std::size_t depth, const std::string& inside, bool objects) {
    std::string out;
    for (std::size_t i = 0; i < depth; ++i) out += objects ? "{\"a\": " : "[";
    out += inside;
    for (std::size_t i = 0; i < depth; ++i) out += objects ? "}" : "]";
    return out;
}

std::string mangled_json(request_parts& r, rng_t& rng) {
    auto& body = r.body;
    const auto depth = pick(rng, std::vector<std::size_t>{1, 3, 4, 5, 64, 1000});
    switch (below(rng, 9)) {
    case 0: {  // one member's value nested
        const auto colon = body.find("\": ");
        if (colon == std::string::npos || colon + 3 >= body.size()) break;
        const auto start = colon + 3;
        const auto end = end_of_json_value(body, start);
        body = body.substr(0, start) + nested(depth, body.substr(start, end - start), one_in(rng, 2)) + body.substr(end);
        return "a member value nested " + std::to_string(depth) + " deep";
    }
    case 1: body = nested(depth, body, one_in(rng, 2)); return "the body nested " + std::to_string(depth) + " deep";
    case 2: body.resize(below(rng, body.size() + 1)); return "truncated JSON (" + std::to_string(body.size()) + " bytes)";
    case 3: {
        const auto tail = pick(rng, std::vector<std::string>{"x", "}", ",", "{}", " ", "\n", std::string(1, '\0'), "//c"});
        body += tail;
        return "garbage after the JSON: " + stored_detail::escaped(tail);
    }
    case 4: {  // the first member again, or its key spelt with an escape (the same key once decoded)
        const auto first_end = body.find(", ");
        if (first_end == std::string::npos || body.size() < 2) break;
        auto member = body.substr(1, first_end - 1);
        const bool escaped_key = one_in(rng, 2) && member.find('_') != std::string::npos;
        if (escaped_key) member.replace(member.find('_'), 1, "\\u005f");
        body.insert(body.size() - 1, ", " + member);
        return escaped_key ? "a member repeated with an escaped key" : "a member repeated";
    }
    case 5: {
        const auto colon = body.find("\": ");
        if (colon == std::string::npos || colon + 3 >= body.size()) break;
        const auto start = colon + 3;
        const auto end = end_of_json_value(body, start);
        const auto value = pick(rng, std::vector<std::string>{"1e999999", "-0", "123456789012345678901234567890", "true",
                                                              "null", "{}", "[]", "\"\"", "0x10", "NaN"});
        body = body.substr(0, start) + value + body.substr(end);
        return "a member value replaced by " + value;
    }
    case 6: {
        const auto whole = pick(rng, std::vector<std::string>{"", "null", "[]", "\"text\"", "1", "{", "}",
                                                              "\xef\xbb\xbf{}", "/* c */ {}"});
        body = whole;
        return "the body replaced by " + stored_detail::escaped(whole);
    }
    case 7: body = "\xef\xbb\xbf" + body; return "a byte order mark before the JSON";
    default: body = nested(between(rng, 600, 2000), "1", true); return "objects nested past the size limit";
    }
    body += "]";
    return "an unbalanced bracket after the JSON";
}

std::string mangled_form(request_parts& r, rng_t& rng) {
    auto& body = r.body;
    switch (below(rng, 8)) {
    case 0: body.insert(below(rng, body.size() + 1), "&&"); return "empty pairs";
    case 1: body += "&lonely"; return "a field without =";
    case 2:
        for (int i = 0; i < 40; ++i) body += "&f" + std::to_string(i) + "=1";
        return "40 more fields";
    case 3: body += "&" + body.substr(0, body.find('&')); return "the first field repeated";
    case 4: {
        const auto size = pick(rng, std::vector<std::size_t>{5000, 17000});
        body += "&filler=" + std::string(size, 'x');
        return "a filler field of " + std::to_string(size) + " bytes";
    }
    case 5: body = "=x&" + body; return "a field without a name";
    case 6: {  // the same field names, percent-encoded: the form reader decodes names too
        for (const auto& [plain, encoded] : std::vector<std::pair<std::string, std::string>>{
                 {"password=", "pass%77ord="}, {"code=", "%63ode="}, {"phone=", "phon%65="}, {"csrf=", "%63srf="}}) {
            if (const auto at = body.find(plain); at != std::string::npos) body.replace(at, plain.size(), encoded);
        }
        return "field names percent-encoded";
    }
    default: body.clear(); return "an empty body";
    }
}

std::string mangled_body(request_parts& r, rng_t& rng, const live_values&) {
    if (r.kind == body_kind::json) return mangled_json(r, rng);
    if (r.kind == body_kind::form) return mangled_form(r, rng);
    set_body(r, body_kind::json, nested(between(rng, 1, 100), "1", false));
    return "a JSON body where none belongs";
}

std::string swap_cookie(request_parts& r, rng_t& rng, const live_values& live) {
    const auto own = find_header(r, "Cookie") ? find_header(r, "Cookie")->value : std::string();
    std::string many;
    for (int i = 0; i < 60; ++i) many += "c" + std::to_string(i) + "=" + random_from(rng, 8, alnum) + "; ";
    const std::vector<std::pair<std::string, std::string>> choices{
        {"another portal's session", "nidan_session=" + live.foreign_cookie},
        {"another portal's API token", "nidan_session=" + live.foreign_token},
        {"a logged-out session", "nidan_session=" + live.dead_token},
        {"a made-up session", "nidan_session=" + random_token(rng)},
        {"an empty session", "nidan_session="},
        {"garbage", random_bytes(rng, between(rng, 1, 60))},
        {"60 cookies and another portal's session", many + "nidan_session=" + live.foreign_cookie},
        {"a made-up session before the own cookies", "nidan_session=" + random_token(rng) + "; " + own},
        {"the own cookies with a random device cookie", own + "; nidan_device=" + random_token(rng)},
        {"the __Host- name over plain HTTP", "__Host-" + own},
        {"a session 300 bytes long", "nidan_session=" + std::string(300, 'A')},
    };
    const auto [name, value] = pick(rng, choices);
    set_header(r, "Cookie", value);
    return "cookie: " + name;
}

std::string swap_bearer(request_parts& r, rng_t& rng, const live_values& live) {
    auto own = find_header(r, "Authorization") ? find_header(r, "Authorization")->value : "Bearer " + random_token(rng);
    if (own.empty()) own = "Bearer x";
    own.back() = own.back() == 'A' ? 'B' : 'A';  // no longer the token it was
    const std::vector<std::pair<std::string, std::string>> choices{
        {"another portal's token", "Bearer " + live.foreign_token},
        {"another portal's session cookie", "Bearer " + live.foreign_cookie},
        {"a logged-out token", "Bearer " + live.dead_token},
        {"a logged-out token, lower-case scheme", "bearer " + live.dead_token},
        {"a made-up token", "Bearer " + random_token(rng)},
        {"an empty token", "Bearer "},
        {"spaces around another portal's token", "Bearer    " + live.foreign_token + "   "},
        {"the Basic scheme", "Basic " + random_from(rng, 24, alnum)},
        {"no space after the scheme", "Bearer" + random_token(rng)},
        {"a token 400 bytes long", "Bearer " + std::string(400, 'A')},
        {"the own token with its last character changed", own},
        {"raw bytes", "Bearer " + random_bytes(rng, between(rng, 1, 40))},
    };
    const auto [name, value] = pick(rng, choices);
    set_header(r, "Authorization", value);
    return "authorization: " + name;
}

std::string swap_method(request_parts& r, rng_t& rng, const live_values&) {
    r.method = pick(rng, std::vector<std::string>{"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
                                                  "get", "P0ST", "POST ", "", "M-SEARCH", "PRI", "POS\xd4"});
    if (one_in(rng, 8)) r.method = random_from(rng, between(rng, 1, 30), letters);
    return "method " + stored_detail::escaped(r.method);
}

std::string swap_version(request_parts& r, rng_t& rng, const live_values&) {
    r.version = pick(rng, std::vector<std::string>{"HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 ",
                                                   "HTTP/1", "HTTP/11", "", std::string("HTTP/1.1\0", 9), "HTTP/9.9"});
    return "version " + stored_detail::escaped(r.version);
}

std::string odd_target(request_parts& r, rng_t& rng, const live_values&) {
    const auto path = r.target;
    switch (below(rng, 11)) {
    case 0: r.target += "?" + random_from(rng, between(rng, 1, 40), printable_ascii()); return "a random query";
    case 1: r.target += "?q=" + std::string(between(rng, 2000, 9000), 'q'); return "a long query";
    case 2: r.target = "/" + path; return "a double slash";
    case 3: r.target += "/"; return "a trailing slash";
    case 4: r.target = "/./" + path.substr(1); return "a dot segment";
    case 5: r.target = "/../" + path.substr(1); return "a parent segment";
    case 6: r.target = "http://127.0.0.1" + path; return "absolute form";
    case 7: r.target = "*"; return "asterisk form";
    case 8: {
        std::string upper = path;
        for (auto& c : upper)
            if (c >= 'a' && c <= 'z') c = other_case(c);
        r.target = upper;
        return "the path in capitals";
    }
    case 9: r.target += "#" + random_from(rng, 5, alnum); return "a fragment";
    default: r.target = path.substr(0, path.rfind('/')) + "%2F" + path.substr(path.rfind('/') + 1); return "an encoded slash";
    }
}

std::string swap_content_type(request_parts& r, rng_t& rng, const live_values&) {
    const auto type = pick(rng, std::vector<std::string>{
        "text/plain", json_type, form_type, form_type + "; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED",
        json_type + "; charset=utf-8", "Application/JSON  ;x=y", json_type + ";", "application/jsonx",
        "multipart/form-data; boundary=x", "", form_type + "\xff", " application/json", "application/json "});
    set_header(r, "Content-Type", type);
    return "content type " + stored_detail::escaped(type);
}

std::string cross_site(request_parts& r, rng_t& rng, const live_values& live) {
    const std::vector<std::pair<std::string, std::string>> choices{
        {"Origin", "http://evil.example"},   {"Origin", "null"},
        {"Origin", "http://127.0.0.1:" + std::to_string(live.port)},
        {"Sec-Fetch-Site", "cross-site"},    {"Sec-Fetch-Site", "same-site"},
        {"Sec-Fetch-Site", "same-origin"},   {"Sec-Fetch-Site", "none"},
        {"Referer", "http://evil.example/"}};
    const auto [name, value] = pick(rng, choices);
    r.headers.push_back({name, value});
    return name + ": " + value;
}

// No proxy is trusted, so the failure must still be counted for 127.0.0.1.
std::string forwarded_for(request_parts& r, rng_t& rng, const live_values&) {
    const auto address = std::to_string(between(rng, 1, 223)) + "." + std::to_string(between(rng, 0, 255)) + ".9.9";
    const auto name = pick(rng, std::vector<std::string>{"X-Forwarded-For", "Forwarded", "X-Real-IP"});
    r.headers.push_back({name, name == "Forwarded" ? "for=" + address : address});
    return name + ": " + address;
}

std::string expect_continue(request_parts& r, rng_t& rng, const live_values&) {
    const auto value = pick(rng, std::vector<std::string>{"100-continue", "100-Continue", "200-ok", ""});
    r.headers.push_back({"Expect", value});
    return "Expect: " + value;
}

std::string malformed_header_line(request_parts& r, rng_t& rng, const live_values&) {
    const auto line = pick(rng, std::vector<std::string>{"NoColonHere", "Bad Name: x", ": empty-name", " folded continuation",
                                                          "X-Tab:\tvalue", "X-Empty:", "X-" + std::string(300, 'n') + ": v",
                                                          "Host : 127.0.0.1", "X-Utf8-\xe5\x90\x8d: v"});
    r.headers.insert(r.headers.begin() + static_cast<std::ptrdiff_t>(below(rng, r.headers.size() + 1)), {line, "", true});
    return "header line " + stored_detail::escaped(line);
}

std::string header_name_case(request_parts& r, rng_t& rng, const live_values&) {
    for (auto& h : r.headers) {
        if (h.raw) continue;
        for (auto& c : h.name)
            if (one_in(rng, 2)) c = other_case(c);
    }
    return "header names in mixed case";
}

// ---- framing mutations (after the content ones, so they frame the final body) -------------------

std::string content_length_lie(request_parts& r, rng_t& rng, const live_values&) {
    remove_headers(r, "Content-Length");
    const auto size = r.body.size();
    const auto other = std::to_string(size + between(rng, 1, 20));
    const std::vector<std::pair<std::string, std::vector<std::string>>> choices{
        {"longer than the body", {other}},
        {"shorter than the body", {std::to_string(size - std::min(size, between(rng, 1, 20)))}},
        {"zero", {"0"}},
        {"past 64 bits", {"99999999999999999999999"}},
        {"negative", {"-1"}},
        {"with a plus", {"+" + std::to_string(size)}},
        {"in hex", {"0x" + std::to_string(size)}},
        {"with an exponent", {"1e3"}},
        {"with blanks inside", {std::to_string(size).insert(1, " ")}},
        {"empty", {""}},
        {"a list of the right length twice", {std::to_string(size) + ", " + std::to_string(size)}},
        {"a list of two lengths", {std::to_string(size) + ", " + other}},
        {"two headers that disagree", {std::to_string(size), other}},
        {"two headers that agree", {std::to_string(size), std::to_string(size)}},
        {"leading zeros", {"000" + std::to_string(size)}},
        {"over server.max_body_bytes", {"17000"}},
    };
    const auto [name, values] = pick(rng, choices);
    for (const auto& value : values) r.headers.push_back({"Content-Length", value});
    return "Content-Length " + name;
}

std::string hex_of(std::size_t n) {
    std::ostringstream out;
    out << std::hex << n;
    return out.str();
}

std::string chunked_body(request_parts& r, rng_t& rng, const live_values&) {
    // The body in one to four chunks, one of them (maybe) with a bad size line.
    std::vector<std::string> pieces;
    std::string rest = r.body;
    for (std::size_t n = between(rng, 1, 4); n > 1 && rest.size() > 1; --n) {
        const auto cut = between(rng, 1, rest.size() - 1);
        pieces.push_back(rest.substr(0, cut));
        rest.erase(0, cut);
    }
    pieces.push_back(rest);
    const auto faulty = below(rng, pieces.size());
    const auto fault = below(rng, 12);
    const std::vector<std::string> fault_names{"none",           "a size too large",  "a size too small",  "a size not hex",
                                               "a negative size", "a size past 64 bits", "a chunk extension", "upper-case hex",
                                               "no last chunk",  "no CRLF after the data", "a trailer field", "leading zeros"};
    std::string body;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        std::string size_line = hex_of(pieces[i].size());
        std::string after = "\r\n";
        if (i == faulty) {
            switch (fault) {
            case 1: size_line = hex_of(pieces[i].size() + between(rng, 1, 16)); break;
            case 2: size_line = hex_of(pieces[i].size() - std::min(pieces[i].size(), between(rng, 1, 16))); break;
            case 3: size_line = "zz"; break;
            case 4: size_line = "-" + size_line; break;
            case 5: size_line = "fffffffffffffffff"; break;
            case 6: size_line += ";name=value"; break;
            case 7:
                for (auto& c : size_line) c = other_case(c);
                break;
            case 10: break;
            case 11: size_line = "0000" + size_line; break;
            case 9: after = ""; break;
            default: break;
            }
        }
        body += size_line + "\r\n" + pieces[i] + after;
    }
    if (fault != 8) body += fault == 10 ? "0\r\nX-Trailer: 1\r\n\r\n" : "0\r\n\r\n";
    r.body = body;
    remove_headers(r, "Content-Length");
    const auto encoding = pick(rng, std::vector<std::string>{"chunked", "chunked", "chunked", "Chunked", "chunked, chunked",
                                                              "gzip, chunked", "chunked "});
    r.headers.push_back({"Transfer-Encoding", encoding});
    const bool with_length = one_in(rng, 8);
    if (with_length) r.headers.push_back({"Content-Length", std::string(length_placeholder)});
    return "chunked (" + encoding + ") with " + fault_names[fault] + (with_length ? ", and a Content-Length" : "");
}

std::size_t header_size(const request_parts& r) {
    const auto text = r.serialized();
    return text.find("\r\n\r\n") + 4;
}

std::string huge_header(request_parts& r, rng_t& rng, const live_values&) {
    const auto wanted = pick(rng, std::vector<long>{-600, -200, -40, -1, 0, 1, 40, 200, 600, 8192});
    const auto target_size = static_cast<std::size_t>(static_cast<long>(max_header_bytes) + wanted);
    const auto now = header_size(r);
    const bool in_cookie = one_in(rng, 3) && find_header(r, "Cookie") != nullptr;
    const std::size_t overhead = in_cookie ? 6 : 13;  // "; pad=" or "X-Padding: \r\n"
    const auto pad = target_size > now + overhead ? target_size - now - overhead : 1;
    const auto filler = one_in(rng, 2) ? std::string(pad, 'p') : random_from(rng, pad, token_chars);
    if (in_cookie)
        find_header(r, "Cookie")->value += "; pad=" + filler;
    else
        r.headers.push_back({"X-Padding", filler});
    return "header of about " + std::to_string(target_size) + " bytes (" + (in_cookie ? "cookie" : "X-Padding") + ")";
}

struct mutation_kind {
    const char* name;
    mutation apply;
    bool framing;  // applied after the content mutations
};

const std::vector<mutation_kind> part_mutations{
    {"duplicate header", duplicate_header, false},
    {"drop header", drop_header, false},
    {"bad bytes in a header", bad_bytes_in_header, false},
    {"bad bytes in the body", bad_bytes_in_body, false},
    {"percent escapes", random_percent_escapes, false},
    {"mangled body", mangled_body, false},
    {"cookie", swap_cookie, false},
    {"bearer", swap_bearer, false},
    {"method", swap_method, false},
    {"version", swap_version, false},
    {"target", odd_target, false},
    {"content type", swap_content_type, false},
    {"cross site", cross_site, false},
    {"forwarded for", forwarded_for, false},
    {"expect", expect_continue, false},
    {"malformed header line", malformed_header_line, false},
    {"header name case", header_name_case, false},
    {"content length", content_length_lie, true},
    {"chunked", chunked_body, true},
    {"huge header", huge_header, true},
};

// ---- byte mutations (on the serialised request) ------------------------------------------------

// A random place in the request line, the header fields or the body.
std::size_t byte_position(const std::string& bytes, rng_t& rng, std::string& where, bool insertion) {
    const auto line_end = std::min(bytes.find("\r\n"), bytes.size());
    const auto head_end = std::min(bytes.find("\r\n\r\n"), bytes.size());
    std::size_t from = 0, to = bytes.size();
    switch (below(rng, 4)) {
    case 0: where = "request line"; to = line_end; break;
    case 1: where = "header"; from = std::min(line_end + 2, bytes.size()); to = head_end; break;
    case 2: where = "body"; from = std::min(head_end + 4, bytes.size()); break;
    default: where = "anywhere"; break;
    }
    if (from >= to) {
        where = "anywhere";
        from = 0;
        to = bytes.size();
    }
    const auto last = insertion ? to : to - 1;
    return between(rng, from, std::max(from, last));
}

std::string mutate_bytes(std::string& bytes, rng_t& rng) {
    if (bytes.empty()) return "nothing to mutate";
    std::string where;
    switch (below(rng, 3)) {
    case 0: {
        const auto at = byte_position(bytes, rng, where, false);
        const auto mask = static_cast<unsigned char>(between(rng, 1, 255));
        bytes[at] = static_cast<char>(static_cast<unsigned char>(bytes[at]) ^ mask);
        return "flip byte " + std::to_string(at) + " (" + where + ") to " + stored_detail::escaped(bytes.substr(at, 1));
    }
    case 1: {
        const auto at = byte_position(bytes, rng, where, true);
        const auto byte = one_in(rng, 2) ? pick(rng, telling_bytes) : random_bytes(rng, 1);
        bytes.insert(at, byte);
        return "insert " + stored_detail::escaped(byte) + " at " + std::to_string(at) + " (" + where + ")";
    }
    default: {
        const auto at = byte_position(bytes, rng, where, false);
        const auto gone = bytes.substr(at, 1);
        bytes.erase(at, 1);
        return "delete " + stored_detail::escaped(gone) + " at " + std::to_string(at) + " (" + where + ")";
    }
    }
}

// ---- pure random bytes ------------------------------------------------------------------------

std::string random_request_bytes(rng_t& rng, std::string& description) {
    switch (below(rng, 4)) {
    case 0:
        description = "uniform random bytes";
        return random_bytes(rng, between(rng, 1, 2048));
    case 1: {
        description = "random text with line breaks";
        std::string text;
        for (std::size_t n = between(rng, 1, 2048); n > 0; --n)
            text += one_in(rng, 10) ? std::string("\r\n") : random_from(rng, 1, printable_ascii());
        if (one_in(rng, 2)) text += "\r\n\r\n";
        return text;
    }
    case 2: {
        description = "a request line, then random bytes";
        auto text = "POST " + api_base + "/login HTTP/1.1\r\n" + random_bytes(rng, between(rng, 1, 2048));
        if (one_in(rng, 2)) text += "\r\n\r\n";
        return text;
    }
    default:
        description = "random text past the header limit";
        return random_from(rng, between(rng, max_header_bytes + header_limit_slack + 1, 12000), printable_ascii());
    }
}

// ---- one generated request ----------------------------------------------------------------------

struct generated_request {
    std::size_t index = 0;
    request_kind kind = request_kind::random_bytes;
    std::vector<std::string> mutations;
    std::string bytes;
};

request_parts correct_request(request_kind kind, const live_values& live, rng_t& rng) {
    switch (kind) {
    case request_kind::login_form: return login_form_request(live, rng);
    case request_kind::api_login: return api_login_request(live, rng);
    case request_kind::code_form: return code_form_request(live, rng);
    case request_kind::address_form: return address_form_request(live, rng);
    case request_kind::api_code: return api_code_request(live, rng);
    case request_kind::api_address: return api_address_request(live, rng);
    case request_kind::api_session: return api_session_request(live, rng);
    case request_kind::api_logout: return api_logout_request(live, rng);
    case request_kind::random_bytes:
    case request_kind::found_earlier: break;
    }
    throw std::logic_error("no correct request for this kind");
}

// One to three mutations; a third of them on bytes. At most three byte edits is what the
// never-valid codes and phone numbers are built to survive.
generated_request generate_request(std::uint32_t seed, std::size_t index, request_kind kind, const live_values& live) {
    auto rng = rng_for(seed, index);
    generated_request out{index, kind, {}, {}};
    if (kind == request_kind::random_bytes) {
        std::string description;
        out.bytes = random_request_bytes(rng, description);
        out.mutations.push_back(description);
        return out;
    }
    auto parts = correct_request(kind, live, rng);
    std::vector<const mutation_kind*> chosen;
    std::size_t byte_edits = 0;
    for (std::size_t n = between(rng, 1, 3); n > 0; --n) {
        if (one_in(rng, 3))
            ++byte_edits;
        else
            chosen.push_back(&part_mutations[below(rng, part_mutations.size())]);
    }
    std::stable_sort(chosen.begin(), chosen.end(), [](const mutation_kind* a, const mutation_kind* b) {
        return !a->framing && b->framing;
    });
    for (const auto* m : chosen) out.mutations.push_back(m->apply(parts, rng, live));
    out.bytes = parts.serialized();
    for (; byte_edits > 0; --byte_edits) out.mutations.push_back(mutate_bytes(out.bytes, rng));
    return out;
}

// Faults this test found, as fixed requests, so that they fail every run until the server is
// fixed rather than only under the seeds that happen to produce them. Appended after the
// generated requests, whose indexes (and so their bytes) they leave alone.
std::vector<generated_request> found_earlier(const live_values& live, std::size_t first_index) {
    // Seed 102, request #185 and others: a header well over server.max_header_bytes, made of
    // several fields and sent in one write, was read and answered instead of refused with 431.
    // The server's first read takes 4096 bytes (http_session.cpp first_read_size) and Beast's
    // header_limit only bounds what is still unparsed, so up to 4096 + 8192 bytes get through.
    std::string bytes = "GET " + api_base + "/session HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(live.port) +
                        "\r\nConnection: close\r\nAuthorization: Bearer " + live.dead_token + "\r\n";
    for (int i = 0; i < 10; ++i) bytes += "X-Fill-" + std::to_string(i) + ": " + std::string(990, 'f') + "\r\n";
    bytes += "\r\n";
    return {{first_index, request_kind::found_earlier,
             {"a header of " + std::to_string(bytes.size()) + " bytes in 10 fields, sent in one write"}, bytes}};
}

std::vector<request_kind> schedule(std::uint32_t seed) {
    std::vector<request_kind> kinds;
    for (const auto& q : quotas) kinds.insert(kinds.end(), q.count, q.kind);
    rng_t rng(seed);
    std::shuffle(kinds.begin(), kinds.end(), rng);
    return kinds;
}

// ---- the test's reading of its own bytes --------------------------------------------------------

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// How the bytes frame a request, read the way RFC 9112 and server/http/request_guard.cpp do. Used to
// know which answers a request may get and which body a password step saw; never to excuse a 5xx.
struct framed_request {
    enum class framing { incomplete, refused, complete };
    // incomplete: the bytes end before the request does (or its chunked body is faulty), so the
    // server may close without an answer; refused: the header is complete and its framing faulty.
    framing state = framing::incomplete;
    std::string method, target, version;
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t header_bytes = 0;  // up to and with the empty line (all the bytes when there is none)
    std::string raw_header;        // those bytes
    bool chunked = false;
    std::optional<std::uint64_t> declared_length;
    bool body_known = false;  // the body below is the one the framing gives (complete or not)
    std::string body;

    std::optional<std::string> field(std::string_view name) const {
        for (const auto& [n, v] : fields)
            if (same_ascii_text(n, name)) return v;
        return std::nullopt;
    }
    std::string path() const { return target.substr(0, target.find('?')); }
};

// A Content-Length value as request_guard.cpp reads it: digits, or a list of the same digits.
std::optional<std::string> length_value(std::string_view value) {
    std::optional<std::string> seen;
    for (;;) {
        const auto comma = value.find(',');
        const auto item = trimmed(value.substr(0, comma));
        if (item.empty() || item.find_first_not_of(digits) != std::string_view::npos) return std::nullopt;
        if (seen && *seen != item) return std::nullopt;
        seen = std::string(item);
        if (comma == std::string_view::npos) return seen;
        value.remove_prefix(comma + 1);
    }
}

// The chunked body, when it is whole and well formed: complete. Anything else counts as
// incomplete, which lets the server close without an answer: a chunk fault is only seen once the
// parser holds the bytes around it (Beast waits for a few bytes past a chunk, and for the whole
// next size line), and the client's half-close may come first.
framed_request::framing dechunk(std::string_view rest, std::string& body) {
    using framing = framed_request::framing;
    for (std::size_t chunks = 0; chunks < 10000; ++chunks) {
        const auto eol = rest.find("\r\n");
        if (eol == std::string_view::npos) return framing::incomplete;
        const auto size_text = rest.substr(0, std::min(eol, rest.substr(0, eol).find(';')));
        if (size_text.empty() || size_text.size() > 15 || size_text.find_first_not_of(hex_digits) != std::string_view::npos)
            return framing::incomplete;
        const auto size = std::stoull(std::string(size_text), nullptr, 16);
        rest.remove_prefix(eol + 2);
        if (size == 0) {  // trailer fields up to an empty line
            if (rest.starts_with("\r\n")) return framing::complete;
            return rest.find("\r\n\r\n") == std::string_view::npos ? framing::incomplete : framing::complete;
        }
        if (rest.size() < size + 2 || rest.substr(size, 2) != "\r\n") return framing::incomplete;
        body.append(rest.substr(0, size));
        rest.remove_prefix(size + 2);
    }
    return framing::incomplete;
}

// Before HTTP/1.1: no Host required, no chunked bodies.
bool before_http11(std::string_view version) { return version == "HTTP/1.0" || version.starts_with("HTTP/0."); }

framed_request::framing framing_of(framed_request& r, std::string_view rest) {
    using framing = framed_request::framing;
    const bool http10 = before_http11(r.version);
    int hosts = 0, encodings = 0;
    std::string encoding;
    std::optional<std::string> length;
    for (const auto& [name, value] : r.fields) {
        if (same_ascii_text(name, "Host")) ++hosts;
        if (same_ascii_text(name, "Transfer-Encoding")) {
            ++encodings;
            encoding = trimmed(value);
        }
        if (same_ascii_text(name, "Content-Length")) {
            const auto value_digits = length_value(value);
            if (!value_digits || (length && *length != *value_digits)) return framing::refused;
            length = value_digits;
        }
    }
    if (length) {
        r.declared_length = length->size() > 19 ? UINT64_MAX : std::stoull(*length);
    }
    if (encodings > 0) {
        if (length || encodings > 1 || !same_ascii_text(encoding, "chunked") || http10) return framing::refused;
        r.chunked = true;
    }
    auto state = framing::complete;
    if (r.chunked) {
        state = dechunk(rest, r.body);
    } else if (r.declared_length && rest.size() < *r.declared_length) {
        state = framing::incomplete;
    } else if (r.declared_length) {
        r.body = std::string(rest.substr(0, static_cast<std::size_t>(*r.declared_length)));
    }
    r.body_known = state == framing::complete;
    // Refused after the body is known: a server that let the Host fault pass would still have read it.
    if (state == framing::complete && (hosts > 1 || (hosts == 0 && !http10))) return framing::refused;
    return state;
}

framed_request frame_of(std::string_view bytes) {
    framed_request r;
    const auto line_end = bytes.find("\r\n");
    const auto head_end = bytes.find("\r\n\r\n");
    r.header_bytes = head_end == std::string_view::npos ? bytes.size() : head_end + 4;
    r.raw_header = bytes.substr(0, r.header_bytes);
    const auto line = bytes.substr(0, line_end);
    const auto first_space = line.find(' ');
    if (first_space != std::string_view::npos) {
        r.method = line.substr(0, first_space);
        const auto second_space = line.find(' ', first_space + 1);
        r.target = line.substr(first_space + 1, second_space == std::string_view::npos ? std::string_view::npos
                                                                                        : second_space - first_space - 1);
        if (second_space != std::string_view::npos) r.version = line.substr(second_space + 1);
    }
    if (head_end == std::string_view::npos) return r;
    if (line_end < head_end) {
        auto block = bytes.substr(line_end + 2, head_end - line_end);  // every field line with its CRLF
        while (!block.empty()) {
            const auto eol = block.find("\r\n");
            const auto field_line = block.substr(0, eol);
            block.remove_prefix(std::min(block.size(), eol + 2));
            const auto colon = field_line.find(':');
            if (colon == std::string_view::npos) continue;
            r.fields.emplace_back(field_line.substr(0, colon), trimmed(field_line.substr(colon + 1)));
        }
    }
    r.state = framing_of(r, bytes.substr(head_end + 4));
    return r;
}

// ---- the routes the requests aim at, and what each may answer -----------------------------------

struct route_rule {
    std::set<int> statuses;          // the handler's answers
    std::string media;               // the content type it reads ("" for none)
    bool form_post = false;          // CSRF and origin checks: 403
    std::string password_portal;     // a password step of this portal: a 401 is a counted failure
};

using route_table = std::map<std::string, std::map<std::string, route_rule>>;  // path -> method -> rule

route_table the_routes() {
    route_table routes;
    for (const auto& p : portals) {
        routes[p.login_path]["GET"] = {{200}, "", false, ""};
        routes[p.login_path]["POST"] = {{400, 401}, form_type, true, p.id};
        routes["/api/v1/" + p.id + "/login"]["POST"] = {{400, 401}, json_type, false, p.id};
    }
    for (const auto* page : {"/code", "/address"}) {
        routes[portal_base + page]["GET"] = {{200, 303}, "", false, ""};  // 200 for the live session
        routes[portal_base + page]["POST"] = {{303, 400}, form_type, true, ""};
    }
    routes[api_base + "/code"]["POST"] = {{400, 401}, json_type, false, ""};
    routes[api_base + "/address"]["POST"] = {{400, 401}, json_type, false, ""};
    routes[api_base + "/session"]["GET"] = {{200, 401}, "", false, ""};
    routes[api_base + "/logout"]["POST"] = {{401}, "", false, ""};
    return routes;
}

const route_rule* rule_for(const route_table& routes, const framed_request& r) {
    const auto found = routes.find(r.path());
    if (found == routes.end()) return nullptr;
    const auto rule = found->second.find(r.method == "HEAD" ? "GET" : r.method);
    return rule == found->second.end() ? nullptr : &rule->second;
}

// The handler's own check of the content type (portal_flow.cpp is_form, api_routes.cpp is_json).
bool media_accepted(const route_rule& rule, const std::optional<std::string>& header) {
    std::string_view type = header.value_or("");
    type = type.substr(0, type.find(';'));
    if (rule.media == json_type)
        while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    return same_ascii_text(type, rule.media);
}

std::set<int> allowed_first_statuses(const route_table& routes, const framed_request& r) {
    std::set<int> allowed{400};  // a malformed request, or a handler's refusal of its input
    if (r.chunked || r.declared_length.value_or(0) > max_json_bytes || r.body.size() > max_json_bytes) allowed.insert(413);
    if (r.header_bytes + header_limit_slack > max_header_bytes) allowed.insert(431);
    if (r.target.empty() || r.target.front() != '/') return allowed;  // dispatch.cpp: origin form only
    const auto found = routes.find(r.path());
    if (found == routes.end()) {
        allowed.insert(404);
        return allowed;
    }
    const auto* rule = rule_for(routes, r);
    if (rule == nullptr) {
        allowed.insert(405);
        return allowed;
    }
    allowed.insert(rule->statuses.begin(), rule->statuses.end());
    if (rule->form_post) allowed.insert(403);
    if (!rule->media.empty() && !media_accepted(*rule, r.field("Content-Type"))) allowed.insert(415);
    return allowed;
}

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_visible_or_blank(char c) { return (c >= ' ' && c < '\x7f') || c == '\t'; }

// Whether the header's first max_header_bytes bytes are a clean request line and clean field
// lines. The parser (Boost.Beast) reads the start line and each field as they arrive, and checks
// Content-Length and Transfer-Encoding as it meets them, so a fault there is answered 400 before
// the size limit is reached; only a clean header must get 431.
bool well_formed_up_to_the_limit(std::string_view header) {
    header = header.substr(0, max_header_bytes);
    const auto line_end = header.find("\r\n");
    if (line_end == std::string_view::npos) return false;
    const auto line = header.substr(0, line_end);
    const auto first_space = line.find(' ');
    const auto second_space = line.find(' ', first_space + 1);
    if (first_space == 0 || first_space == std::string_view::npos || second_space == std::string_view::npos) return false;
    const auto method = line.substr(0, first_space);
    const auto target = line.substr(first_space + 1, second_space - first_space - 1);
    const auto version = line.substr(second_space + 1);
    if (!std::all_of(method.begin(), method.end(), is_token_char) || !target.starts_with("/") ||
        !std::all_of(target.begin(), target.end(), [](char c) { return c > ' ' && c < '\x7f'; }) ||
        (version != "HTTP/1.1" && version != "HTTP/1.0"))
        return false;
    header.remove_prefix(line_end + 2);
    int lengths = 0;
    for (auto eol = header.find("\r\n"); !header.empty(); eol = header.find("\r\n")) {
        const auto field = header.substr(0, eol);  // the last one may be cut by the limit
        const auto colon = field.find(':');
        if (colon == std::string_view::npos && eol != std::string_view::npos) return false;
        const auto name = field.substr(0, colon);
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) return false;
        const auto value = colon == std::string_view::npos ? std::string_view() : field.substr(colon + 1);
        if (!std::all_of(value.begin(), value.end(), is_visible_or_blank)) return false;
        if (same_ascii_text(name, "Transfer-Encoding")) return false;
        if (same_ascii_text(name, "Content-Length") && (++lengths > 1 || trimmed(value).empty() ||
                                                          trimmed(value).find_first_not_of(digits) != std::string_view::npos))
            return false;
        if (eol == std::string_view::npos) break;
        header.remove_prefix(eol + 2);
    }
    return true;
}

// What may follow the first answer: the rest of the bytes read as a request of their own.
const std::set<int> leftover_statuses{400, 404, 405, 413, 415, 431};

// ---- the conversation with the server ------------------------------------------------------------

struct socket_fd {
    int fd;
    ~socket_fd() { ::close(fd); }
};

struct exchange_result {
    std::string received;
    bool closed = false;     // the server ended the connection (FIN or reset)
    bool timed_out = false;  // neither closed nor done within the timeout
};

// Sends `bytes` on a fresh loopback connection while reading, half-closes once everything is
// sent (or the server stopped taking it), and reads until the server closes.
exchange_result send_and_read(unsigned short port, const std::string& bytes, std::chrono::milliseconds timeout) {
    const socket_fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("connect to 127.0.0.1 failed: the server is gone");
    ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);

    exchange_result result;
    std::size_t sent = 0;
    bool sending = true;
    auto stop_sending = [&] {
        sending = false;
        ::shutdown(s.fd, SHUT_WR);
    };
    if (bytes.empty()) stop_sending();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!result.closed) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        pollfd p{s.fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        if (sending && (p.revents & POLLOUT)) {
            const auto n = ::send(s.fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n > 0) sent += static_cast<std::size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || sent == bytes.size()) stop_sending();
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char chunk[16384];
            const auto n = ::recv(s.fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                result.received.append(chunk, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                result.closed = true;
            }
        }
    }
    return result;
}

struct reply_head {
    int status = 0;
    std::string content_type;
    std::string body;
};

// The responses in what the server sent, interim 1xx left out; nullopt when the bytes are not a
// sequence of whole HTTP/1.x responses.
std::optional<std::vector<reply_head>> replies_framed(std::string_view data, bool first_is_head) {
    std::vector<reply_head> replies;
    while (!data.empty()) {
        if (data.size() < 12 || !(data.starts_with("HTTP/1.1 ") || data.starts_with("HTTP/1.0 "))) return std::nullopt;
        const auto head_end = data.find("\r\n\r\n");
        if (head_end == std::string_view::npos) return std::nullopt;
        const auto code = data.substr(9, 3);
        if (code.find_first_not_of(digits) != std::string_view::npos) return std::nullopt;
        reply_head reply;
        reply.status = std::stoi(std::string(code));
        std::size_t length = 0;
        auto head = data.substr(0, head_end + 2);
        head.remove_prefix(head.find("\r\n") + 2);
        while (!head.empty()) {
            const auto eol = head.find("\r\n");
            const auto line = head.substr(0, eol);
            head.remove_prefix(eol + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) return std::nullopt;
            const auto name = line.substr(0, colon);
            const auto value = trimmed(line.substr(colon + 1));
            if (same_ascii_text(name, "Content-Length")) length = std::stoul(std::string(value));
            if (same_ascii_text(name, "Content-Type")) reply.content_type = value;
        }
        data.remove_prefix(head_end + 4);
        if (reply.status / 100 == 1) continue;
        if ((replies.empty() && first_is_head) || reply.status == 204 || reply.status == 304) length = 0;
        if (data.size() < length) return std::nullopt;
        reply.body = data.substr(0, length);
        data.remove_prefix(length);
        replies.push_back(std::move(reply));
    }
    return replies;
}

// A HEAD request's answer has no body, unless the request was refused before it was read as HEAD.
std::optional<std::vector<reply_head>> replies_in(std::string_view data, bool first_is_head) {
    auto replies = replies_framed(data, first_is_head);
    if (!replies && first_is_head) replies = replies_framed(data, false);
    return replies;
}

bool is_json_error(const reply_head& reply) {
    if (reply.content_type != json_type) return false;
    json::error_code ec;
    const auto parsed = json::parse(reply.body, ec);
    const auto* o = ec ? nullptr : parsed.if_object();
    return o && o->contains("error") && o->at("error").is_string() && o->contains("message") &&
           o->at("message").is_string();
}

std::string listed(const std::set<int>& statuses) {
    std::string out;
    for (const int s : statuses) out += (out.empty() ? "" : " ") + std::to_string(s);
    return out;
}

// Whether the answer (or the close) is one the request may get.
void check_answer(const route_table& routes, const framed_request& r, const exchange_result& x,
                  const std::optional<std::vector<reply_head>>& replies) {
    if (x.timed_out) {
        BOOST_TEST(false, "neither answered nor closed within the timeout; received: " << stored_detail::escaped(x.received, 300));
        return;
    }
    if (!replies) {
        BOOST_TEST(false, "not a sequence of HTTP responses: " << stored_detail::escaped(x.received, 600));
        return;
    }
    if (replies->empty()) {
        BOOST_TEST((r.state == framed_request::framing::incomplete),
                   "closed without an answer, but the bytes hold a complete request");
        return;
    }
    const auto& first = replies->front();
    const auto allowed = allowed_first_statuses(routes, r);
    BOOST_TEST(first.status < 500, "a server error: " << first.status << " " << stored_detail::escaped(first.body, 300));
    BOOST_TEST(allowed.contains(first.status),
               "status " << first.status << ", allowed: " << listed(allowed) << "; " << stored_detail::escaped(first.body, 300));
    if (r.header_bytes > max_header_bytes + header_limit_slack && well_formed_up_to_the_limit(r.raw_header))
        BOOST_TEST(first.status == 431, "a header of " << r.header_bytes << " bytes got " << first.status);
    for (std::size_t i = 1; i < replies->size(); ++i) {
        const int status = (*replies)[i].status;
        BOOST_TEST(leftover_statuses.contains(status), "answer " << i + 1 << " to the leftover bytes: " << status);
    }
    // The API answers in JSON, including the refusals made before its handlers (README).
    static const std::set<int> statuses_with_a_known_path{401, 404, 405, 413, 415};
    if (statuses_with_a_known_path.contains(first.status) && r.method != "HEAD") {
        if (r.path().starts_with("/api/"))
            BOOST_TEST(is_json_error(first), "not a JSON error: " << first.content_type << " " << stored_detail::escaped(first.body, 300));
        else if (r.target.starts_with("/"))
            BOOST_TEST(first.content_type.starts_with("text/html"), "not an HTML page: " << first.content_type);
    }
}

// ---- what may be stored --------------------------------------------------------------------------

using counter_counts = std::map<std::pair<std::string, std::string>, std::uint64_t>;  // (kind, subject) -> failures

std::string counter_name(const std::pair<std::string, std::string>& id) {
    return id.first + "[" + stored_detail::escaped(id.second) + "]";
}

// The credentials a password step read from the body, as the handlers read them; nullopt when
// the body does not hold them.
std::optional<std::pair<std::string, std::string>> credentials_in(const route_rule& rule, const std::string& body) {
    if (rule.media == form_type) {
        std::string error;
        const auto form = nidan::parse_form(body, error);
        if (!form) return std::nullopt;
        return std::pair{std::string(form->get("selfcare_id")), std::string(form->get("password"))};
    }
    json::error_code ec;
    const auto parsed = json::parse(body, ec);
    const auto* o = ec ? nullptr : parsed.if_object();
    const auto* id = o ? o->if_contains("selfcare_id") : nullptr;
    const auto* password = o ? o->if_contains("password") : nullptr;
    if (!id || !password || !id->is_string() || !password->is_string()) return std::nullopt;
    return std::pair{std::string(id->get_string()), std::string(password->get_string())};
}

// The failure counters the first answer says were written: a 401 from a password step counts the
// client address, and the account too when the ID and the password are well formed
// (password_step.cpp). `unexplained` is set when the test cannot tell which account.
counter_counts predicted_counters(const route_table& routes, const framed_request& r, int first_status,
                                  std::string& unexplained) {
    counter_counts counts;
    const auto* rule = rule_for(routes, r);
    if (first_status != 401 || rule == nullptr || rule->password_portal.empty()) return counts;
    const auto credentials = r.body_known ? credentials_in(*rule, r.body) : std::nullopt;
    if (!credentials) {
        unexplained = "a 401 from the password step of a request whose credentials the test cannot read";
        return counts;
    }
    const auto& [id, password] = *credentials;
    counts[{std::string(nidan::login::failures_per_address), nidan::address_subject(loopback)}] = 1;
    const bool well_formed = nidan::selfcare_id_problem(id).value_or("").empty() && !password.empty() &&
                             password.size() <= nidan::password_config::max_length;
    if (well_formed)
        counts[{std::string(nidan::login::failures_per_account), nidan::login::account_subject(rule->password_portal, id)}] = 1;
    return counts;
}

struct stored_counter {
    std::string kind;
    std::string subject;
    std::int64_t window = 0;
    std::uint32_t count = 0;
    std::int64_t expires_at = 0;
};

// counters: key kind '\0' subject '\0' be64(window) (schema.hpp); value be64(expiry) (expiry.hpp),
// then format 1: the format byte and be32(count) (counter_table.cpp).
std::optional<stored_counter> read_counter(std::string_view key, std::string_view value) {
    const auto nul = key.find('\0');
    if (nul == std::string_view::npos || key.size() < nul + 1 + 9 || key[key.size() - 9] != '\0' || value.size() != 13 ||
        value[8] != '\x01')
        return std::nullopt;
    return stored_counter{std::string(key.substr(0, nul)), std::string(key.substr(nul + 1, key.size() - 9 - nul - 1)),
                          nidan::storage::read_i64_be(key.substr(key.size() - 8)),
                          nidan::storage::read_u32_be(value.substr(9, 4)), nidan::storage::read_i64_be(value.substr(0, 8))};
}

std::int64_t window_length(const std::string& kind) {
    const auto window = kind == nidan::login::failures_per_address ? nidan::per_address_throttle.window
                                                                    : nidan::per_account_throttle.window;
    return static_cast<std::int64_t>(window.count());
}

const std::map<std::string, stored_entry>& table_of(const stored_state& state, const std::string& name) {
    static const std::map<std::string, stored_entry> none;
    const auto found = state.tables.find(name);
    return found == state.tables.end() ? none : found->second;
}

// Every difference between two snapshots that `expected` does not account for: any change outside
// the counters and their expiry index; counts that grew by other amounts than expected; a counter
// of the wrong window, with the wrong expiry or without its index entry; index entries that index
// nothing new.
std::vector<std::string> stored_problems(const stored_state& before, const stored_state& after,
                                         const counter_counts& expected) {
    auto others_before = before, others_after = after;
    for (auto* state : {&others_before, &others_after}) {
        state->tables.erase("counters");
        state->tables.erase("expiry");
    }
    auto problems = changes_between(others_before, others_after);

    const auto& counters_before = table_of(before, "counters");
    const auto& counters_after = table_of(after, "counters");
    const auto& index_before = table_of(before, "expiry");
    const auto& index_after = table_of(after, "expiry");
    counter_counts grown;
    std::set<std::string> new_index_keys;
    for (const auto& [key, entry] : counters_after) {
        const auto old = counters_before.find(key);
        if (old != counters_before.end() && old->second.value == entry.value) continue;
        const auto now = read_counter(key, entry.value);
        const auto then = old == counters_before.end() ? std::nullopt : read_counter(key, old->second.value);
        if (!now || (old != counters_before.end() && !then)) {
            problems.push_back("counters[" + entry.readable_key + "] unreadable");
            continue;
        }
        const auto id = std::pair{now->kind, now->subject};
        const std::uint32_t was = then ? then->count : 0;
        if (now->count <= was) problems.push_back(counter_name(id) + " went from " + std::to_string(was) + " to " + std::to_string(now->count));
        grown[id] += now->count > was ? now->count - was : 0;
        const auto length = window_length(now->kind);
        if (now->window % length != 0 || now->window < before.taken_at - length || now->window > after.taken_at)
            problems.push_back(counter_name(id) + " in window " + std::to_string(now->window));
        if (now->expires_at != now->window + 2 * length)
            problems.push_back(counter_name(id) + " expires at " + std::to_string(now->expires_at) + ", not two windows after " +
                               std::to_string(now->window));
        const auto index_key = nidan::storage::expiry_key(now->expires_at, nidan::storage::table_id::counters, key);
        if (!index_after.contains(index_key)) problems.push_back(counter_name(id) + " has no expiry index entry");
        if (!index_before.contains(index_key)) new_index_keys.insert(index_key);
    }
    for (const auto& [key, entry] : counters_before) {
        if (!counters_after.contains(key) && !(entry.expires_at && *entry.expires_at <= after.taken_at))
            problems.push_back("counters[" + entry.readable_key + "] removed before its time");
    }
    for (const auto& [key, entry] : index_after) {
        if (!index_before.contains(key) && !new_index_keys.contains(key))
            problems.push_back("expiry[" + entry.readable_key + "] added, indexing no new counter");
    }
    for (const auto& [key, entry] : index_before) {
        if (!index_after.contains(key) && !(entry.expires_at && *entry.expires_at <= after.taken_at))
            problems.push_back("expiry[" + entry.readable_key + "] removed before its time");
    }
    std::set<std::pair<std::string, std::string>> ids;
    for (const auto& [id, n] : grown) ids.insert(id);
    for (const auto& [id, n] : expected) ids.insert(id);
    for (const auto& id : ids) {
        const auto seen = grown.contains(id) ? grown.at(id) : 0;
        const auto wanted = expected.contains(id) ? expected.at(id) : 0;
        if (seen != wanted)
            problems.push_back(counter_name(id) + " grew by " + std::to_string(seen) + ", expected " + std::to_string(wanted));
    }
    return problems;
}

void add_counts(counter_counts& total, const counter_counts& more) {
    for (const auto& [id, n] : more) total[id] += n;
}

// ---- setting the world up ------------------------------------------------------------------------

// The login page's form token, then the password step; returns where it sent the browser.
std::string submit_password(browser& b, const std::string& login_path, const world_account& a) {
    const auto page = b.get(login_path);
    BOOST_TEST_REQUIRE(page.status == 200);
    const auto csrf = input_value(page.body, "csrf").value_or("");
    const auto reply = b.post_form(login_path, {{"csrf", csrf}, {"selfcare_id", a.id}, {"password", account_password}});
    BOOST_TEST_REQUIRE(reply.status == 303, "login of " << a.id << ": " << reply.status << "\n" << reply.body);
    return reply.header("location");
}

std::string page_csrf(browser& b, const std::string& path) {
    const auto page = b.get(path);
    BOOST_TEST_REQUIRE(page.status == 200, path << ": " << page.status);
    const auto csrf = input_value(page.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());
    return csrf;
}

struct api_reply {
    int status = 0;
    json::object body;
};

api_reply api_call(unsigned short port, const std::string& method, const std::string& path, const std::string& body,
                   const std::string& token) {
    std::string bytes = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!token.empty()) bytes += "Authorization: Bearer " + token + "\r\n";
    if (method == "POST") bytes += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    const auto reply = request(port, bytes + "\r\n" + body);
    BOOST_TEST_REQUIRE(reply.has_value(), method << " " << path << ": no reply");
    api_reply out{reply->status, {}};
    json::error_code ec;
    const auto parsed = json::parse(reply->body, ec);
    if (!ec && parsed.is_object()) out.body = parsed.get_object();
    return out;
}

std::string text_of(const api_reply& reply, const char* name) {
    const auto* member = reply.body.if_contains(name);
    return member && member->is_string() ? std::string(member->get_string()) : std::string();
}

// A password step through the API with the right password; returns the token.
std::string api_login(unsigned short port, const std::string& portal, const world_account& a, const std::string& state) {
    const auto reply = api_call(port, "POST", "/api/v1/" + portal + "/login",
                                json_of({{"selfcare_id", a.id}, {"password", account_password}}), "");
    BOOST_TEST_REQUIRE(reply.status == 200, "api login of " << a.id << ": " << reply.status);
    BOOST_TEST_REQUIRE(text_of(reply, "state") == state);
    return text_of(reply, "token");
}

std::string session_cookie(const browser& b) {
    const auto cookie = b.cookie(nidan::cookie_names::session);
    BOOST_TEST_REQUIRE(cookie.has_value());
    return *cookie;
}

// Every session and token the requests use. The code mails these logins send are read here, so
// that the final login's code is the next mail.
live_values prepare(login_world& w) {
    live_values live;
    live.port = w.port();
    for (const auto& p : portals) {
        browser b(w.port());
        live.login_csrf[p.id] = page_csrf(b, p.login_path);
        BOOST_TEST_REQUIRE(b.cookie(nidan::cookie_names::login_form).value_or("") == live.login_csrf[p.id]);
    }
    {
        browser b(w.port());
        BOOST_TEST_REQUIRE(submit_password(b, portals[0].login_path, taro) == portal_base + "/code");
        live.code_cookie = session_cookie(b);
        live.code_csrf = page_csrf(b, portal_base + "/code");
        w.next_code(taro.email);
    }
    live.code_token = api_login(w.port(), "ip-phone", taro, "code_pending");
    w.next_code(taro.email);
    {
        browser b(w.port());
        BOOST_TEST_REQUIRE(submit_password(b, portals[0].login_path, jiro) == portal_base + "/address");
        live.address_cookie = session_cookie(b);
        live.address_csrf = page_csrf(b, portal_base + "/address");
    }
    live.address_token = api_login(w.port(), "ip-phone", jiro, "address_required");
    {
        browser b(w.port());
        BOOST_TEST_REQUIRE(submit_password(b, portals[1].login_path, hanako) == "/portal/mc050/code");
        live.foreign_cookie = session_cookie(b);
        w.next_code(hanako.email);
    }
    live.foreign_token = api_login(w.port(), "mc050", hanako, "code_pending");
    w.next_code(hanako.email);
    live.dead_token = api_login(w.port(), "ip-phone", jiro, "address_required");
    BOOST_TEST_REQUIRE(api_call(w.port(), "POST", api_base + "/logout", "", live.dead_token).status == 204);
    return live;
}

std::string context_of(std::uint32_t seed, const generated_request& g) {
    std::string text = "seed " + std::to_string(seed) + " (replay: NIDAN_HOSTILE_SEED=" + std::to_string(seed) +
                       "), request #" + std::to_string(g.index) + " (" + kind_name(g.kind) + ")";
    for (const auto& m : g.mutations) text += "\n    mutation: " + m;
    return text + "\n    bytes (" + std::to_string(g.bytes.size()) + "): " + stored_detail::escaped(g.bytes, 1500);
}

bool healthy(unsigned short port) {
    const auto reply = get(port, "/healthz");
    return reply && reply->status == 200;
}

std::string outcome_of(const exchange_result& x, const std::optional<std::vector<reply_head>>& replies) {
    if (x.timed_out) return "hang";
    if (!replies) return "garbled";
    if (replies->empty()) return "closed";
    return std::to_string(replies->front().status);
}

}  // namespace

BOOST_AUTO_TEST_CASE(hostile_requests_get_a_4xx_or_a_close_and_store_only_failure_counts) {
    const auto seed = seed_of_run();
    std::cout << "hostile input: seed " << seed << " (set NIDAN_HOSTILE_SEED to run another)" << std::endl;
    auto overrides = no_delays;
    login_world w({taro, jiro, hanako, natsu}, overrides);
    const data_folder data(w.data_dir());
    const auto live = prepare(w);
    BOOST_TEST_REQUIRE(data.outbox_drained(10s), "the outbox does not drain");

    const auto kinds = schedule(seed);
    std::vector<generated_request> requests;
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        requests.push_back(generate_request(seed, i, kinds[i], live));
        // The generator's promise: no request carries the accounts' password.
        BOOST_TEST_REQUIRE(requests.back().bytes.find("Fubuki") == std::string::npos, context_of(seed, requests.back()));
    }
    for (auto& g : found_earlier(live, requests.size())) requests.push_back(std::move(g));
    const auto routes = the_routes();

    const auto before = data.snapshot();
    auto previous = before;
    counter_counts expected_total;
    std::map<std::string, std::map<std::string, std::size_t>> outcomes;  // kind -> outcome -> requests
    std::size_t hangs = 0;
    const auto started = std::chrono::steady_clock::now();
    bool stopped = false;
    for (std::size_t from = 0; from < requests.size() && !stopped; from += batch_size) {
        for (std::size_t i = from; i < std::min(from + batch_size, requests.size()); ++i) {
            const auto& g = requests[i];
            BOOST_TEST_CONTEXT(context_of(seed, g)) {
                exchange_result x;
                try {
                    x = send_and_read(live.port, g.bytes, reply_timeout);
                } catch (const std::exception& e) {
                    BOOST_TEST(false, e.what());
                    stopped = true;
                    break;
                }
                (void)w.server().log_text();  // drains the server's log pipe, so it never blocks on a full one
                const auto framed = frame_of(g.bytes);
                const auto replies = replies_in(x.received, framed.method == "HEAD");
                ++outcomes[kind_name(g.kind)][outcome_of(x, replies)];
                check_answer(routes, framed, x, replies);

                std::string unexplained;
                const auto expected = replies && !replies->empty()
                                          ? predicted_counters(routes, framed, replies->front().status, unexplained)
                                          : counter_counts{};
                BOOST_TEST(unexplained.empty(), unexplained);
                const auto now = data.snapshot();
                const auto problems = stored_problems(previous, now, expected);
                BOOST_TEST(problems.empty(), "stored by this request:" << as_lines(problems));
                add_counts(expected_total, expected);
                previous = now;

                if (x.timed_out) ++hangs;
            }
            if (hangs >= max_hangs || std::chrono::steady_clock::now() - started > run_budget) {
                BOOST_TEST(false, "stopped after request #" << i << ": " << hangs << " hung requests, "
                                                            << std::chrono::duration_cast<std::chrono::seconds>(
                                                                   std::chrono::steady_clock::now() - started).count()
                                                            << " s");
                stopped = true;
                break;
            }
        }
        BOOST_TEST(healthy(live.port), "seed " << seed << ": /healthz after the batch from request #" << from);
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    // Over the whole run: exactly the predicted failure counts, nothing else.
    const auto after = data.snapshot();
    const auto problems = stored_problems(before, after, expected_total);
    BOOST_TEST(problems.empty(), "seed " << seed << ", stored over the whole run:" << as_lines(problems));

    std::cout << "hostile input: seed " << seed << ", " << requests.size() << " requests in " << seconds << " s\n";
    for (const auto& [kind, counts] : outcomes) {
        std::cout << "  " << kind << ":";
        for (const auto& [outcome, n] : counts) std::cout << " " << outcome << "x" << n;
        std::cout << "\n";
    }
    for (const auto& [id, n] : expected_total) std::cout << "  counted " << counter_name(id) << " +" << n << "\n";
    std::cout << std::flush;

    // The server is still up and whole: a correct login through the API still works.
    BOOST_TEST(!w.server().wait_exit(100ms).has_value(), "the server exited");
    const auto login = api_call(live.port, "POST", api_base + "/login",
                                json_of({{"selfcare_id", taro.id}, {"password", account_password}}), "");
    BOOST_TEST_REQUIRE(login.status == 200, "seed " << seed << ": the correct login got " << login.status);
    BOOST_TEST(text_of(login, "state") == "code_pending");
    const auto code = w.next_code(taro.email).code;
    const auto verified = api_call(live.port, "POST", api_base + "/code", json_of({{"code", code}}), text_of(login, "token"));
    BOOST_TEST_REQUIRE(verified.status == 200, "seed " << seed << ": the correct code got " << verified.status);
    BOOST_TEST(text_of(verified, "state") == "authenticated");
    const auto session = api_call(live.port, "GET", api_base + "/session", "", text_of(verified, "token"));
    BOOST_TEST(session.status == 200);
    BOOST_TEST(text_of(session, "selfcare_id") == taro.id);

    const auto log = w.server().log_text();
    BOOST_TEST(log.find("event=session.crashed") == std::string::npos, "seed " << seed << ": a session coroutine crashed");
    BOOST_TEST(log.find("event=request.failed") == std::string::npos, "seed " << seed << ": a request failed in a handler");
}
