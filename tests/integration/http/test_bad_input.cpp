// Bad input to every form and JSON call after the password step, against the real `nidan serve`:
// the code form, the address form (an account without a registered address), the account page's
// address-change and password-change forms (an authenticated ip-phone session), and the JSON
// API's code and address calls. Each row must get a clear 4xx (the page's alert, the error page's
// text, or the JSON {"error", "message"}) and must leave the stored state exactly as it was: the
// test reads every LMDB table of the server's data folder before and after each row
// (stored_state.hpp) and reports any key that was added, removed or changed. At the end of each
// table the correct submission must still work: no row cost a code attempt or a phone strike,
// and no mail went out.
//
// Most rows are made from the correct submission with one fault added (a broken escape, a field
// given twice, a wrong content type ...), so the fault alone is why it is refused: a server that
// overlooked it would accept the submission, and the snapshot would show it.
//
// Between a row's two snapshots the server may write on its own only through the expiry sweep and
// the mail delivery loop. The sweep removes entries whose time has come (changes_between() leaves
// out exactly those removals); the delivery loop removes a mail once the relay took it, so every
// table first waits for the outbox to drain (settle()). The other write no request asked for,
// touching a session's last_seen (at most once a minute), happens only on GET of the home page
// or the API's session call, which no row makes (nor does /healthz, asked after every row).

#define BOOST_TEST_MODULE bad_input
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/account/account_rules.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/raw_http.hpp"
#include "stored_state.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string& password = account_password;

// taro has an address (code form, account page); jiro has none (address form).
const world_account taro{"ip-phone", "taro", "taro@example.jp", "09012345678"};
const world_account jiro{"ip-phone", "jiro", "", "09087654321"};
const std::string login_path = "/selfcare/SelfcareLogin.in";
const std::string portal_base = "/portal/ip-phone";
const std::string api_base = "/api/v1/ip-phone";

// conf/nidan.toml's server.max_body_bytes, which the world does not override.
constexpr std::size_t max_body_bytes = 16384;

// The texts of the shipped Japanese catalog (templates/lang/ja.toml).
const std::string msg_bad_form = catalog_text("ja", "message.bad_form");
const std::string msg_code_format = catalog_text("ja", "message.code_format");
const std::string msg_bad_address = catalog_text("ja", "message.bad_address");
const std::string msg_bad_phone = catalog_text("ja", "message.bad_phone");
const std::string msg_short_password = catalog_text_with("ja", "account.password_too_short", {{"min_chars", "8"}});
const std::string msg_long_password = catalog_text_with("ja", "account.password_too_long", {{"max_bytes", "1024"}});
const std::string msg_wrong_password = catalog_text("ja", "account.wrong_current_password");
const std::string msg_password_changed = catalog_text("ja", "account.password_changed");

const std::string page_forbidden = catalog_text("ja", "error.403");
const std::string page_too_large = catalog_text("ja", "error.413");
const std::string page_unsupported_type = catalog_text("ja", "error.415");

const std::string form_type = "application/x-www-form-urlencoded";
const std::string json_type = "application/json";

class world : public login_world {
public:
    world() : login_world({taro, jiro}) {}
};

// The text between `open` (first found after `from`) and the next "</p>", unescaped; "" when absent.
std::string paragraph_after(const std::string& html, const std::string& open, std::size_t from = 0) {
    const auto at = html.find(open, from);
    if (at == std::string::npos) return {};
    const auto end = html.find("</p>", at);
    if (end == std::string::npos) return {};
    return html_unescape(html.substr(at + open.size(), end - at - open.size()));
}

// What a refused page tells the customer: the form page's alert, or else the error page's text.
std::string shown_message(const http_reply& reply) {
    if (auto alert = paragraph_after(reply.body, "<p class=\"alert\" role=\"alert\">"); !alert.empty()) return alert;
    const auto main = reply.body.find("<main class=\"error\">");
    return main == std::string::npos ? std::string() : paragraph_after(reply.body, "<p>", main);
}

bool healthy(unsigned short port) {
    const auto reply = get(port, "/healthz");
    return reply && reply->status == 200;
}

void check_nothing_stored(const stored_state& before, const stored_state& after) {
    const auto changes = changes_between(before, after);
    BOOST_TEST(changes.empty(), "the stored state changed:" << as_lines(changes));
}

// ---- HTML forms ------------------------------------------------------------------------------

// A form body as (name, value already percent-encoded) pairs, so rows can put raw escapes in.
using raw_fields = std::vector<std::pair<std::string, std::string>>;

raw_fields encoded(const form_fields& fields) {
    raw_fields out;
    for (const auto& [name, value] : fields) out.emplace_back(form_encode(name), form_encode(value));
    return out;
}

std::string joined(const raw_fields& fields) {
    std::string body;
    for (const auto& [name, value] : fields) body += (body.empty() ? "" : "&") + name + "=" + value;
    return body;
}

struct form_row {
    std::string name;
    std::string body;
    std::string content_type;  // "" sends none
    int status;
    std::string message;  // the alert of the page shown again, or the error page's text
};

form_row refused_form(std::string name, const raw_fields& fields, int status, std::string message) {
    return {std::move(name), joined(fields), form_type, status, std::move(message)};
}

// The rows every form must refuse the same way, each the correct submission `good` with one fault.
std::vector<form_row> malformed_form_rows(const raw_fields& good) {
    std::vector<form_row> rows;
    const auto body = joined(good);
    for (std::size_t i = 0; i < good.size(); ++i) {
        const auto& field = good[i].first;
        auto with_suffix = [&](const std::string& suffix) {
            auto fields = good;
            fields[i].second += suffix;
            return fields;
        };
        rows.push_back(refused_form("invalid UTF-8 byte in " + field, with_suffix("%FF"), 400, msg_bad_form));
        rows.push_back(refused_form("truncated UTF-8 sequence in " + field, with_suffix("%E3%81"), 400, msg_bad_form));
        rows.push_back(refused_form("overlong UTF-8 in " + field, with_suffix("%C0%AF"), 400, msg_bad_form));
        rows.push_back(refused_form("NUL byte in " + field, with_suffix("%00"), 400, msg_bad_form));
        rows.push_back(refused_form("non-hex percent escape in " + field, with_suffix("%G1"), 400, msg_bad_form));
        auto twice = good;
        twice.push_back(good[i]);
        rows.push_back(refused_form(field + " given twice, same value", twice, 400, msg_bad_form));
    }
    rows.push_back({"percent sign at the very end", body + "%", form_type, 400, msg_bad_form});
    rows.push_back({"half a percent escape at the end", body + "%4", form_type, 400, msg_bad_form});
    rows.push_back({"NUL byte in a field name", "x%00y=1&" + body, form_type, 400, msg_bad_form});
    auto crowded = good;
    for (std::size_t i = good.size(); i <= 32; ++i) crowded.emplace_back("f" + std::to_string(i), "1");
    rows.push_back(refused_form("33 fields (more than the form reader takes)", crowded, 400, msg_bad_form));
    rows.push_back({"text/plain", body, "text/plain", 415, page_unsupported_type});
    rows.push_back({"multipart", body, "multipart/form-data; boundary=x", 415, page_unsupported_type});
    rows.push_back({"application/json", body, json_type, 415, page_unsupported_type});
    rows.push_back({"no content type", body, "", 415, page_unsupported_type});
    rows.push_back({"body over server.max_body_bytes", body + "&filler=" + std::string(max_body_bytes, 'x'), form_type,
                    413, page_too_large});
    return rows;
}

// The CSRF faults; the session's form token is required on every form after the login.
std::vector<form_row> missing_token_rows(const raw_fields& good) {
    raw_fields without_token, empty_token, wrong_token;
    for (const auto& field : good) {
        if (field.first != "csrf") without_token.push_back(field);
        empty_token.push_back(field.first == "csrf" ? std::pair<std::string, std::string>{"csrf", ""} : field);
        wrong_token.push_back(field.first == "csrf" ? std::pair<std::string, std::string>{"csrf", field.second + "x"} : field);
    }
    return {refused_form("no csrf field", without_token, 403, page_forbidden),
            refused_form("empty csrf field", empty_token, 403, page_forbidden),
            refused_form("wrong csrf value", wrong_token, 403, page_forbidden),
            {"empty body", "", form_type, 403, page_forbidden}};
}

template <class... Lists>
std::vector<form_row> concat(const std::vector<form_row>& first, const Lists&... more) {
    auto all = first;
    (all.insert(all.end(), more.begin(), more.end()), ...);
    return all;
}

// Posts each row with the browser's cookies: a clear 4xx, no cookie touched, nothing stored.
void check_form_rows(world& w, const data_folder& data, browser& b, const std::string& path,
                     const std::vector<form_row>& rows) {
    const auto cookies = b.cookies();
    for (const auto& row : rows) {
        BOOST_TEST_CONTEXT(path << ", row \"" << row.name << "\"") {
            const auto before = data.snapshot();
            const auto reply = b.post(path, row.body, row.content_type);
            const auto after = data.snapshot();
            BOOST_TEST(reply.status == row.status);
            BOOST_TEST((reply.status >= 400 && reply.status < 500));
            BOOST_TEST(shown_message(reply) == row.message);
            BOOST_TEST(set_cookies(reply).empty());
            BOOST_TEST((b.cookies() == cookies));
            check_nothing_stored(before, after);
            BOOST_TEST(healthy(w.port()));
        }
    }
}

// The login page's form token, then the password step; returns where it sent the browser.
std::string submit_password(browser& b, const world_account& a, const std::string& pw) {
    const auto page = b.get(login_path);
    BOOST_TEST_REQUIRE(page.status == 200);
    const auto csrf = input_value(page.body, "csrf").value_or("");
    const auto reply = b.post_form(login_path, {{"csrf", csrf}, {"selfcare_id", a.id}, {"password", pw}});
    BOOST_TEST_REQUIRE(reply.status == 303, "login: " << reply.status << "\n" << reply.body);
    return reply.header("location");
}

// The form token of the page at `path` (GET), which must answer 200.
std::string page_csrf(browser& b, const std::string& path) {
    const auto page = b.get(path);
    BOOST_TEST_REQUIRE(page.status == 200, path << ": " << page.status << " " << page.header("location"));
    const auto csrf = input_value(page.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());
    return csrf;
}

// Both steps for taro: the browser ends on the account page; returns that page's form token.
std::string log_in_to_account_page(world& w, browser& b) {
    BOOST_TEST_REQUIRE(submit_password(b, taro, password) == portal_base + "/code");
    const auto csrf = page_csrf(b, portal_base + "/code");
    const auto code = w.next_code(taro.email).code;
    const auto reply = b.post_form(portal_base + "/code", {{"csrf", csrf}, {"code", code}});
    BOOST_TEST_REQUIRE(reply.status == 303, "code: " << reply.status << "\n" << reply.body);
    return page_csrf(b, portal_base + "/home");
}

// An address of exactly `bytes` bytes (more than 129) that passes every rule but the length: a
// 64-byte local part and a domain of labels of at most 63 bytes, the last one short.
std::string address_of_length(std::size_t bytes) {
    std::string domain;
    std::size_t room = bytes - 65;  // after the local part and '@'
    while (room > 63) {
        const std::size_t label = std::min<std::size_t>(63, room - 2);  // leaves the last label a byte at least
        domain += std::string(label, 'd') + ".";
        room -= label + 1;
    }
    domain += std::string(room, 'j');
    return std::string(64, 'l') + "@" + domain;
}

// A code of the same length that is not `code`.
std::string other_code(const std::string& code) {
    std::string out;
    for (const char c : code) out += static_cast<char>('0' + (c - '0' + 1) % 10);
    return out;
}

// Waits for mails in flight to leave the outbox, so that only the rows can change it.
void settle(const data_folder& data) { BOOST_TEST_REQUIRE(data.outbox_drained(10s), "the outbox does not drain"); }

// ---- JSON API --------------------------------------------------------------------------------

struct api_reply {
    int status = 0;
    json::value body;  // null when the body is not JSON
    http_reply raw;
    std::string text(const char* name) const {
        const auto* o = body.if_object();
        const auto* e = o ? o->if_contains(name) : nullptr;
        return e && e->is_string() ? std::string(e->get_string()) : std::string();
    }
};

// authorization: the whole header value, "" for none.
api_reply call(unsigned short port, const std::string& path, const std::string& body, const std::string& authorization,
               const std::string& content_type = json_type) {
    std::string bytes = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!authorization.empty()) bytes += "Authorization: " + authorization + "\r\n";
    if (!content_type.empty()) bytes += "Content-Type: " + content_type + "\r\n";
    bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    const auto reply = request(port, bytes);
    BOOST_TEST_REQUIRE(reply.has_value(), "POST " << path << ": no reply");
    api_reply out{reply->status, {}, *reply};
    json::error_code ec;
    auto parsed = json::parse(reply->body, ec);
    if (!ec) out.body = std::move(parsed);
    return out;
}

std::string quoted(const std::string& text) { return json::serialize(json::value(text)); }

// A JSON object from (name, value as JSON text) pairs, so rows can put any JSON (or not JSON) in.
using raw_members = std::vector<std::pair<std::string, std::string>>;

std::string object_text(const raw_members& members) {
    std::string out = "{";
    for (const auto& [name, value] : members) out += (out.size() > 1 ? ", " : "") + quoted(name) + ": " + value;
    return out + "}";
}

raw_members string_members(const std::vector<std::pair<std::string, std::string>>& fields) {
    raw_members out;
    for (const auto& [name, value] : fields) out.emplace_back(name, quoted(value));
    return out;
}

struct json_row {
    std::string name;
    std::string body;
    int status;
    std::string error;
    std::string content_type = json_type;
    std::string authorization = "{bearer}";  // "{bearer}": the session's "Bearer <token>"
};

json_row refused_json(std::string name, const raw_members& members, int status, std::string error) {
    return {std::move(name), object_text(members), status, std::move(error)};
}

// The rows every call must refuse the same way, each the correct request `good` with one fault.
std::vector<json_row> malformed_json_rows(const raw_members& good) {
    std::vector<json_row> rows;
    const auto body = object_text(good);
    for (std::size_t i = 0; i < good.size(); ++i) {
        const auto& member = good[i].first;
        auto with = [&](const std::string& value) {
            auto members = good;
            members[i].second = value;
            return members;
        };
        auto without = good;
        without.erase(without.begin() + static_cast<std::ptrdiff_t>(i));
        rows.push_back(refused_json("\"" + member + "\" missing", without, 400, "bad_request"));
        rows.push_back(refused_json("\"" + member + "\" a number", with("123456"), 400, "bad_request"));
        rows.push_back(refused_json("\"" + member + "\" null", with("null"), 400, "bad_request"));
        rows.push_back(refused_json("\"" + member + "\" true", with("true"), 400, "bad_request"));
        rows.push_back(refused_json("\"" + member + "\" an array", with("[" + good[i].second + "]"), 400, "bad_request"));
        rows.push_back(refused_json("\"" + member + "\" an object", with("{\"value\": " + good[i].second + "}"), 400, "bad_request"));
        rows.push_back(refused_json("\"" + member + "\" nested too deep", with("[[[[[" + good[i].second + "]]]]]"), 400, "bad_request"));
        const auto& value = good[i].second;
        const auto inner = value.substr(0, value.size() - 1);  // the string without its closing quote
        rows.push_back(refused_json("invalid UTF-8 in \"" + member + "\"", with(inner + "\xff\""), 400, "bad_request"));
        rows.push_back(refused_json("overlong UTF-8 in \"" + member + "\"", with(inner + "\xc0\xaf\""), 400, "bad_request"));
        rows.push_back(refused_json("lone surrogate escape in \"" + member + "\"", with(inner + "\\ud800\""), 400, "bad_request"));
    }
    rows.push_back({"not JSON", "code=123456&email=a%40b.jp", 400, "bad_request"});
    rows.push_back({"empty body", "", 400, "bad_request"});
    rows.push_back({"truncated JSON", body.substr(0, body.size() - 1), 400, "bad_request"});
    rows.push_back({"garbage after the object", body + "x", 400, "bad_request"});
    rows.push_back({"two objects", body + body, 400, "bad_request"});
    rows.push_back({"a comment", "/* hi */ " + body, 400, "bad_request"});
    rows.push_back({"an array around the object", "[" + body + "]", 400, "bad_request"});
    rows.push_back({"a JSON string", quoted(body), 400, "bad_request"});
    rows.push_back({"null", "null", 400, "bad_request"});
    rows.push_back({"text/plain", body, 415, "unsupported_media_type", "text/plain"});
    rows.push_back({"multipart", body, 415, "unsupported_media_type", "multipart/form-data; boundary=x"});
    rows.push_back({"form content type", body, 415, "unsupported_media_type", form_type});
    rows.push_back({"no content type", body, 415, "unsupported_media_type", ""});
    auto padded = good;
    padded.emplace_back("padding", quoted(std::string(5000, 'x')));
    rows.push_back(refused_json("5000-byte body (over the API's 4096)", padded, 413, "payload_too_large"));
    padded.back().second = quoted(std::string(max_body_bytes, 'x'));
    rows.push_back(refused_json("body over server.max_body_bytes", padded, 413, "payload_too_large"));
    rows.push_back({"no Authorization", body, 401, "unauthenticated", json_type, ""});
    rows.push_back({"made-up bearer token", body, 401, "unauthenticated", json_type, "Bearer not-a-session"});
    rows.push_back({"the token under the Basic scheme", body, 401, "unauthenticated", json_type, "Basic {token}"});
    return rows;
}

// A member given twice. The form reader refuses a repeated field so that a handler never acts on
// a half-understood form; the API must not either. First the correct value followed by a wrong
// one (`wrong_value`, JSON text) for `member`, then each member repeated with its correct value.
// These rows go to a session of their own after the other rows: a server that acts on them
// changes what any later row would meet.
std::vector<json_row> repeated_member_rows(const raw_members& good, const std::string& member, const std::string& wrong_value) {
    auto right_then_wrong = good;
    right_then_wrong.emplace_back(member, wrong_value);
    std::vector<json_row> rows{
        refused_json("\"" + member + "\" given twice, the right value then a wrong one", right_then_wrong, 400, "bad_request")};
    for (const auto& field : good) {
        auto twice = good;
        twice.push_back(field);
        rows.push_back(refused_json("\"" + field.first + "\" given twice, same value", twice, 400, "bad_request"));
    }
    return rows;
}

std::vector<json_row> concat_json(std::vector<json_row> first, const std::vector<json_row>& second) {
    first.insert(first.end(), second.begin(), second.end());
    return first;
}

std::string with_token(std::string authorization, const std::string& token) {
    if (authorization == "{bearer}") return "Bearer " + token;
    if (const auto at = authorization.find("{token}"); at != std::string::npos) authorization.replace(at, 7, token);
    return authorization;
}

// Sends each row with `token`: a clear 4xx in JSON, nothing stored.
void check_json_rows(world& w, const data_folder& data, const std::string& path, const std::string& token,
                     const std::vector<json_row>& rows) {
    for (const auto& row : rows) {
        BOOST_TEST_CONTEXT(path << ", row \"" << row.name << "\"") {
            const auto before = data.snapshot();
            const auto reply = call(w.port(), path, row.body, with_token(row.authorization, token), row.content_type);
            const auto after = data.snapshot();
            BOOST_TEST(reply.status == row.status);
            BOOST_TEST((reply.status >= 400 && reply.status < 500));
            BOOST_TEST(reply.raw.header("content-type") == json_type, reply.raw.body.substr(0, 300));
            BOOST_TEST(reply.text("error") == row.error);
            BOOST_TEST(!reply.text("message").empty());
            check_nothing_stored(before, after);
            BOOST_TEST(healthy(w.port()));
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_code_form_input_gets_a_clear_4xx) {
    world w;
    const data_folder data(w.data_dir());
    browser b(w.port());
    BOOST_TEST_REQUIRE(submit_password(b, taro, password) == portal_base + "/code");
    const auto csrf = page_csrf(b, portal_base + "/code");
    const auto code = w.next_code(taro.email).code;
    settle(data);
    const auto stored_code = data.code(taro.portal, taro.id);
    BOOST_TEST_REQUIRE(stored_code.has_value());

    const auto good = encoded({{"csrf", csrf}, {"code", code}});
    auto with_code = [&](const std::string& raw) { return raw_fields{good[0], {"code", raw}}; };
    const std::vector<form_row> code_rows{
        refused_form("empty code", with_code(""), 400, msg_code_format),
        refused_form("no code field", {good[0]}, 400, msg_code_format),
        refused_form("letters", with_code("abcdef"), 400, msg_code_format),
        refused_form("a letter among digits", with_code("12a456"), 400, msg_code_format),
        refused_form("the code with a letter after it", with_code(code + "x"), 400, msg_code_format),
        refused_form("too few digits", with_code(code.substr(0, 5)), 400, msg_code_format),
        refused_form("too many digits", with_code(code + "0"), 400, msg_code_format),
        refused_form("a space inside", with_code(code.substr(0, 3) + "+" + code.substr(3)), 400, msg_code_format),
        refused_form("a minus sign", with_code("-" + code.substr(1)), 400, msg_code_format),
        refused_form("2000 digits", with_code(std::string(2000, '1')), 400, msg_code_format),
        refused_form("2000 letters", with_code(std::string(2000, 'a')), 400, msg_code_format),
    };
    check_form_rows(w, data, b, portal_base + "/code", concat(code_rows, missing_token_rows(good), malformed_form_rows(good)));

    // No row cost an attempt, no mail went out, and the code still gets in.
    const auto code_after = data.code(taro.portal, taro.id);
    BOOST_TEST_REQUIRE(code_after.has_value());
    BOOST_TEST(code_after->attempts_left == stored_code->attempts_left);
    BOOST_TEST(code_after->attempts_left == 5u);
    BOOST_TEST(w.mails_received() == 1u);
    BOOST_TEST(b.get("/auth/verify/" + taro.portal).status == 401);
    const auto accepted = b.post(portal_base + "/code", joined(good), form_type);
    BOOST_TEST(accepted.status == 303, accepted.body);
    BOOST_TEST(accepted.header("location") == portal_base + "/home");
    BOOST_TEST(b.get("/auth/verify/" + taro.portal).status == 200);
}

BOOST_AUTO_TEST_CASE(bad_address_form_input_gets_a_clear_4xx) {
    world w;
    const data_folder data(w.data_dir());
    browser b(w.port());
    BOOST_TEST_REQUIRE(submit_password(b, jiro, password) == portal_base + "/address");
    const auto csrf = page_csrf(b, portal_base + "/address");
    settle(data);
    BOOST_TEST_REQUIRE(nidan::email_problem(address_of_length(254)).value_or("").empty());

    const std::string new_address = "jiro@example.jp";
    const auto good = encoded({{"csrf", csrf}, {"email", new_address}, {"phone", jiro.phone}});
    auto with = [&](const std::string& email, const std::string& phone) {
        return encoded({{"csrf", csrf}, {"email", email}, {"phone", phone}});
    };
    auto with_email = [&](const std::string& email) { return with(email, jiro.phone); };
    auto with_phone = [&](const std::string& phone) { return with(new_address, phone); };
    const std::vector<form_row> address_rows{
        refused_form("empty fields", with("", ""), 400, msg_bad_address),
        refused_form("empty address", with_email(""), 400, msg_bad_address),
        refused_form("empty phone", with_phone(""), 400, msg_bad_phone),
        refused_form("no fields but csrf", {good[0]}, 400, msg_bad_address),
        refused_form("no email field", {good[0], good[2]}, 400, msg_bad_address),
        refused_form("no phone field", {good[0], good[1]}, 400, msg_bad_phone),
        refused_form("address without @", with_email("jiro.example.jp"), 400, msg_bad_address),
        refused_form("address with two @", with_email("jiro@@example.jp"), 400, msg_bad_address),
        refused_form("address with a space inside", with_email("jiro @example.jp"), 400, msg_bad_address),
        refused_form("address with a trailing space", with_email(new_address + " "), 400, msg_bad_address),
        refused_form("address of 255 bytes", with_email(address_of_length(255)), 400, msg_bad_address),
        refused_form("address of 2000 bytes", with_email(address_of_length(2000)), 400, msg_bad_address),
        refused_form("address with non-ASCII letters", with_email("じろう@example.jp"), 400, msg_bad_address),
        refused_form("address without a dot in the domain", with_email("jiro@localhost"), 400, msg_bad_address),
        refused_form("address starting with a dot", with_email(".jiro@example.jp"), 400, msg_bad_address),
        refused_form("phone with letters", with_phone("090-ABCD-4321"), 400, msg_bad_phone),
        refused_form("phone as a word", with_phone("phone"), 400, msg_bad_phone),
        refused_form("phone of 9 digits", with_phone(jiro.phone.substr(0, 9)), 400, msg_bad_phone),
        refused_form("phone of 12 digits", with_phone(jiro.phone + "0"), 400, msg_bad_phone),
        refused_form("phone of 2000 digits", with_phone(std::string(2000, '9')), 400, msg_bad_phone),
        refused_form("phone in +81 form", with_phone("+81 90 8765 4321"), 400, msg_bad_phone),
        refused_form("the phone with a letter after it", with_phone(jiro.phone + "x"), 400, msg_bad_phone),
    };
    check_form_rows(w, data, b, portal_base + "/address", concat(address_rows, missing_token_rows(good), malformed_form_rows(good)));

    // No strike was counted and no mail went out; the right number still registers the address.
    const auto account = data.account(jiro.portal, jiro.id);
    BOOST_TEST_REQUIRE(account.has_value());
    BOOST_TEST(account->phone_strikes == 0u);
    BOOST_TEST(!account->address_form_locked);
    BOOST_TEST(account->email.empty());
    BOOST_TEST(w.mails_received() == 0u);
    const auto accepted = b.post(portal_base + "/address", joined(good), form_type);
    BOOST_TEST_REQUIRE(accepted.status == 303, accepted.body);
    BOOST_TEST(accepted.header("location") == portal_base + "/code");
    const auto code = w.next_code(new_address).code;
    const auto verified = b.post_form(portal_base + "/code", {{"csrf", csrf}, {"code", code}});
    BOOST_TEST(verified.status == 303, verified.body);
    BOOST_TEST(b.get("/auth/verify/" + jiro.portal).status == 200);
    BOOST_TEST(data.account(jiro.portal, jiro.id).value_or(nidan::account{}).email == new_address);
}

BOOST_AUTO_TEST_CASE(bad_address_change_input_gets_a_clear_4xx) {
    world w;
    const data_folder data(w.data_dir());
    browser b(w.port());
    const auto csrf = log_in_to_account_page(w, b);
    settle(data);
    BOOST_TEST_REQUIRE(nidan::email_problem(address_of_length(254)).value_or("").empty());

    const std::string new_address = "taro.new@example.jp";
    const auto good = encoded({{"csrf", csrf}, {"new_email", new_address}, {"email_current_password", password}});
    auto with_email = [&](const std::string& email) {
        return encoded({{"csrf", csrf}, {"new_email", email}, {"email_current_password", password}});
    };
    const std::vector<form_row> change_rows{
        refused_form("empty address", with_email(""), 400, msg_bad_address),
        refused_form("no new_email field", {good[0]}, 400, msg_bad_address),
        refused_form("address without @", with_email("taro.example.jp"), 400, msg_bad_address),
        refused_form("address with two @", with_email("taro@@example.jp"), 400, msg_bad_address),
        refused_form("address with a space inside", with_email("taro @example.jp"), 400, msg_bad_address),
        refused_form("address with a trailing space", with_email(new_address + " "), 400, msg_bad_address),
        refused_form("address of 255 bytes", with_email(address_of_length(255)), 400, msg_bad_address),
        refused_form("address of 2000 bytes", with_email(address_of_length(2000)), 400, msg_bad_address),
        refused_form("address with non-ASCII letters", with_email("たろう@example.jp"), 400, msg_bad_address),
        refused_form("address without a dot in the domain", with_email("taro@localhost"), 400, msg_bad_address),
        refused_form("address ending with a dot", with_email("taro.@example.jp"), 400, msg_bad_address),
    };
    check_form_rows(w, data, b, portal_base + "/email", concat(change_rows, missing_token_rows(good), malformed_form_rows(good)));

    // The refused address is shown again (escaped), so the customer corrects it instead of retyping.
    const auto kept = b.post(portal_base + "/email", joined(with_email("taro <@example.jp")), form_type);
    BOOST_TEST(kept.status == 400);
    BOOST_TEST(input_value(kept.body, "new_email").value_or("") == "taro <@example.jp");
    BOOST_TEST(kept.body.find("taro <@") == std::string::npos);

    // Nothing was sent; the address changes once the code mailed to the new one is entered and
    // its hold (address_change.hold_hours) has passed.
    BOOST_TEST(w.mails_received() == 1u);
    BOOST_TEST(!data.code(taro.portal, taro.id).has_value());
    const auto accepted = b.post(portal_base + "/email", joined(good), form_type);
    BOOST_TEST_REQUIRE(accepted.status == 303, accepted.body);
    BOOST_TEST(accepted.header("location") == portal_base + "/code");
    const auto code = w.next_code(new_address).code;
    const auto verified = b.post_form(portal_base + "/code", {{"csrf", csrf}, {"code", code}});
    BOOST_TEST(verified.status == 303, verified.body);
    BOOST_TEST(data.account(taro.portal, taro.id).value_or(nidan::account{}).pending_email == new_address);
}

BOOST_AUTO_TEST_CASE(bad_password_change_input_gets_a_clear_4xx) {
    world w;
    const data_folder data(w.data_dir());
    browser b(w.port());
    const auto csrf = log_in_to_account_page(w, b);
    settle(data);

    const std::string new_password = "Yuki-Usagi 2025?";
    const auto good = encoded({{"csrf", csrf}, {"current_password", password}, {"new_password", new_password}});
    auto with = [&](const std::string& current, const std::string& replacement) {
        return encoded({{"csrf", csrf}, {"current_password", current}, {"new_password", replacement}});
    };
    const std::vector<form_row> password_rows{
        refused_form("empty fields", with("", ""), 400, msg_short_password),
        refused_form("empty new password", with(password, ""), 400, msg_short_password),
        refused_form("no new_password field", {good[0], good[1]}, 400, msg_short_password),
        refused_form("no fields but csrf", {good[0]}, 400, msg_short_password),
        refused_form("new password of 7 characters", with(password, "Yuki-Us"), 400, msg_short_password),
        refused_form("new password of 7 kanji (21 bytes)", with(password, "雪兎雪兎雪兎雪"), 400, msg_short_password),
        refused_form("new password of 1025 bytes", with(password, std::string(1025, 'p')), 400, msg_long_password),
        refused_form("new password of 2000 bytes", with(password, std::string(2000, 'p')), 400, msg_long_password),
        refused_form("empty current password", with("", new_password), 401, msg_wrong_password),
        refused_form("no current_password field", {good[0], good[2]}, 401, msg_wrong_password),
        refused_form("current password of 2000 bytes", with(std::string(2000, 'p'), new_password), 401, msg_wrong_password),
    };
    check_form_rows(w, data, b, portal_base + "/password", concat(password_rows, missing_token_rows(good), malformed_form_rows(good)));

    // A wrong current password is a password guess: it is refused like the rows above, and it is
    // the one thing counted - the failure counters of the account and of the address, with their
    // expiry entries, exactly as a failed login counts (a stolen session must not guess freely).
    {
        const auto before = data.snapshot();
        const auto wrong = b.post(portal_base + "/password", joined(with(password + "x", new_password)), form_type);
        const auto changes = changes_between(before, data.snapshot());
        BOOST_TEST(wrong.status == 401);
        BOOST_TEST(shown_message(wrong) == msg_wrong_password);
        BOOST_TEST(changes.size() == 4u);
        for (const auto& change : changes) {
            BOOST_TEST_CONTEXT(change) {
                const bool counter = change.starts_with("counters[pw_acct") || change.starts_with("counters[pw_addr") ||
                                     change.starts_with("expiry[at ");
                BOOST_TEST(counter);
                BOOST_TEST(change.find(" added") != std::string::npos);
            }
        }
    }

    // The password is unchanged until the correct form changes it; the new one then logs in.
    BOOST_TEST(w.mails_received() == 1u);
    const auto hash_before = data.account(taro.portal, taro.id).value_or(nidan::account{}).password_hash;
    const auto changed = b.post(portal_base + "/password", joined(good), form_type);
    BOOST_TEST(changed.status == 200, changed.body);
    BOOST_TEST(paragraph_after(changed.body, "<p class=\"done\" role=\"status\">") == msg_password_changed);
    BOOST_TEST(data.account(taro.portal, taro.id).value_or(nidan::account{}).password_hash != hash_before);
    browser fresh(w.port());
    BOOST_TEST(submit_password(fresh, taro, new_password) == portal_base + "/code");
}

BOOST_AUTO_TEST_CASE(bad_api_code_input_gets_a_clear_4xx) {
    world w;
    const data_folder data(w.data_dir());
    const auto login = call(w.port(), api_base + "/login", object_text(string_members({{"selfcare_id", taro.id}, {"password", password}})), "");
    BOOST_TEST_REQUIRE(login.status == 200, login.raw.body);
    const auto token = login.text("token");
    const auto code = w.next_code(taro.email).code;
    settle(data);
    const auto stored_code = data.code(taro.portal, taro.id);
    BOOST_TEST_REQUIRE(stored_code.has_value());

    const auto good = string_members({{"code", code}});
    auto with_code = [&](const std::string& raw_json) { return raw_members{{"code", raw_json}}; };
    const std::vector<json_row> code_rows{
        refused_json("empty code", with_code("\"\""), 400, "bad_code_format"),
        refused_json("\"Code\" instead of \"code\"", {{"Code", quoted(code)}}, 400, "bad_request"),
        refused_json("letters", with_code("\"abcdef\""), 400, "bad_code_format"),
        refused_json("a letter among digits", with_code("\"12a456\""), 400, "bad_code_format"),
        refused_json("the code with a letter after it", with_code(quoted(code + "x")), 400, "bad_code_format"),
        refused_json("too few digits", with_code(quoted(code.substr(0, 5))), 400, "bad_code_format"),
        refused_json("too many digits", with_code(quoted(code + "0")), 400, "bad_code_format"),
        refused_json("a space inside", with_code(quoted(code.substr(0, 3) + " " + code.substr(3))), 400, "bad_code_format"),
        refused_json("2000 digits", with_code(quoted(std::string(2000, '1'))), 400, "bad_code_format"),
        refused_json("escaped NUL after the code", with_code(quoted(code).insert(code.size() + 1, "\\u0000")), 400, "bad_code_format"),
    };
    check_json_rows(w, data, api_base + "/code", token, concat_json(code_rows, malformed_json_rows(good)));

    // No row cost an attempt and no mail went out; the code still gets in.
    const auto code_after = data.code(taro.portal, taro.id);
    BOOST_TEST_REQUIRE(code_after.has_value());
    BOOST_TEST(code_after->attempts_left == stored_code->attempts_left);
    BOOST_TEST(code_after->attempts_left == 5u);
    BOOST_TEST(w.mails_received() == 1u);
    const auto accepted = call(w.port(), api_base + "/code", object_text(good), "Bearer " + token);
    BOOST_TEST(accepted.status == 200, accepted.raw.body);
    BOOST_TEST(accepted.text("state") == "authenticated");

    // The "code" member given twice, with a new login and code.
    const auto again = call(w.port(), api_base + "/login", object_text(string_members({{"selfcare_id", taro.id}, {"password", password}})), "");
    BOOST_TEST_REQUIRE(again.status == 200, again.raw.body);
    const auto new_code = w.next_code(taro.email).code;
    settle(data);
    check_json_rows(w, data, api_base + "/code", again.text("token"),
                    repeated_member_rows(string_members({{"code", new_code}}), "code", quoted(other_code(new_code))));
}

BOOST_AUTO_TEST_CASE(bad_api_address_input_gets_a_clear_4xx) {
    world w;
    const data_folder data(w.data_dir());
    const auto login = call(w.port(), api_base + "/login", object_text(string_members({{"selfcare_id", jiro.id}, {"password", password}})), "");
    BOOST_TEST_REQUIRE(login.status == 200, login.raw.body);
    BOOST_TEST_REQUIRE(login.text("state") == "address_required");
    const auto token = login.text("token");
    settle(data);

    const std::string new_address = "jiro@example.jp";
    const auto good = string_members({{"email", new_address}, {"phone", jiro.phone}});
    auto with = [&](const std::string& email, const std::string& phone) { return string_members({{"email", email}, {"phone", phone}}); };
    auto with_email = [&](const std::string& email) { return with(email, jiro.phone); };
    auto with_phone = [&](const std::string& phone) { return with(new_address, phone); };
    const std::vector<json_row> address_rows{
        refused_json("empty strings", with("", ""), 400, "bad_email"),
        refused_json("empty address", with_email(""), 400, "bad_email"),
        refused_json("empty phone", with_phone(""), 400, "bad_phone"),
        refused_json("empty object", {}, 400, "bad_request"),
        refused_json("phone as a JSON number", {good[0], {"phone", jiro.phone.substr(1)}}, 400, "bad_request"),
        refused_json("address without @", with_email("jiro.example.jp"), 400, "bad_email"),
        refused_json("address with two @", with_email("jiro@@example.jp"), 400, "bad_email"),
        refused_json("address with a space inside", with_email("jiro @example.jp"), 400, "bad_email"),
        refused_json("address with a trailing space", with_email(new_address + " "), 400, "bad_email"),
        refused_json("address of 255 bytes", with_email(address_of_length(255)), 400, "bad_email"),
        refused_json("address of 2000 bytes", with_email(address_of_length(2000)), 400, "bad_email"),
        refused_json("address with non-ASCII letters", with_email("じろう@example.jp"), 400, "bad_email"),
        refused_json("address with an escaped NUL", {{"email", "\"jiro\\u0000@example.jp\""}, good[1]}, 400, "bad_email"),
        refused_json("address without a dot in the domain", with_email("jiro@localhost"), 400, "bad_email"),
        refused_json("phone with letters", with_phone("090-ABCD-4321"), 400, "bad_phone"),
        refused_json("phone of 9 digits", with_phone(jiro.phone.substr(0, 9)), 400, "bad_phone"),
        refused_json("phone of 12 digits", with_phone(jiro.phone + "0"), 400, "bad_phone"),
        refused_json("phone of 2000 digits", with_phone(std::string(2000, '9')), 400, "bad_phone"),
        refused_json("phone in +81 form", with_phone("+81 90 8765 4321"), 400, "bad_phone"),
        refused_json("phone with an escaped NUL", {good[0], {"phone", quoted(jiro.phone).insert(1, "\\u0000")}}, 400, "bad_phone"),
    };
    check_json_rows(w, data, api_base + "/address", token, concat_json(address_rows, malformed_json_rows(good)));

    // No strike was counted and no mail went out; the right number still registers the address.
    const auto account = data.account(jiro.portal, jiro.id);
    BOOST_TEST_REQUIRE(account.has_value());
    BOOST_TEST(account->phone_strikes == 0u);
    BOOST_TEST(!account->address_form_locked);
    BOOST_TEST(w.mails_received() == 0u);
    const auto accepted = call(w.port(), api_base + "/address", object_text(good), "Bearer " + token);
    BOOST_TEST_REQUIRE(accepted.status == 200, accepted.raw.body);
    BOOST_TEST(accepted.text("state") == "code_pending");
    BOOST_TEST(w.next_code(new_address).code.size() == 6u);

    // A member given twice, with a new login (the address is not registered until its code is in).
    const auto again = call(w.port(), api_base + "/login", object_text(string_members({{"selfcare_id", jiro.id}, {"password", password}})), "");
    BOOST_TEST_REQUIRE(again.status == 200, again.raw.body);
    BOOST_TEST_REQUIRE(again.text("state") == "address_required");
    settle(data);
    check_json_rows(w, data, api_base + "/address", again.text("token"), repeated_member_rows(good, "phone", quoted("09000000000")));
}
