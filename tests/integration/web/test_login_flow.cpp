// The two-step web login against the real `nidan serve`: a cookie-keeping test browser on
// 127.0.0.1 walks the login page, the code page (the code read from the mail the aiosmtpd capture
// relay received), the home page, /auth/verify and logout, for each of the three portals, and
// the ways it must refuse: wrong passwords, wrong, dead, expired and superseded codes, CSRF,
// malformed forms. Accounts are made with `nidan user add`; every test has its own data folder,
// relay and server, so rate limits and codes of one test never touch another.
#define BOOST_TEST_MODULE login_flow
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nidan_test/browser.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"
#include "portal_client.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string& password = account_password;
// The texts the pages and mails show, from the shipped catalogs (Japanese: the portals' default).
const std::string code_subject =
    catalog_text_with("ja", "mail.code_subject", {{"operator_name", catalog_text("ja", "operator.name")}});

const std::string msg_bad_credentials = catalog_text("ja", "message.bad_credentials");
const std::string msg_form_expired = catalog_text("ja", "message.form_expired");
const std::string msg_bad_form = catalog_text("ja", "message.bad_form");
const std::string msg_wrong_code = catalog_text("ja", "message.wrong_code");
const std::string msg_code_format = catalog_text("ja", "message.code_format");
const std::string msg_code_dead = catalog_text("ja", "message.code_dead");
const std::string msg_expired_template = catalog_text("ja", "message.code_expired");
const std::string msg_expired_prefix = msg_expired_template.substr(0, msg_expired_template.find("{{minutes}}"));
const std::string msg_expired_suffix =
    msg_expired_template.substr(msg_expired_template.find("{{minutes}}") + std::string("{{minutes}}").size());

const std::string login_heading = "<h1>セルフケアログイン</h1>";

// The same self-care ID in two portals: they are different customers.
const portal_account ip_phone{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp",
                              "09012345678", "*******5678", false};
const portal_account mc050{"mc050", "/mfes/users/login", "taro", "tanaka@example.jp",
                           "05011112222", "*******2222", true};
const portal_account freevoice{"freevoice", "/cgi-bin/fb_csc_sc_login.cgi.pl", "fv_hanako", "tomoko@example.jp",
                               "0312345678", "******5678", false};
const std::vector<portal_account> all_portals{ip_phone, mc050, freevoice};

const std::vector<std::string> mc050_menu = [] {
    std::vector<std::string> labels;
    for (const auto* item : {"add-number", "mc050-register", "mc050-cancel", "master-table", "group-limits",
                             "call-blocking", "upload-download"})
        labels.push_back(catalog_text("ja", std::string("portal.mc050.menu.") + item));
    return labels;
}();

// One test's world: data folder, capture relay, accounts of the three portals, the server.
class world : public login_world {
public:
    // These tests ask plain /auth/verify (a session of any portal), which is off by default.
    explicit world(std::vector<std::string> overrides = {})
        : login_world(accounts(), with_verify_any_portal(std::move(overrides))) {}
    static std::vector<std::string> with_verify_any_portal(std::vector<std::string> overrides) {
        overrides.insert(overrides.begin(), "auth.verify_any_portal=true");
        return overrides;
    }

private:
    static std::vector<world_account> accounts() {
        std::vector<world_account> out;
        for (const auto& a : all_portals) out.push_back({a.portal, a.id, a.email, a.phone});
        return out;
    }
};

// /auth/verify with exactly this session cookie ("" for none).
http_reply verify_with(unsigned short port, const std::string& session) {
    browser b(port);
    if (!session.empty()) b.set_cookie(nidan::cookie_names::session, session);
    return b.get("/auth/verify");
}

// A code of the same length that is not `code`, differing in every digit by `shift`.
std::string other_code(const std::string& code, int shift) {
    std::string out;
    for (const char c : code) out += static_cast<char>('0' + (c - '0' + shift) % 10);
    return out;
}

std::string fullwidth(const std::string& digits) {
    std::string out;
    for (const char c : digits) {
        out += "\xEF\xBC";
        out += static_cast<char>(0x90 + (c - '0'));
    }
    return out;
}

bool healthy(unsigned short port) {
    const auto reply = get(port, "/healthz");
    return reply && reply->status == 200;
}

}  // namespace

BOOST_AUTO_TEST_CASE(successful_login_on_every_portal) {
    world w;
    for (const auto& a : all_portals) {
        BOOST_TEST_CONTEXT("portal " << a.portal) {
            browser b(w.port());
            const auto login = b.get(a.login_path);
            BOOST_TEST_REQUIRE(login.status == 200);
            BOOST_TEST(login.header("content-type").starts_with("text/html"));
            for (const std::string label : {"セルフケアID", "セルフケアパスワード", "送信", "リセット", "0120-987-123"})
                BOOST_TEST(contains(login.body, label), "login page lacks " << label);
            BOOST_TEST(contains(login.body, "action=\"" + a.login_path + "\""));
            BOOST_TEST(alert_of(login.body).empty());
            const auto csrf = input_value(login.body, "csrf").value_or("");
            BOOST_TEST_REQUIRE(!csrf.empty());
            const auto login_cookie = set_cookie_named(login, nidan::cookie_names::login_form);
            BOOST_TEST_REQUIRE(login_cookie.has_value());
            BOOST_TEST(login_cookie->value == csrf);
            BOOST_TEST(login_cookie->has("httponly"));

            const auto posted = submit_login(b, a, csrf, a.id, password);
            BOOST_TEST_REQUIRE(posted.status == 303, posted.body);
            BOOST_TEST(posted.header("location") == a.code_path());
            const auto pending_cookie = set_cookie_named(posted, nidan::cookie_names::session);
            BOOST_TEST_REQUIRE(pending_cookie.has_value());
            BOOST_TEST(pending_cookie->value.size() >= 32u);
            BOOST_TEST(pending_cookie->has("httponly"));
            BOOST_TEST(pending_cookie->attribute("samesite") == "Lax");
            BOOST_TEST(pending_cookie->attribute("path") == "/");
            BOOST_TEST(!pending_cookie->has("max-age"));  // a browser-session cookie
            const auto pending = pending_cookie->value;
            // Half-way is not logged in.
            BOOST_TEST(verify_with(w.port(), pending).status == 401);
            BOOST_TEST(b.get(a.home_path()).header("location") == a.login_path);

            const auto code_page = b.get(a.code_path());
            BOOST_TEST_REQUIRE(code_page.status == 200);
            BOOST_TEST(contains(code_page.body, code_heading));
            BOOST_TEST(contains(code_page.body, "t***@example.jp"));
            BOOST_TEST(!contains(code_page.body, a.email));
            BOOST_TEST(contains(code_page.body, "メール件名:" + code_subject));
            BOOST_TEST(contains(code_page.body, "有効期限は20分"));
            const auto code_form_csrf = input_value(code_page.body, "csrf").value_or("");
            BOOST_TEST_REQUIRE(!code_form_csrf.empty());

            const auto mail = w.next_code(a.email);
            BOOST_TEST(mail.mail.subject == code_subject);
            BOOST_TEST(mail.mail.from_address == "no-reply@comm.rakuten.co.jp");
            BOOST_TEST(mail.mail.to_address == a.email);

            const auto accepted = submit_code(b, a, code_form_csrf, mail.code);
            BOOST_TEST_REQUIRE(accepted.status == 303, accepted.body);
            BOOST_TEST(accepted.header("location") == a.home_path());
            const auto session_cookie = set_cookie_named(accepted, nidan::cookie_names::session);
            BOOST_TEST_REQUIRE(session_cookie.has_value());
            BOOST_TEST(session_cookie->has("httponly"));
            BOOST_TEST(session_cookie->attribute("samesite") == "Lax");
            BOOST_TEST(session_cookie->attribute("path") == "/");
            const auto session = session_cookie->value;
            BOOST_TEST(!session.empty());
            BOOST_TEST(session != pending);  // a new id at login (session fixation)

            const auto home = b.get(a.home_path());
            BOOST_TEST_REQUIRE(home.status == 200);
            BOOST_TEST(!input_value(home.body, "csrf").value_or("").empty());
            BOOST_TEST(contains(home.body, "action=\"" + a.logout_path() + "\""));
            if (a.menu) {
                BOOST_TEST(contains(home.body, "設定内容選択"));
                for (const auto& label : mc050_menu) BOOST_TEST(contains(home.body, label), "menu lacks " << label);
            } else {
                BOOST_TEST(contains(home.body, "<dd>" + a.id + "</dd>"));
                BOOST_TEST(contains(home.body, "<dd>" + a.masked_phone + "</dd>"));
                BOOST_TEST(!contains(home.body, a.phone));
                BOOST_TEST(contains(home.body, "t***@example.jp"));
            }

            const auto verified = b.get("/auth/verify");
            BOOST_TEST(verified.status == 200);
            BOOST_TEST(verified.header("x-nidan-portal") == a.portal);
            BOOST_TEST(verified.header("x-nidan-selfcare-id") == a.id);

            // The code-pending id died with the login.
            BOOST_TEST(verify_with(w.port(), pending).status == 401);
            browser stale(w.port());
            stale.set_cookie(nidan::cookie_names::session, pending);
            const auto stale_code = stale.get(a.code_path());
            BOOST_TEST(stale_code.status == 303);
            BOOST_TEST(stale_code.header("location") == a.login_path);
            BOOST_TEST(stale.get(a.home_path()).header("location") == a.login_path);
            // The code is used up: posting it again (with the code form's token, which the login
            // replaced) is refused and changes nothing.
            const auto reused = submit_code(b, a, code_form_csrf, mail.code);
            BOOST_TEST(!set_cookie_named(reused, nidan::cookie_names::session).has_value());
            if (reused.status == 303)
                BOOST_TEST(reused.header("location") == a.login_path);
            else
                BOOST_TEST(reused.status == 403);
            BOOST_TEST(b.get("/auth/verify").status == 200);
            BOOST_TEST(b.get(a.home_path()).status == 200);
        }
    }
    BOOST_TEST(w.mails_received() == 3u);
}

BOOST_AUTO_TEST_CASE(a_session_does_not_reach_another_portal) {
    world w;
    browser b(w.port());
    log_in(w, b, ip_phone);
    BOOST_TEST_REQUIRE(b.get(ip_phone.home_path()).status == 200);
    // mc050 has a customer with the same self-care ID; the ip-phone session is still not theirs.
    for (const auto& other : {mc050, freevoice}) {
        BOOST_TEST_CONTEXT("portal " << other.portal) {
            const auto home = b.get(other.home_path());
            BOOST_TEST(home.status == 303);
            BOOST_TEST(home.header("location") == other.login_path);
            const auto code = b.get(other.code_path());
            BOOST_TEST(code.status == 303);
            BOOST_TEST(code.header("location") == other.login_path);
        }
    }
    // The session stays valid for its own portal, and /auth/verify names that portal.
    BOOST_TEST(b.get(ip_phone.home_path()).status == 200);
    const auto verified = b.get("/auth/verify");
    BOOST_TEST(verified.status == 200);
    BOOST_TEST(verified.header("x-nidan-portal") == "ip-phone");
    // A proxy guarding one portal names it: mc050's "taro" is another customer than ip-phone's.
    const auto own = b.get("/auth/verify/ip-phone");
    BOOST_TEST(own.status == 200);
    BOOST_TEST(own.header("x-nidan-selfcare-id") == ip_phone.id);
    for (const auto& other : {mc050, freevoice}) {
        const auto refused = b.get("/auth/verify/" + other.portal);
        BOOST_TEST(refused.status == 401);
        BOOST_TEST(refused.header("x-nidan-selfcare-id").empty());
    }
    BOOST_TEST(b.get("/auth/verify/no-such-portal").status == 404);
}

BOOST_AUTO_TEST_CASE(wrong_password_and_unknown_id_look_the_same) {
    world w;
    browser b(w.port());
    auto csrf = open_login(b, ip_phone);
    const auto wrong = submit_login(b, ip_phone, csrf, ip_phone.id, password + "x");
    BOOST_TEST(wrong.status == 401);
    BOOST_TEST(contains(wrong.body, login_heading));
    BOOST_TEST(alert_of(wrong.body) == msg_bad_credentials);
    BOOST_TEST(!set_cookie_named(wrong, nidan::cookie_names::session).has_value());
    BOOST_TEST(!contains(wrong.body, password));

    csrf = input_value(wrong.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());
    BOOST_TEST(b.cookie(nidan::cookie_names::login_form).value_or("") == csrf);  // the refusal hands out a fresh form
    const auto unknown = submit_login(b, ip_phone, csrf, "nobody", password);
    BOOST_TEST(unknown.status == 401);
    BOOST_TEST(contains(unknown.body, login_heading));
    BOOST_TEST(alert_of(unknown.body) == alert_of(wrong.body));
    BOOST_TEST(!set_cookie_named(unknown, nidan::cookie_names::session).has_value());

    // An ID of another portal is unknown here.
    browser c(w.port());
    const auto elsewhere = submit_login(c, mc050, open_login(c, mc050), freevoice.id, password);
    BOOST_TEST(elsewhere.status == 401);
    BOOST_TEST(alert_of(elsewhere.body) == msg_bad_credentials);

    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
    BOOST_TEST(!c.cookie(nidan::cookie_names::session).has_value());
    BOOST_TEST(b.get("/auth/verify").status == 401);
    BOOST_TEST(b.get(ip_phone.code_path()).header("location") == ip_phone.login_path);
    BOOST_TEST(w.no_mail_for(2s), w.relay().output());
}

BOOST_AUTO_TEST_CASE(full_width_code_with_blanks_is_accepted_letters_are_not) {
    world w;
    browser b(w.port());
    const auto pending = log_in_to_code(b, freevoice);
    const auto csrf = code_csrf(b, freevoice);
    const auto mail = w.next_code(freevoice.email);

    for (const std::string bad : {"abcdef", "12a456", "12345", "1234567", ""}) {
        BOOST_TEST_CONTEXT("code \"" << bad << "\"") {
            const auto refused = submit_code(b, freevoice, csrf, bad);
            BOOST_TEST(refused.status == 400);
            BOOST_TEST(contains(refused.body, code_heading));
            BOOST_TEST(alert_of(refused.body) == msg_code_format);
            BOOST_TEST(b.cookie(nidan::cookie_names::session).value_or("") == pending);
        }
    }
    BOOST_TEST(verify_with(w.port(), pending).status == 401);

    // Format errors cost no attempt: the code still works, typed full-width between blanks
    // (ASCII and ideographic spaces), as a phone keyboard may give it.
    const auto typed = "  \xE3\x80\x80" + fullwidth(mail.code) + " \xE3\x80\x80";
    const auto accepted = submit_code(b, freevoice, csrf, typed);
    BOOST_TEST_REQUIRE(accepted.status == 303, accepted.body);
    BOOST_TEST(accepted.header("location") == freevoice.home_path());
    const auto verified = b.get("/auth/verify");
    BOOST_TEST(verified.status == 200);
    BOOST_TEST(verified.header("x-nidan-selfcare-id") == freevoice.id);
}

BOOST_AUTO_TEST_CASE(five_wrong_codes_kill_the_code) {
    world w;
    browser b(w.port());
    const auto pending = log_in_to_code(b, mc050);
    const auto csrf = code_csrf(b, mc050);
    const auto right = w.next_code(mc050.email).code;

    for (int attempt = 1; attempt <= 4; ++attempt) {
        BOOST_TEST_CONTEXT("wrong code " << attempt) {
            const auto wrong = submit_code(b, mc050, csrf, other_code(right, attempt));
            BOOST_TEST(wrong.status == 401);
            BOOST_TEST(contains(wrong.body, code_heading));
            BOOST_TEST(alert_of(wrong.body) == msg_wrong_code);
            BOOST_TEST(input_value(wrong.body, "csrf").value_or("") == csrf);
        }
    }
    const auto fifth = submit_code(b, mc050, csrf, other_code(right, 5));
    BOOST_TEST(fifth.status == 401);
    BOOST_TEST(contains(fifth.body, login_heading));
    BOOST_TEST(alert_of(fifth.body) == msg_code_dead);
    BOOST_TEST(contains(fifth.body, "action=\"" + mc050.login_path + "\""));

    // The dead code ended the half-way session too: even the right code leads back to the login.
    const auto too_late = submit_code(b, mc050, csrf, right);
    BOOST_TEST(too_late.status == 303);
    BOOST_TEST(too_late.header("location") == mc050.login_path);
    BOOST_TEST(!set_cookie_named(too_late, nidan::cookie_names::session).has_value());
    BOOST_TEST(b.cookie(nidan::cookie_names::session).value_or("") == pending);
    BOOST_TEST(b.get("/auth/verify").status == 401);
    BOOST_TEST(b.get(mc050.home_path()).header("location") == mc050.login_path);
}

BOOST_AUTO_TEST_CASE(an_expired_code_is_refused) {
    world w({"code.lifetime_s=5"});
    browser b(w.port());
    const auto started = std::chrono::steady_clock::now();
    log_in_to_code(b, ip_phone);
    const auto code_page = b.get(ip_phone.code_path());
    BOOST_TEST(contains(code_page.body, "有効期限は1分"));
    const auto csrf = input_value(code_page.body, "csrf").value_or("");
    const auto right = w.next_code(ip_phone.email).code;

    std::this_thread::sleep_until(started + 6s);
    const auto expired = submit_code(b, ip_phone, csrf, right);
    BOOST_TEST(expired.status == 401);
    BOOST_TEST(contains(expired.body, login_heading));
    BOOST_TEST(alert_of(expired.body) == msg_expired_prefix + "1" + msg_expired_suffix);
    BOOST_TEST(!set_cookie_named(expired, nidan::cookie_names::session).has_value());
    BOOST_TEST(b.get("/auth/verify").status == 401);
    // Trying again does not revive it.
    BOOST_TEST(submit_code(b, ip_phone, csrf, right).status == 401);
    BOOST_TEST(b.get(ip_phone.home_path()).header("location") == ip_phone.login_path);
}

BOOST_AUTO_TEST_CASE(only_the_newest_code_of_an_account_is_live) {
    world w;
    browser first(w.port());
    browser second(w.port());
    log_in_to_code(first, ip_phone);
    const auto first_csrf = code_csrf(first, ip_phone);
    const auto first_code = w.next_code(ip_phone.email).code;
    log_in_to_code(second, ip_phone);
    const auto second_csrf = code_csrf(second, ip_phone);
    const auto second_code = w.next_code(ip_phone.email).code;

    const auto superseded = submit_code(first, ip_phone, first_csrf, first_code);
    BOOST_TEST(superseded.status == 401);
    BOOST_TEST(contains(superseded.body, login_heading));
    BOOST_TEST(!set_cookie_named(superseded, nidan::cookie_names::session).has_value());
    BOOST_TEST(first.get("/auth/verify").status == 401);

    const auto accepted = submit_code(second, ip_phone, second_csrf, second_code);
    BOOST_TEST_REQUIRE(accepted.status == 303, accepted.body);
    BOOST_TEST(accepted.header("location") == ip_phone.home_path());
    BOOST_TEST(second.get("/auth/verify").status == 200);
    BOOST_TEST(first.get("/auth/verify").status == 401);
    BOOST_TEST(w.mails_received() == 2u);
}

BOOST_AUTO_TEST_CASE(logout_ends_the_session) {
    world w;
    browser b(w.port());
    const auto session = log_in(w, b, freevoice);
    const auto home = b.get(freevoice.home_path());
    BOOST_TEST_REQUIRE(home.status == 200);
    const auto csrf = input_value(home.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());

    // Without the form's token, or from another site, nothing happens.
    const auto forged = b.post_form(freevoice.logout_path(), {{"csrf", csrf + "x"}});
    BOOST_TEST(forged.status == 403);
    const auto cross_site = b.post_form(freevoice.logout_path(), {{"csrf", csrf}}, {{"Origin", "http://evil.example"}});
    BOOST_TEST(cross_site.status == 403);
    BOOST_TEST(verify_with(w.port(), session).status == 200);

    const auto out = b.post_form(freevoice.logout_path(), {{"csrf", csrf}});
    BOOST_TEST(out.status == 303);
    BOOST_TEST(out.header("location") == freevoice.login_path);
    const auto cleared = set_cookie_named(out, nidan::cookie_names::session);
    BOOST_TEST_REQUIRE(cleared.has_value());
    BOOST_TEST(cleared->attribute("max-age") == "0");
    BOOST_TEST(cleared->attribute("path") == "/");
    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());

    BOOST_TEST(verify_with(w.port(), session).status == 401);
    browser old(w.port());
    old.set_cookie(nidan::cookie_names::session, session);
    const auto after = old.get(freevoice.home_path());
    BOOST_TEST(after.status == 303);
    BOOST_TEST(after.header("location") == freevoice.login_path);
    // Logging out again with the dead cookie just lands on the login page.
    const auto again = old.post_form(freevoice.logout_path(), {{"csrf", csrf}});
    BOOST_TEST(again.status == 303);
    BOOST_TEST(again.header("location") == freevoice.login_path);
}

BOOST_AUTO_TEST_CASE(login_csrf_is_enforced) {
    world w;
    const auto& a = ip_phone;
    struct refusal {
        std::string name;
        std::function<http_reply(browser&)> send;
    };
    const std::vector<refusal> refusals{
        {"no nidan_login cookie",
         [&](browser& b) {
             const auto csrf = open_login(b, a);
             b.drop_cookie(nidan::cookie_names::login_form);
             return submit_login(b, a, csrf, a.id, password);
         }},
        {"field from another form",
         [&](browser& b) {
             open_login(b, a);
             browser other(w.port());
             return submit_login(b, a, open_login(other, a), a.id, password);
         }},
        {"no csrf field",
         [&](browser& b) {
             open_login(b, a);
             return b.post_form(a.login_path, {{"selfcare_id", a.id}, {"password", password}});
         }},
        {"unsigned token in cookie and field",
         [&](browser& b) {
             b.set_cookie(nidan::cookie_names::login_form, "forged-token");
             return submit_login(b, a, "forged-token", a.id, password);
         }},
        {"Origin of another site",
         [&](browser& b) { return submit_login(b, a, open_login(b, a), a.id, password, {{"Origin", "http://evil.example"}}); }},
        {"Sec-Fetch-Site cross-site",
         [&](browser& b) { return submit_login(b, a, open_login(b, a), a.id, password, {{"Sec-Fetch-Site", "cross-site"}}); }},
    };
    for (const auto& r : refusals) {
        BOOST_TEST_CONTEXT(r.name) {
            browser b(w.port());
            const auto reply = r.send(b);
            BOOST_TEST(reply.status == 403);
            BOOST_TEST(!set_cookie_named(reply, nidan::cookie_names::session).has_value());
            BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
            BOOST_TEST(b.get("/auth/verify").status == 401);
            BOOST_TEST(b.get(a.code_path()).header("location") == a.login_path);
            if (contains(reply.body, login_heading)) BOOST_TEST(alert_of(reply.body) == msg_form_expired);
        }
    }
    BOOST_TEST(w.no_mail_for(2s), w.relay().output());

    // The same browser with a proper form gets in: only the token was wrong before.
    browser b(w.port());
    log_in_to_code(b, a);
    const auto csrf = code_csrf(b, a);
    const auto code = w.next_code(a.email).code;
    const auto bad_token = submit_code(b, a, csrf + "x", code);
    BOOST_TEST(bad_token.status == 403);
    BOOST_TEST(!set_cookie_named(bad_token, nidan::cookie_names::session).has_value());
    BOOST_TEST(submit_code(b, a, "", code).status == 403);
    BOOST_TEST(b.get("/auth/verify").status == 401);
    const auto accepted = submit_code(b, a, csrf, code);
    BOOST_TEST(accepted.status == 303);
    BOOST_TEST(b.get("/auth/verify").status == 200);
}

BOOST_AUTO_TEST_CASE(bad_login_input_gets_a_clear_4xx) {
    world w;
    const auto& a = mc050;
    browser b(w.port());
    open_login(b, a);
    // Every refusal that shows the login page hands out a fresh token (cookie and field); each
    // row is sent with the browser's current one, so only the row's own fault can refuse it.
    const std::string token = "csrf={csrf}";
    const auto pw = "password=" + form_encode(password);
    struct bad_input {
        std::string name;
        std::string body;
        std::string content_type;
        int status;
    };
    const std::string form = "application/x-www-form-urlencoded";
    const std::vector<bad_input> table{
        {"empty fields", token + "&selfcare_id=&password=", form, 401},
        {"empty password", token + "&selfcare_id=" + a.id + "&password=", form, 401},
        {"no fields but csrf", token, form, 401},
        {"2000-byte ID", token + "&selfcare_id=" + std::string(2000, 'a') + "&" + pw, form, 401},
        {"2000-byte password", token + "&selfcare_id=" + a.id + "&password=" + std::string(2000, 'p'), form, 401},
        {"ID with a space", token + "&selfcare_id=ta+ro&" + pw, form, 401},
        {"invalid UTF-8 in the ID", token + "&selfcare_id=%FF&" + pw, form, 400},
        {"invalid UTF-8 in the password", token + "&selfcare_id=" + a.id + "&password=%C3%28", form, 400},
        {"NUL in the ID", token + "&selfcare_id=taro%00&" + pw, form, 400},
        {"duplicate ID field", token + "&selfcare_id=" + a.id + "&selfcare_id=" + a.id + "&" + pw, form, 400},
        {"duplicate csrf field", token + "&" + token + "&selfcare_id=" + a.id + "&" + pw, form, 400},
        {"truncated percent escape", token + "&selfcare_id=" + a.id + "&" + pw + "%", form, 400},
        {"non-hex percent escape", token + "&selfcare_id=%G1&" + pw, form, 400},
        {"text/plain", token + "&selfcare_id=" + a.id + "&" + pw, "text/plain", 415},
        {"multipart", token + "&selfcare_id=" + a.id + "&" + pw, "multipart/form-data; boundary=x", 415},
        {"no content type", token + "&selfcare_id=" + a.id + "&" + pw, "", 415},
    };
    for (const auto& row : table) {
        BOOST_TEST_CONTEXT(row.name) {
            auto body = row.body;
            for (auto at = body.find("{csrf}"); at != std::string::npos; at = body.find("{csrf}"))
                body.replace(at, 6, form_encode(b.cookie(nidan::cookie_names::login_form).value_or("")));
            const auto reply = b.post(a.login_path, body, row.content_type);
            BOOST_TEST(reply.status == row.status);
            BOOST_TEST(reply.status >= 400);
            BOOST_TEST(reply.status < 500);
            BOOST_TEST(!set_cookie_named(reply, nidan::cookie_names::session).has_value());
            BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
            if (reply.status == 401) BOOST_TEST(alert_of(reply.body) == msg_bad_credentials);
            if (reply.status == 400) BOOST_TEST(alert_of(reply.body) == msg_bad_form);
            BOOST_TEST(!contains(reply.body, password));
            BOOST_TEST(healthy(w.port()));
        }
    }
    BOOST_TEST(b.get("/auth/verify").status == 401);
    BOOST_TEST(w.mails_received() == 0u);
    // Still serving logins.
    browser c(w.port());
    log_in(w, c, a);
    BOOST_TEST(c.get("/auth/verify").status == 200);
}

BOOST_AUTO_TEST_CASE(audit_log_records_the_flow_without_secrets) {
    world w;
    const auto& a = ip_phone;
    browser b(w.port());
    BOOST_TEST(submit_login(b, a, open_login(b, a), a.id, password + "-wrong").status == 401);
    log_in_to_code(b, a);
    const auto csrf = code_csrf(b, a);
    const auto code = w.next_code(a.email).code;
    const auto wrong_code = other_code(code, 3);
    BOOST_TEST(submit_code(b, a, csrf, wrong_code).status == 401);
    BOOST_TEST_REQUIRE(submit_code(b, a, csrf, code).status == 303);
    const auto home = b.get(a.home_path());
    BOOST_TEST(b.post_form(a.logout_path(), {{"csrf", input_value(home.body, "csrf").value_or("")}}).status == 303);

    auto& server = w.server();
    BOOST_TEST_REQUIRE(eventually([&] { return contains(server.log_text(), "event=logout"); }, 5s), server.log_text());
    const auto log = server.log_text();
    std::vector<std::string> lines;
    {
        std::istringstream in(log);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    auto line_with = [&](const std::string& event) -> std::string {
        for (const auto& line : lines)
            if (contains(line, "event=" + event + " ") || line.ends_with("event=" + event)) return line;
        return {};
    };
    for (const std::string event : {"login.failed", "login.password_ok", "code.sent", "code.wrong", "code.verified", "logout"}) {
        BOOST_TEST_CONTEXT(event) {
            const auto line = line_with(event);
            BOOST_TEST(!line.empty(), log);
            BOOST_TEST(contains(line, "portal=ip-phone"), line);
        }
    }
    BOOST_TEST(contains(line_with("login.failed"), "id=taro"));
    BOOST_TEST(contains(line_with("code.sent"), "t***@example.jp"));
    BOOST_TEST(!contains(log, a.email));

    // No password, wrong or right, and no code digits, anywhere; the timestamps' microseconds
    // are left out of the search for codes, since six digits may turn up there by chance.
    BOOST_TEST(!contains(log, password));
    BOOST_TEST(!contains(log, form_encode(password)));
    for (const auto& secret : {code, wrong_code}) {
        for (const auto& line : lines) {
            const auto after_ts = line.starts_with("ts=") ? line.substr(std::min(line.find(' '), line.size())) : line;
            BOOST_TEST(!contains(after_ts, secret), line);
        }
    }
}

// Failures from elsewhere slow down logins to the account, except from a browser that has
// completed a login on it before (its signed device cookie). The delay each login waited is in
// the audit line, so this needs no timing.
BOOST_AUTO_TEST_CASE(a_known_device_is_not_slowed_by_failures_from_elsewhere) {
    world w({"server.trusted_proxies=127.0.0.1"});
    browser owner(w.port());
    log_in(w, owner, ip_phone);
    BOOST_TEST_REQUIRE(owner.cookie(nidan::cookie_names::device).has_value());

    // Seven wrong passwords, each from another address (through the trusted proxy), so only the
    // per-account counter grows.
    for (int i = 0; i < 7; ++i) {
        browser attacker(w.port());
        const header_list from{{"X-Forwarded-For", "203.0.113." + std::to_string(10 + i)}};
        const auto reply = submit_login(attacker, ip_phone, open_login(attacker, ip_phone), ip_phone.id, password + "x", from);
        BOOST_TEST(reply.status == 401);
    }
    // A stranger with the right password waits; the owner's browser does not.
    browser stranger(w.port());
    const header_list stranger_from{{"X-Forwarded-For", "198.51.100.7"}};
    const auto slow = submit_login(stranger, ip_phone, open_login(stranger, ip_phone), ip_phone.id, password, stranger_from);
    BOOST_TEST(slow.status == 303);
    const auto fast = submit_login(owner, ip_phone, open_login(owner, ip_phone), ip_phone.id, password);
    BOOST_TEST(fast.status == 303);

    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=login.password_ok portal=ip-phone id=" + ip_phone.id + " client=198.51.100.7 rehashed=false known_device=false delay_ms=2000"), log);
    BOOST_TEST(contains(log, "client=127.0.0.1 rehashed=false known_device=true delay_ms=0"), log);
    // The header counts only from a trusted proxy: the attackers were counted under their own
    // addresses, not under the proxy's.
    BOOST_TEST(contains(log, "event=login.failed portal=ip-phone id=" + ip_phone.id + " client=203.0.113.16"), log);
}

BOOST_AUTO_TEST_CASE(a_lock_limit_locks_strangers_out_until_support_unlocks) {
    world w({"throttle.account_lock_after=3", "throttle.account_free_failures=10", "server.trusted_proxies=127.0.0.1"});
    const auto& a = freevoice;
    browser owner(w.port());
    log_in(w, owner, a);
    BOOST_TEST_REQUIRE(owner.cookie(nidan::cookie_names::device).has_value());

    for (int i = 0; i < 3; ++i) {
        browser attacker(w.port());
        const header_list from{{"X-Forwarded-For", "203.0.113." + std::to_string(30 + i)}};
        BOOST_TEST(submit_login(attacker, a, open_login(attacker, a), a.id, password + "x", from).status == 401);
    }
    // A wrong password looks like any other; only the right one shows the lock notice, and no
    // session or code comes of it.
    browser stranger(w.port());
    const auto wrong = submit_login(stranger, a, open_login(stranger, a), a.id, "still wrong");
    BOOST_TEST(wrong.status == 401);
    BOOST_TEST(alert_of(wrong.body) == msg_bad_credentials);
    const auto right = submit_login(stranger, a, open_login(stranger, a), a.id, password);
    BOOST_TEST(right.status == 403);
    BOOST_TEST(contains(right.body, "ログインはロックされています"));
    BOOST_TEST(contains(right.body, "https://comm.rakuten.co.jp/toiawase/selfcare-mail/"));
    BOOST_TEST(!stranger.cookie(nidan::cookie_names::session).has_value());
    // The owner's browser, which logged in before, is not locked out.
    const auto mails_before = w.mails_received();
    log_in(w, owner, a);
    BOOST_TEST(w.mails_received() == mails_before + 1);

    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=login.password_locked portal=freevoice id=" + a.id), log);
    BOOST_TEST(contains(log, "event=login.refused_locked portal=freevoice id=" + a.id), log);

    // `nidan user show` tells support; `nidan user unlock` lets the customer in again.
    const std::vector<std::string> where{"--config", source_dir() + "/conf/nidan.toml", "--set",
                                         "storage.data_dir=" + w.data_dir()};
    auto show = std::vector<std::string>{"user", "show", "--portal", a.portal, "--id", a.id};
    show.insert(show.end(), where.begin(), where.end());
    const auto shown = run_nidan(show, "", 30s);
    BOOST_TEST(contains(shown.out, "password_locked: yes"), shown.out);
    auto unlock = std::vector<std::string>{"user", "unlock", "--portal", a.portal, "--id", a.id};
    unlock.insert(unlock.end(), where.begin(), where.end());
    BOOST_TEST_REQUIRE(run_nidan(unlock, "", 30s).exit_code == 0);
    // The failures that locked it went with the lock: one more typo does not lock it again.
    browser later(w.port());
    BOOST_TEST(submit_login(later, a, open_login(later, a), a.id, "one more typo").status == 401);
    log_in(w, later, a);
    BOOST_TEST(later.get("/auth/verify").status == 200);
}

BOOST_AUTO_TEST_CASE(parallel_attempts_from_one_address_queue_and_beyond_the_queue_are_refused) {
    world w({"throttle.address_free_failures=0", "throttle.address_base_delay_ms=1000",
             "throttle.address_max_delay_ms=2000", "throttle.address_queue_max=1"});
    const auto& a = ip_phone;
    browser first(w.port());
    BOOST_TEST_REQUIRE(submit_login(first, a, open_login(first, a), "someone", password).status == 401);

    // Four guesses at once from the same address, each at another ID: one is served (waits out
    // its delay and is checked), one waits its turn behind it and is checked next, the two
    // beyond the queue are refused at once, unchecked.
    constexpr int parallel = 4;
    std::vector<std::unique_ptr<browser>> browsers;
    std::vector<std::string> tokens;
    for (int i = 0; i < parallel; ++i) {
        browsers.push_back(std::make_unique<browser>(w.port()));
        tokens.push_back(open_login(*browsers.back(), a));
    }
    std::vector<http_reply> replies(parallel);
    std::vector<std::thread> threads;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < parallel; ++i)
        threads.emplace_back([&, i] { replies[i] = submit_login(*browsers[i], a, tokens[i], "guess" + std::to_string(i), password); });
    for (auto& t : threads) t.join();
    const auto took = std::chrono::steady_clock::now() - started;

    int checked = 0, refused = 0;
    for (const auto& r : replies) {
        if (r.status == 401) ++checked;
        if (r.status == 429) {
            ++refused;
            BOOST_TEST(alert_of(r.body) == "ログインの試行が続いています。しばらく時間をおいてから再度お試しください。");
        }
    }
    BOOST_TEST(checked == 2);
    BOOST_TEST(refused == 2);
    BOOST_TEST(took >= 2000ms);  // the two checked waited out their delays one after the other
    const auto log = w.server().log_text();
    BOOST_TEST(count_of(log, "event=login.refused_busy") == 2u, log);
    BOOST_TEST(count_of(log, "reason=busy_queue_full") == 2u, log);
    BOOST_TEST(count_of(log, "event=login.failed") == 3u, log);  // the first and the two checked
}

BOOST_AUTO_TEST_CASE(shutdown_does_not_wait_for_a_delayed_guess) {
    // A 20 s delay after the first failure; the shutdown grace (10 s) is shorter than that.
    world w({"throttle.address_free_failures=0", "throttle.address_base_delay_ms=20000",
             "throttle.address_max_delay_ms=20000"});
    const auto& a = ip_phone;
    browser first(w.port());
    BOOST_TEST_REQUIRE(submit_login(first, a, open_login(first, a), "someone", password).status == 401);

    browser waiting(w.port());
    const auto token = open_login(waiting, a);
    http_reply reply;
    std::thread guess([&] { reply = submit_login(waiting, a, token, "someone", "guess"); });
    // /metrics shows the guess waiting out its delay.
    const auto delayed = [&] {
        const auto metrics = get(w.port(), "/metrics");
        return metrics && metric_value(metrics->body, "nidan_login_delayed_waiting") == 1;
    };
    BOOST_TEST_REQUIRE(eventually(delayed, 10s, 50ms));
    w.server().signal(SIGTERM);
    const auto exit_code = w.server().wait_exit(15s);
    guess.join();
    BOOST_TEST_REQUIRE(exit_code.has_value());
    BOOST_TEST(*exit_code == 0);
    // The guess was answered "try again later", unchecked, and the shutdown did not need its grace.
    BOOST_TEST(reply.status == 503);
    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=login.not_checked portal=ip-phone client=127.0.0.1 reason=shutdown"), log);
    BOOST_TEST(!contains(log, "shutdown_grace_expired"), log);
    BOOST_TEST(count_of(log, "event=login.failed") == 1u, log);
}
