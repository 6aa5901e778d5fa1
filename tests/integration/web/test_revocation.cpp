// What support or the customer revokes stops working at once, against the real `nidan serve`:
// after `nidan user lock`, `passwd`, `delete` (and a new account of the same ID), `logout`, and the
// account page's password change, the sessions (a browser's cookie, an API token), the pending
// code and the device tokens issued before are refused by /auth/verify, the pages, the API and
// the code step. Each case first shows the credential working, then runs the revocation as an
// operator would (the CLI beside the running server) and replays the attack.
#define BOOST_TEST_MODULE revocation
#include <boost/test/unit_test.hpp>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "portal_client.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;

namespace {

const portal_account taro{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp", "09012345678",
                          "*******5678", false};

std::string api(const std::string& step) { return "/api/v1/" + taro.portal + "/" + step; }

class world : public login_world {
public:
    explicit world(const std::vector<std::string>& overrides = {}) : login_world({taro.for_world()}, overrides) {}

    std::vector<std::string> key() const { return {"--portal", taro.portal, "--id", taro.id}; }
    command_result operator_runs(const std::string& command, const std::string& stdin_text = "") {
        auto args = key();
        args.insert(args.begin(), command);
        if (!stdin_text.empty()) args.push_back("--password-stdin");
        return user(args, stdin_text);
    }
};

// Everything a customer (or a thief of the customer's browser) may hold for the account.
struct credentials {
    std::string cookie_session;   // an authenticated browser session
    std::string device_cookie;    // that browser's device cookie
    std::string api_token;        // an authenticated API session
    std::string api_device;       // the API's device token
    std::string pending_session;  // a second browser half-way, waiting for its code
    std::string pending_csrf;     // ... the code form's token it read
    std::string pending_code;     // ... and the code mailed to it
};

struct api_login {
    std::string token;
    std::string device;
};

api_login log_in_over_api(world& w, const std::string& pw = account_password) {
    const auto first = call(w.port(), "POST", api("login"), login_body(taro.id, pw));
    BOOST_TEST_REQUIRE(first.status == 200, first.raw.body);
    const auto code = w.next_code(taro.email).code;
    const auto second = call(w.port(), "POST", api("code"), code_body(code), first.text("token"));
    BOOST_TEST_REQUIRE(second.status == 200, second.raw.body);
    return {second.text("token"), second.text("device_token")};
}

credentials collect(world& w) {
    credentials c;
    browser b(w.port());
    c.cookie_session = log_in(w, b, taro);
    c.device_cookie = b.cookie(nidan::cookie_names::device).value_or("");
    BOOST_TEST_REQUIRE(!c.device_cookie.empty());
    const auto api_side = log_in_over_api(w);
    c.api_token = api_side.token;
    c.api_device = api_side.device;
    BOOST_TEST_REQUIRE(!c.api_device.empty());
    browser half(w.port());
    c.pending_session = log_in_to_code(half, taro);
    c.pending_csrf = code_csrf(half, taro);
    c.pending_code = w.next_code(taro.email).code;
    // All of it works before the revocation.
    BOOST_TEST_REQUIRE(get_with_session(w.port(), taro.verify_path(), c.cookie_session).status == 200);
    BOOST_TEST_REQUIRE(call(w.port(), "GET", api("session"), "", c.api_token).status == 200);
    return c;
}

// The code of the half-way browser, entered after the revocation with the form it had read.
http_reply redeem_pending(world& w, const credentials& c) {
    browser b(w.port());
    b.set_cookie(nidan::cookie_names::session, c.pending_session);
    return b.post_form(taro.code_path(), {{"csrf", c.pending_csrf}, {"code", c.pending_code}});
}

// Every session-bearing credential is refused now.
void check_sessions_refused(world& w, const credentials& c) {
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), c.cookie_session).status == 401);
    const auto home = get_with_session(w.port(), taro.home_path(), c.cookie_session);
    BOOST_TEST(home.status == 303);
    BOOST_TEST(home.header("location") == taro.login_path);
    const auto api_session = call(w.port(), "GET", api("session"), "", c.api_token);
    BOOST_TEST(api_session.status == 401);
    BOOST_TEST(api_session.error() == "unauthenticated");
    const auto redeemed = redeem_pending(w, c);
    BOOST_TEST(redeemed.header("location") != taro.home_path(), "a revoked pending code logged in");
    if (const auto issued = set_cookie_named(redeemed, nidan::cookie_names::session))
        BOOST_TEST(get_with_session(w.port(), taro.verify_path(), issued->value).status == 401);
}

// A browser presenting the device cookie (and the right password) tries to log in again.
http_reply log_in_with_device(world& w, const std::string& device_cookie, const std::string& pw = account_password) {
    browser b(w.port());
    b.set_cookie(nidan::cookie_names::device, device_cookie);
    const auto csrf = open_login(b, taro);
    return submit_login(b, taro, csrf, taro.id, pw);
}

}  // namespace

BOOST_AUTO_TEST_CASE(support_lock_ends_every_session_code_and_device_token) {
    world w;
    const auto c = collect(w);
    const auto locked = w.operator_runs("lock");
    BOOST_TEST_REQUIRE(locked.exit_code == 0, locked.err);
    // The browser's and the API's sessions, and the half-way one.
    BOOST_TEST(contains(locked.out, "locked ip-phone/taro; 3 sessions ended"), locked.out);
    const auto mails_before = w.mails_received();
    check_sessions_refused(w, c);

    // The device cookie does not pass support's lock; the page tells the customer to call.
    const auto page = log_in_with_device(w, c.device_cookie);
    BOOST_TEST(page.status == 403);
    BOOST_TEST(contains(page.body, catalog_text("ja", "locked.support_locked")), page.body);
    BOOST_TEST(!contains(page.body, catalog_text("ja", "locked.password_locked")));
    const auto over_api = call(w.port(), "POST", api("login"), login_body(taro.id, account_password, c.api_device));
    BOOST_TEST(over_api.status == 403);
    BOOST_TEST(over_api.error() == "account_locked");
    std::this_thread::sleep_for(300ms);
    BOOST_TEST(w.mails_received() == mails_before, "a locked account was sent a code");

    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=login.refused_locked portal=ip-phone id=taro"), log);
    BOOST_TEST(contains(log, "lock=operator"), log);

    // Unlocked, the customer logs in again with password and code (the old credentials stay dead).
    BOOST_TEST_REQUIRE(w.operator_runs("unlock").exit_code == 0);
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), c.cookie_session).status == 401);
    browser fresh(w.port());
    const auto session = log_in(w, fresh, taro);
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), session).status == 200);
}

BOOST_AUTO_TEST_CASE(an_operator_password_reset_ends_everything_issued_before) {
    world w;
    const auto c = collect(w);
    const std::string replacement = "Reset by support 2024";
    const auto reset = w.operator_runs("passwd", replacement + "\n");
    BOOST_TEST_REQUIRE(reset.exit_code == 0, reset.err);
    BOOST_TEST(contains(reset.out, "3 sessions ended"), reset.out);
    check_sessions_refused(w, c);
    // The old password is gone, the new one logs in.
    BOOST_TEST(call(w.port(), "POST", api("login"), login_body(taro.id, account_password)).status == 401);
    const auto fresh = log_in_over_api(w, replacement);
    BOOST_TEST(call(w.port(), "GET", api("session"), "", fresh.token).status == 200);
}

BOOST_AUTO_TEST_CASE(a_deleted_account_and_its_successor_inherit_nothing) {
    world w;
    const auto c = collect(w);
    const auto deleted = w.operator_runs("delete");
    BOOST_TEST_REQUIRE(deleted.exit_code == 0, deleted.err);
    check_sessions_refused(w, c);

    // Support gives the ID to another customer: the old sessions still do not authenticate.
    w.add_account({taro.portal, taro.id, "new-owner@example.jp", "0311112222"}, "Another customer's pass");
    check_sessions_refused(w, c);
    BOOST_TEST(get_with_session(w.port(), "/auth/verify/" + taro.portal, c.cookie_session).status == 401);
}

BOOST_AUTO_TEST_CASE(user_sessions_lists_and_user_logout_ends_them_with_the_device_tokens) {
    world w;
    const auto c = collect(w);
    const auto listed = w.operator_runs("sessions");
    BOOST_TEST_REQUIRE(listed.exit_code == 0, listed.err);
    // Two authenticated sessions (browser, API) and the half-way one.
    BOOST_TEST(contains(listed.out, "3 live sessions of ip-phone/taro"), listed.out);
    std::size_t authenticated = 0;
    for (std::size_t at = 0; (at = listed.out.find("\tauthenticated\t", at)) != std::string::npos; ++at) ++authenticated;
    BOOST_TEST(authenticated == 2u);
    BOOST_TEST(contains(listed.out, "\tcode_pending\t"));

    const auto out = w.operator_runs("logout");
    BOOST_TEST_REQUIRE(out.exit_code == 0, out.err);
    BOOST_TEST(contains(out.out, "3 sessions and every device token ended"), out.out);
    check_sessions_refused(w, c);
    BOOST_TEST(contains(w.operator_runs("sessions").out, "0 live sessions of ip-phone/taro"));
    const auto log = w.server().log_text() + out.err;
    BOOST_TEST(contains(log, "event=account.sessions_ended actor=cli portal=ip-phone id=taro sessions_ended=3"), log);

    // Not locked: password and code log in again.
    browser fresh(w.port());
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), log_in(w, fresh, taro)).status == 200);
}

BOOST_AUTO_TEST_CASE(the_web_password_change_ends_the_other_sessions_and_keeps_its_own) {
    world w;
    const auto c = collect(w);
    browser mine(w.port());
    const auto my_session = log_in(w, mine, taro);
    const auto account_page = mine.get(taro.home_path());
    BOOST_TEST_REQUIRE(account_page.status == 200);
    const auto csrf = input_value(account_page.body, "csrf").value_or("");
    const auto changed = mine.post_form("/portal/" + taro.portal + "/password",
                                        {{"csrf", csrf}, {"current_password", account_password},
                                         {"new_password", "A new passphrase 2025"}});
    BOOST_TEST_REQUIRE(changed.status == 200, changed.body);
    BOOST_TEST(contains(changed.body, catalog_text("ja", "account.password_changed")));
    // This browser stays logged in and gets a new device cookie; the others are out.
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), my_session).status == 200);
    const auto new_device = set_cookie_named(changed, nidan::cookie_names::device);
    BOOST_TEST_REQUIRE(new_device.has_value());
    BOOST_TEST(new_device->value != c.device_cookie);
    check_sessions_refused(w, c);
}

BOOST_AUTO_TEST_CASE(a_reset_made_while_a_login_waits_out_its_delay_wins) {
    // Every failure of the account delays the next check by 3 s, so the login below waits.
    world w({"throttle.account_free_failures=0", "throttle.account_base_delay_ms=3000",
             "throttle.account_max_delay_ms=3000", "throttle.address_free_failures=1000"});
    BOOST_TEST_REQUIRE(call(w.port(), "POST", api("login"), login_body(taro.id, "a wrong guess")).status == 401);
    auto waiting = std::async(std::launch::async, [&] {
        return call(w.port(), "POST", api("login"), login_body(taro.id, account_password));
    });
    // The check waits at least 3 s; the reset commits well inside that.
    BOOST_TEST_REQUIRE((waiting.wait_for(500ms) == std::future_status::timeout));
    const std::string replacement = "Reset during the wait";
    BOOST_TEST_REQUIRE(w.operator_runs("passwd", replacement + "\n").exit_code == 0);
    const auto old_login = waiting.get();
    BOOST_TEST(old_login.status == 401, old_login.raw.body);
    BOOST_TEST(old_login.text("token").empty());
    BOOST_TEST(contains(w.server().log_text(), "event=login.refused_stale_password portal=ip-phone id=taro"));
    // The reset password stands (no re-hash of the old one came back).
    const auto fresh = log_in_over_api(w, replacement);
    BOOST_TEST(call(w.port(), "GET", api("session"), "", fresh.token).status == 200);
}

BOOST_AUTO_TEST_CASE(logout_can_forget_the_device_cookie) {
    world w;
    for (const bool forget : {false, true}) {
        BOOST_TEST_CONTEXT("forget_device " << forget) {
            browser b(w.port());
            log_in(w, b, taro);
            BOOST_TEST_REQUIRE(b.cookie(nidan::cookie_names::device).has_value());
            const auto home = b.get(taro.home_path());
            BOOST_TEST(contains(home.body, "name=\"forget_device\""));
            form_fields fields{{"csrf", input_value(home.body, "csrf").value_or("")}};
            if (forget) fields.emplace_back("forget_device", "1");
            const auto out = b.post_form(taro.logout_path(), fields);
            BOOST_TEST(out.status == 303);
            BOOST_TEST(b.cookie(nidan::cookie_names::device).has_value() == !forget);
            const auto log = w.server().log_text();
            BOOST_TEST(contains(log, "event=logout.device_forgotten portal=ip-phone id=taro") == forget, log);
        }
    }
}
