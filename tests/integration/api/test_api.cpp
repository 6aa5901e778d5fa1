// The JSON API of the two-step login (/api/v1/<portal>/...) against the real `nidan serve`: the
// whole flow with the code read from the mail the aiosmtpd capture relay received, the refusals
// (wrong password, wrong and dead codes, wrong phone numbers), malformed requests that must
// store nothing, and tokens that belong to another portal. Accounts are made with
// `nidan user add`; every test has its own data folder, relay and server.
#define BOOST_TEST_MODULE api
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string& password = account_password;

const world_account taro{"ip-phone", "taro", "taro@example.jp", "09012345678"};
const world_account mc050_taro{"mc050", "taro", "tanaka@example.jp", "05011112222"};
const world_account jiro{"ip-phone", "jiro", "", "09087654321"};  // no address yet

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

class world : public login_world {
public:
    explicit world(const std::vector<std::string>& overrides = {}) : login_world({taro, mc050_taro, jiro}, overrides) {}
};

std::string api(const world_account& a, const std::string& step) { return "/api/v1/" + a.portal + "/" + step; }

std::string address_body(const std::string& email, const std::string& phone) {
    json::object o;
    o["email"] = email;
    o["phone"] = phone;
    return json::serialize(o);
}

// Step 1 for `a`: returns the code_pending token.
std::string log_in_to_code(world& w, const world_account& a) {
    const auto reply = call(w.port(), "POST", api(a, "login"), login_body(a.id, password));
    BOOST_TEST_REQUIRE(reply.status == 200, "login: " << reply.status << " " << reply.raw.body);
    BOOST_TEST_REQUIRE(!reply.text("token").empty());
    return reply.text("token");
}

std::string other_code(const std::string& code, int shift) {
    std::string out;
    for (const char c : code) out += static_cast<char>('0' + (c - '0' + shift) % 10);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(full_flow_over_json) {
    world w;
    const auto login = call(w.port(), "POST", api(taro, "login"), login_body(taro.id, password));
    BOOST_TEST_REQUIRE(login.status == 200, login.raw.body);
    BOOST_TEST(login.text("state") == "code_pending");
    BOOST_TEST(login.text("code_sent_to") == "t***@example.jp");
    BOOST_TEST(login.raw.header("content-type") == "application/json");
    BOOST_TEST(login.raw.header("cache-control") == "no-store");
    BOOST_TEST(login.raw.header("x-content-type-options") == "nosniff");
    BOOST_TEST(login.raw.header("set-cookie").empty());
    const auto pending = login.text("token");
    BOOST_TEST_REQUIRE(!pending.empty());

    const auto half = call(w.port(), "GET", api(taro, "session"), "", pending);
    BOOST_TEST(half.status == 200);
    BOOST_TEST(half.text("state") == "code_pending");

    const auto code = w.next_code(taro.email).code;
    const auto verified = call(w.port(), "POST", api(taro, "code"), code_body(code), pending);
    BOOST_TEST_REQUIRE(verified.status == 200, verified.raw.body);
    BOOST_TEST(verified.text("state") == "authenticated");
    const auto token = verified.text("token");
    BOOST_TEST_REQUIRE(!token.empty());
    BOOST_TEST(token != pending);

    // The code_pending token died at the change of privilege.
    BOOST_TEST(call(w.port(), "GET", api(taro, "session"), "", pending).status == 401);

    const auto session = call(w.port(), "GET", api(taro, "session"), "", token);
    BOOST_TEST_REQUIRE(session.status == 200, session.raw.body);
    BOOST_TEST(session.text("portal") == "ip-phone");
    BOOST_TEST(session.text("selfcare_id") == "taro");
    BOOST_TEST(session.text("state") == "authenticated");

    const auto out = call(w.port(), "POST", api(taro, "logout"), "", token, "");
    BOOST_TEST(out.status == 204);
    BOOST_TEST(out.raw.body.empty());
    const auto after = call(w.port(), "GET", api(taro, "session"), "", token);
    BOOST_TEST(after.status == 401);
    BOOST_TEST(after.error() == "unauthenticated");
    BOOST_TEST(!after.text("message").empty());
    BOOST_TEST(call(w.port(), "POST", api(taro, "logout"), "", token, "").status == 401);
}

BOOST_AUTO_TEST_CASE(wrong_password_looks_like_unknown_id) {
    world w;
    const auto wrong = call(w.port(), "POST", api(taro, "login"), login_body(taro.id, "not the password"));
    const auto unknown = call(w.port(), "POST", api(taro, "login"), login_body("nobody", password));
    BOOST_TEST(wrong.status == 401);
    BOOST_TEST(unknown.status == 401);
    BOOST_TEST(wrong.error() == "invalid_credentials");
    BOOST_TEST(unknown.error() == "invalid_credentials");
    BOOST_TEST(wrong.raw.body == unknown.raw.body);
    BOOST_TEST(wrong.text("token").empty());
    // The same counters as the HTML form.
    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=login.failed portal=ip-phone id=taro"), log);
    // An ID that names no account is not logged as typed (it may be a password in the wrong box).
    BOOST_TEST(contains(log, "event=login.failed portal=ip-phone id=(unknown) id_tag="), log);
    BOOST_TEST(!contains(log, "id=nobody"), log);
}

BOOST_AUTO_TEST_CASE(wrong_codes_count_down_then_the_code_dies) {
    world w;
    const auto token = log_in_to_code(w, taro);
    const auto code = w.next_code(taro.email).code;
    for (int left = 4; left >= 1; --left) {
        const auto reply = call(w.port(), "POST", api(taro, "code"), code_body(other_code(code, 5 - left)), token);
        BOOST_TEST(reply.status == 401);
        BOOST_TEST(reply.error() == "wrong_code");
        BOOST_TEST(reply.number("attempts_left") == left);
    }
    const auto dead = call(w.port(), "POST", api(taro, "code"), code_body(other_code(code, 5)), token);
    BOOST_TEST(dead.status == 401);
    BOOST_TEST(dead.error() == "code_dead");
    // The half-way session went with the code; even the right code is no use now.
    BOOST_TEST(call(w.port(), "GET", api(taro, "session"), "", token).status == 401);
    BOOST_TEST(call(w.port(), "POST", api(taro, "code"), code_body(code), token).error() == "unauthenticated");

    // A new login gives a new code; the old one is dead.
    const auto again = log_in_to_code(w, taro);
    const auto fresh = w.next_code(taro.email).code;
    const auto stale = call(w.port(), "POST", api(taro, "code"), code_body(fresh == code ? other_code(code, 1) : code), again);
    BOOST_TEST(stale.error() == "wrong_code");
    BOOST_TEST(call(w.port(), "POST", api(taro, "code"), code_body(fresh), again).status == 200);
}

BOOST_AUTO_TEST_CASE(address_flow_with_wrong_and_right_phone) {
    world w;
    const auto login = call(w.port(), "POST", api(jiro, "login"), login_body(jiro.id, password));
    BOOST_TEST_REQUIRE(login.status == 200, login.raw.body);
    BOOST_TEST(login.text("state") == "address_required");
    const auto token = login.text("token");

    const auto bad_email = call(w.port(), "POST", api(jiro, "address"), address_body("not-an-address", jiro.phone), token);
    BOOST_TEST(bad_email.status == 400);
    BOOST_TEST(bad_email.error() == "bad_email");
    const auto bad_phone = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", "phone"), token);
    BOOST_TEST(bad_phone.status == 400);
    BOOST_TEST(bad_phone.error() == "bad_phone");

    const auto wrong = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", "09000000000"), token);
    BOOST_TEST(wrong.status == 401);
    BOOST_TEST(wrong.error() == "wrong_phone");
    BOOST_TEST(wrong.number("strikes") == 1);

    const auto right = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", jiro.phone), token);
    BOOST_TEST_REQUIRE(right.status == 200, right.raw.body);
    BOOST_TEST(right.text("state") == "code_pending");
    BOOST_TEST(right.text("code_sent_to") == "j***@example.jp");

    const auto code = w.next_code("jiro@example.jp").code;
    const auto verified = call(w.port(), "POST", api(jiro, "code"), code_body(code), token);
    BOOST_TEST_REQUIRE(verified.status == 200, verified.raw.body);
    const auto session = call(w.port(), "GET", api(jiro, "session"), "", verified.text("token"));
    BOOST_TEST(session.text("state") == "authenticated");

    // The address is registered now: the next login sends the code there.
    const auto next = call(w.port(), "POST", api(jiro, "login"), login_body(jiro.id, password));
    BOOST_TEST(next.text("state") == "code_pending");
    BOOST_TEST(next.text("code_sent_to") == "j***@example.jp");
}

BOOST_AUTO_TEST_CASE(address_form_locks_after_three_wrong_phones) {
    world w;
    const auto token = call(w.port(), "POST", api(jiro, "login"), login_body(jiro.id, password)).text("token");
    BOOST_TEST_REQUIRE(!token.empty());
    for (int strike = 1; strike <= 2; ++strike) {
        const auto wrong = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", "09000000000"), token);
        BOOST_TEST(wrong.error() == "wrong_phone");
        BOOST_TEST(wrong.number("strikes") == strike);
    }
    const auto third = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", "09000000000"), token);
    BOOST_TEST(third.status == 403);
    BOOST_TEST(third.error() == "address_form_locked");
    const auto right = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", jiro.phone), token);
    BOOST_TEST(right.status == 403);
    BOOST_TEST(right.error() == "address_form_locked");
    BOOST_TEST(w.mails_received() == 0u);

    // Support unlocks it (while the server runs); the right number then works.
    const auto unlocked = run_nidan({"user", "unlock", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                     "storage.data_dir=" + w.data_dir(), "--portal", jiro.portal, "--id", jiro.id});
    BOOST_TEST_REQUIRE(unlocked.exit_code == 0, unlocked.err);
    const auto after = call(w.port(), "POST", api(jiro, "address"), address_body("jiro@example.jp", jiro.phone), token);
    BOOST_TEST(after.status == 200, after.raw.body);
    BOOST_TEST(w.next_code("jiro@example.jp").code.size() == 6u);
}

BOOST_AUTO_TEST_CASE(malformed_requests_store_nothing) {
    world w;
    const auto port = w.port();
    struct bad_case {
        std::string body;
        std::string content_type;
        int status;
        std::string error;
    };
    const std::vector<bad_case> cases{
        {"{\"selfcare_id\": \"taro\", \"password\": ", "application/json", 400, "bad_request"},
        {"not json at all", "application/json", 400, "bad_request"},
        {"[\"taro\", \"x\"]", "application/json", 400, "bad_request"},
        {"{\"selfcare_id\": \"taro\"}", "application/json", 400, "bad_request"},
        {"{\"selfcare_id\": 42, \"password\": \"x\"}", "application/json", 400, "bad_request"},
        {"{\"selfcare_id\": \"taro\", \"password\": [\"x\"]}", "application/json", 400, "bad_request"},
        {"{\"selfcare_id\": \"taro\", \"password\": \"\xff\xfe\"}", "application/json", 400, "bad_request"},
        {"{\"selfcare_id\": \"taro\", \"password\": \"x\"}", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
        {"{\"selfcare_id\": \"taro\", \"password\": \"x\"}", "", 415, "unsupported_media_type"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT("body " << c.body << " type " << c.content_type) {
            const auto reply = call(port, "POST", api(taro, "login"), c.body, "", c.content_type);
            BOOST_TEST(reply.status == c.status);
            BOOST_TEST(reply.error() == c.error);
            BOOST_TEST(!reply.text("message").empty());
            BOOST_TEST(reply.raw.header("cache-control") == "no-store");
        }
    }
    // "application/json; charset=utf-8" is JSON too.
    const auto token = [&] {
        const auto reply = call(port, "POST", api(taro, "login"), login_body(taro.id, password), "",
                                "application/json; charset=utf-8");
        BOOST_TEST_REQUIRE(reply.status == 200, reply.raw.body);
        return reply.text("token");
    }();
    const auto code = w.next_code(taro.email).code;

    // Without a bearer token, with a made-up one, or with another scheme: 401 before anything.
    for (const auto& t : std::vector<std::string>{"", "not-a-session"}) {
        const auto reply = call(port, "POST", api(taro, "code"), code_body(code), t);
        BOOST_TEST(reply.status == 401);
        BOOST_TEST(reply.error() == "unauthenticated");
        BOOST_TEST(contains(reply.raw.header("www-authenticate"), "Bearer"));
    }
    const auto basic = request(port, "GET " + api(taro, "session") + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                     "Authorization: Basic " + token + "\r\n\r\n");
    BOOST_TEST_REQUIRE(basic.has_value());
    BOOST_TEST(basic->status == 401);

    // Malformed code requests consume no attempt.
    const std::vector<bad_case> code_cases{
        {"{\"code\": 123456}", "application/json", 400, "bad_request"},
        {"{\"code\": ", "application/json", 400, "bad_request"},
        {"{}", "application/json", 400, "bad_request"},
        {"{\"code\": \"12ab56\"}", "application/json", 400, "bad_code_format"},
        {"{\"code\": \"123\"}", "application/json", 400, "bad_code_format"},
        {"code=123456", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
    };
    for (const auto& c : code_cases) {
        BOOST_TEST_CONTEXT("code body " << c.body << " type " << c.content_type) {
            const auto reply = call(port, "POST", api(taro, "code"), c.body, token, c.content_type);
            BOOST_TEST(reply.status == c.status);
            BOOST_TEST(reply.error() == c.error);
        }
    }
    const auto wrong = call(port, "POST", api(taro, "code"), code_body(other_code(code, 1)), token);
    BOOST_TEST(wrong.error() == "wrong_code");
    BOOST_TEST(wrong.number("attempts_left") == 4);

    // No password failure was counted for any of the malformed logins, and only one mail went out.
    const auto log = w.server().log_text();
    BOOST_TEST(!contains(log, "event=login.failed"), log);
    std::this_thread::sleep_for(300ms);
    BOOST_TEST(w.mails_received() == 1u);

    BOOST_TEST(call(port, "POST", api(taro, "code"), code_body(code), token).status == 200);
}

BOOST_AUTO_TEST_CASE(a_token_of_one_portal_is_refused_by_another) {
    world w;
    const auto pending = log_in_to_code(w, taro);
    const auto code = w.next_code(taro.email).code;
    // The same self-care ID exists in mc050, as another customer.
    const auto cross_code = call(w.port(), "POST", api(mc050_taro, "code"), code_body(code), pending);
    BOOST_TEST(cross_code.status == 401);
    BOOST_TEST(cross_code.error() == "unauthenticated");

    const auto verified = call(w.port(), "POST", api(taro, "code"), code_body(code), pending);
    BOOST_TEST_REQUIRE(verified.status == 200, verified.raw.body);
    const auto token = verified.text("token");
    BOOST_TEST(call(w.port(), "GET", api(mc050_taro, "session"), "", token).status == 401);
    BOOST_TEST(call(w.port(), "POST", api(mc050_taro, "logout"), "", token, "").status == 401);
    // Still valid where it belongs.
    BOOST_TEST(call(w.port(), "GET", api(taro, "session"), "", token).status == 200);
    // Nor is it a browser session cookie.
    const auto verify = request(w.port(), "GET /auth/verify/ip-phone HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                          "Authorization: Bearer " + token + "\r\n\r\n");
    BOOST_TEST_REQUIRE(verify.has_value());
    BOOST_TEST(verify->status == 401);
}

BOOST_AUTO_TEST_CASE(an_account_support_locked_answers_account_locked_only_to_the_right_password) {
    world w;
    const std::vector<std::string> where{"--config", source_dir() + "/conf/nidan.toml", "--set",
                                         "storage.data_dir=" + w.data_dir(), "--portal", taro.portal, "--id", taro.id};
    auto lock = std::vector<std::string>{"user", "lock"};
    lock.insert(lock.end(), where.begin(), where.end());
    const auto locked = run_nidan(lock);
    BOOST_TEST_REQUIRE(locked.exit_code == 0, locked.err);

    const auto wrong = call(w.port(), "POST", api(taro, "login"), login_body(taro.id, password + "x"));
    BOOST_TEST(wrong.status == 401);
    BOOST_TEST(wrong.error() == "invalid_credentials");
    const auto right = call(w.port(), "POST", api(taro, "login"), login_body(taro.id, password));
    BOOST_TEST(right.status == 403);
    BOOST_TEST(right.error() == "account_locked");
    BOOST_TEST(right.text("token").empty());
    BOOST_TEST(w.no_mail_for(300ms));

    auto unlock = std::vector<std::string>{"user", "unlock"};
    unlock.insert(unlock.end(), where.begin(), where.end());
    BOOST_TEST_REQUIRE(run_nidan(unlock).exit_code == 0);
    const auto after = call(w.port(), "POST", api(taro, "login"), login_body(taro.id, password));
    BOOST_TEST(after.status == 200, after.raw.body);
    BOOST_TEST(w.next_code(taro.email).code.size() == 6u);
}

BOOST_AUTO_TEST_CASE(a_device_token_spares_its_client_the_delays_strangers_caused) {
    world w({"throttle.address_free_failures=100"});  // only the account's delay is in play
    const auto port = w.port();
    const auto first = call(port, "POST", api(taro, "login"), login_body(taro.id, password));
    BOOST_TEST_REQUIRE(first.status == 200, first.raw.body);
    const auto verified = call(port, "POST", api(taro, "code"), code_body(w.next_code(taro.email).code), first.text("token"));
    BOOST_TEST_REQUIRE(verified.status == 200, verified.raw.body);
    const auto device = verified.text("device_token");
    BOOST_TEST_REQUIRE(!device.empty());

    // Six wrong passwords: past the account's five free failures. A
    // right password then waits without the token and not with it (each success clears the
    // account's count, so the failures are made again before the second login).
    const auto six_failures = [&] {
        for (int i = 0; i < 6; ++i)
            BOOST_TEST(call(port, "POST", api(taro, "login"), login_body(taro.id, password + "x")).status == 401);
    };
    six_failures();
    BOOST_TEST(call(port, "POST", api(taro, "login"), login_body(taro.id, password)).status == 200);
    six_failures();
    json::object with_device;
    with_device["selfcare_id"] = taro.id;
    with_device["password"] = password;
    with_device["device_token"] = device;
    BOOST_TEST(call(port, "POST", api(taro, "login"), json::serialize(with_device)).status == 200);
    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "known_device=true delay_ms=0"), log);
    BOOST_TEST(contains(log, "known_device=false delay_ms=1000"), log);

    // A device token that is not a string is a malformed request, not a missing token.
    with_device["device_token"] = 42;
    BOOST_TEST(call(port, "POST", api(taro, "login"), json::serialize(with_device)).error() == "bad_request");
}

BOOST_AUTO_TEST_CASE(a_burst_of_parallel_guesses_gets_no_more_than_the_free_failures_checked) {
    // Every delay 5 s (base and cap): the whole burst arrives while one request waits it out, and
    // whichever request wins the wait (each counts the others as failures to come, so a later one
    // would have a longer delay) is answered well within the client's 10 s.
    world w({"throttle.account_base_delay_ms=5000", "throttle.account_max_delay_ms=5000"});
    const auto port = w.port();
    constexpr int burst = 12;
    std::vector<api_reply> replies(burst);
    std::vector<std::thread> threads;
    for (int i = 0; i < burst; ++i)
        threads.emplace_back([&, i] {
            replies[i] = call(port, "POST", api(taro, "login"), login_body(taro.id, password + std::to_string(i)));
        });
    for (auto& t : threads) t.join();
    int checked = 0, refused = 0;
    for (const auto& r : replies) {
        if (r.status == 401) ++checked;
        if (r.status == 429) {
            ++refused;
            BOOST_TEST(r.error() == "too_many_attempts");
            BOOST_TEST(std::stoi(r.raw.header("retry-after")) >= 1);
            BOOST_TEST(std::stoi(r.raw.header("retry-after")) <= 60);
        }
    }
    // The account's 5 free failures, one more, and one that waits its delay: the rest are refused
    // unchecked, however the requests interleave.
    BOOST_TEST(checked + refused == burst);
    BOOST_TEST(checked <= 7);
    BOOST_TEST(refused >= burst - 7);
    const auto log = w.server().log_text();
    BOOST_TEST(count_of(log, "event=login.failed") == static_cast<std::size_t>(checked), log);

    // /metrics counts the outcomes, so an operator sees the attack as it happens.
    const auto metrics = get(port, "/metrics");
    BOOST_TEST_REQUIRE(metrics.has_value());
    BOOST_TEST(metric_value(metrics->body, "nidan_login_password_total{result=\"invalid_credentials\"}") == checked);
    BOOST_TEST(metric_value(metrics->body, "nidan_login_password_total{result=\"busy\"}") == refused);
    BOOST_TEST(metric_value(metrics->body, "nidan_login_password_total{result=\"code_sent\"}") == 0);
    BOOST_TEST(metric_value(metrics->body, "nidan_login_code_total{result=\"accepted\"}") == 0);
    BOOST_TEST(metric_value(metrics->body, "nidan_login_checks_in_flight") == 0);
    BOOST_TEST(metric_value(metrics->body, "nidan_login_delayed_waiting") == 0);
}
