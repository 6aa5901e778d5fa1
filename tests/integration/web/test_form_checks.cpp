// Every POST form of the pages passes one check (server/web/form_checks.cpp): same origin,
// application/x-www-form-urlencoded, the session the form needs, a readable form, its CSRF
// token. For each form, each wrong request here must get its refusal status, leave one audit line
// "form.refused" naming the route and the reason (and never the password), and store nothing.
#define BOOST_TEST_MODULE form_checks
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "log_lines.hpp"
#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "portal_client.hpp"
#include "stored_state.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;

namespace {

const portal_account taro{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp", "09012345678",
                          "*******5678", false};
const std::string base = "/portal/ip-phone";

struct form_case {
    std::string path;
    std::string fields;  // urlencoded, without the csrf field
    std::string csrf;    // the right token for this browser
    int csrf_status;     // what a missing or wrong token gets
};

struct bad_request {
    std::string what;
    int status;
    std::string reason;
};

// POSTs the form in each wrong way and checks status, audit line and stored state.
void check_refusals(login_world& w, browser& b, const form_case& f) {
    data_folder data(w.data_dir());
    BOOST_TEST_REQUIRE(data.outbox_drained(10s), "the outbox does not drain");
    const auto before = data.snapshot();
    const auto good_body = f.fields + "&csrf=" + f.csrf;
    const std::vector<bad_request> cases{
        {"wrong origin", 403, "cross_site"},
        {"wrong content type", 415, "not_a_form"},
        {"missing csrf", f.csrf_status, "csrf"},
        {"wrong csrf", f.csrf_status, "csrf"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(f.path << ": " << c.what) {
            const auto with = std::vector<std::string>{"route=" + f.path + " ", "reason=" + c.reason + " "};
            const auto lines_before = lines_of(w.server().log_text(), "form.refused", with).size();
            http_reply reply;
            if (c.what == "wrong origin")
                reply = b.post(f.path, good_body, "application/x-www-form-urlencoded", {{"Origin", "http://evil.example"}});
            else if (c.what == "wrong content type")
                reply = b.post(f.path, good_body, "text/plain");
            else if (c.what == "missing csrf")
                reply = b.post(f.path, f.fields, "application/x-www-form-urlencoded");
            else
                reply = b.post(f.path, f.fields + "&csrf=not" + f.csrf, "application/x-www-form-urlencoded");
            BOOST_TEST(reply.status == c.status);
            // The audit line is written before the answer; give the log file a moment.
            std::vector<std::string> lines;
            for (int i = 0; i < 50; ++i) {
                lines = lines_of(w.server().log_text(), "form.refused", with);
                if (lines.size() > lines_before) break;
                std::this_thread::sleep_for(20ms);
            }
            BOOST_TEST_REQUIRE(lines.size() == lines_before + 1, w.server().log_text());
            BOOST_TEST(field(lines.back(), "portal") == "ip-phone");
            BOOST_TEST(!field(lines.back(), "client").empty());
            BOOST_TEST(!contains(lines.back(), account_password));
        }
    }
    const auto changes = changes_between(before, data.snapshot());
    BOOST_TEST(changes.empty(), "the stored state changed:" << as_lines(changes));
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_login_and_cancel_forms_refuse_and_audit) {
    login_world w({taro.for_world()});
    browser b(w.port());
    const auto csrf = open_login(b, taro);
    check_refusals(w, b, {taro.login_path, "selfcare_id=taro&password=" + form_encode(account_password), csrf, 403});
    check_refusals(w, b, {base + "/address/cancel", "t=whatever", open_login(b, taro), 403});
}

BOOST_AUTO_TEST_CASE(the_code_and_address_forms_refuse_and_audit) {
    login_world w({taro.for_world()});
    browser b(w.port());
    log_in_to_code(b, taro);
    const auto csrf = code_csrf(b, taro);
    check_refusals(w, b, {base + "/code", "code=123456", csrf, 403});
    check_refusals(w, b, {base + "/address", "email=new%40example.jp&phone=09012345678", csrf, 403});
}

BOOST_AUTO_TEST_CASE(the_account_forms_and_logout_refuse_and_audit) {
    login_world w({taro.for_world()});
    browser b(w.port());
    log_in(w, b, taro);
    const auto home = b.get(taro.home_path());
    BOOST_TEST_REQUIRE(home.status == 200);
    const auto csrf = input_value(home.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());
    const auto pw = form_encode(account_password);
    check_refusals(w, b, {base + "/email", "new_email=new%40example.jp&email_current_password=" + pw, csrf, 403});
    check_refusals(w, b, {base + "/password", "current_password=" + pw + "&new_password=Another+password+2", csrf, 403});
    check_refusals(w, b, {base + "/logout", "forget_device=1", csrf, 403});
    // Still signed in: none of the refused logouts ended the session.
    BOOST_TEST(b.get(taro.home_path()).status == 200);
}
