#pragma once
// The steps a customer's browser takes through one portal's pages, for the integration tests:
// open the login page, post the password, read the code page, post the code from the mail.
// Built on the cookie-keeping test browser (or any client with its get, post_form and cookie,
// such as tls_client.hpp's); each step checks the answer it must get and stops the test case
// when it does not.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>

#include "nidan_test/browser.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/login_world.hpp"
#include "core/web/cookie_names.hpp"

namespace nidan_test {

struct portal_account {
    std::string portal;
    std::string login_path;
    std::string id;
    std::string email;
    std::string phone;
    std::string masked_phone;
    bool menu;  // home is 設定内容選択 rather than the account page
    std::string code_path() const { return "/portal/" + portal + "/code"; }
    std::string home_path() const { return "/portal/" + portal + "/home"; }
    std::string logout_path() const { return "/portal/" + portal + "/logout"; }
    std::string verify_path() const { return "/auth/verify/" + portal; }
    world_account for_world() const { return {portal, id, email, phone}; }
};

inline const std::string code_heading = "<h1>" + catalog_text("ja", "code.title") + "</h1>";

inline bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The text of the page's alert paragraph; "" when it has none.
inline std::string alert_of(const std::string& html) {
    const std::string open = "<p class=\"alert\" role=\"alert\">";
    const auto at = html.find(open);
    if (at == std::string::npos) return {};
    const auto end = html.find("</p>", at);
    return html_unescape(html.substr(at + open.size(), end - at - open.size()));
}

// The client's nidan cookie `name`: under the __Host- prefix when it holds it so (the server
// uses the prefix with tls.enabled or server.behind_tls), else under the bare name.
template <class Browser>
std::optional<std::string> nidan_cookie(const Browser& b, const std::string& name) {
    if (auto secure = b.cookie("__Host-" + name)) return secure;
    return b.cookie(name);
}

// GETs the login page and returns its csrf field, checked against the nidan_login cookie.
template <class Browser>
std::string open_login(Browser& b, const portal_account& a) {
    const auto page = b.get(a.login_path);
    BOOST_TEST_REQUIRE(page.status == 200);
    const auto csrf = input_value(page.body, "csrf");
    BOOST_TEST_REQUIRE(csrf.has_value());
    BOOST_TEST_REQUIRE(!csrf->empty());
    BOOST_TEST(nidan_cookie(b, nidan::cookie_names::login_form).value_or("") == *csrf);
    return *csrf;
}

template <class Browser>
http_reply submit_login(Browser& b, const portal_account& a, const std::string& csrf, const std::string& id,
                        const std::string& pw, const header_list& extra = {}) {
    return b.post_form(a.login_path, {{"csrf", csrf}, {"selfcare_id", id}, {"password", pw}}, extra);
}

// Step 1 done: the browser holds a code-pending session. Returns that session cookie.
template <class Browser>
std::string log_in_to_code(Browser& b, const portal_account& a, const std::string& pw = account_password) {
    const auto csrf = open_login(b, a);
    const auto reply = submit_login(b, a, csrf, a.id, pw);
    BOOST_TEST_REQUIRE(reply.status == 303, "login POST: " << reply.status << "\n" << reply.body);
    BOOST_TEST_REQUIRE(reply.header("location") == a.code_path());
    const auto session = nidan_cookie(b, nidan::cookie_names::session);
    BOOST_TEST_REQUIRE(session.has_value());
    return *session;
}

// The csrf field of the code page (GET), which must be the code page.
template <class Browser>
std::string code_csrf(Browser& b, const portal_account& a) {
    const auto page = b.get(a.code_path());
    BOOST_TEST_REQUIRE(page.status == 200, "code page: " << page.status << " " << page.header("location"));
    BOOST_TEST_REQUIRE(page.body.find(code_heading) != std::string::npos);
    const auto csrf = input_value(page.body, "csrf");
    BOOST_TEST_REQUIRE(csrf.has_value());
    return *csrf;
}

template <class Browser>
http_reply submit_code(Browser& b, const portal_account& a, const std::string& csrf, const std::string& code) {
    return b.post_form(a.code_path(), {{"csrf", csrf}, {"code", code}});
}

// Both steps: the browser ends up logged in (and holds the device cookie). Returns the
// authenticated session cookie.
template <class Browser>
std::string log_in(login_world& w, Browser& b, const portal_account& a, const std::string& pw = account_password) {
    log_in_to_code(b, a, pw);
    const auto csrf = code_csrf(b, a);
    const auto mail = w.next_code(a.email);
    const auto reply = submit_code(b, a, csrf, mail.code);
    BOOST_TEST_REQUIRE(reply.status == 303, "code POST: " << reply.status << "\n" << reply.body);
    BOOST_TEST_REQUIRE(reply.header("location") == a.home_path());
    return nidan_cookie(b, nidan::cookie_names::session).value_or("");
}

// GET path with exactly this session cookie ("" for none), from a browser of its own.
inline http_reply get_with_session(unsigned short port, const std::string& path, const std::string& session) {
    browser b(port);
    if (!session.empty()) b.set_cookie(nidan::cookie_names::session, session);
    return b.get(path);
}

}  // namespace nidan_test
