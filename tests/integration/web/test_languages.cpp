// The pages and mails in each language of the catalogs (templates/lang/*.toml), against a real
// `nidan serve`: the language a browser asks for, the switch on every page that keeps the
// customer where they are, the mails in the language the customer was using, and a catalog
// missing a key stopping the start. Expected texts come from the catalogs, never copied here.
#define BOOST_TEST_MODULE languages
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nidan_test/browser.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/html.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/temp_dir.hpp"
#include "portal_client.hpp"

using namespace nidan_test;
namespace fs = std::filesystem;

namespace {

const portal_account ip_phone{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp",
                              "09012345678", "*******5678", false};
const portal_account mc050{"mc050", "/mfes/users/login", "jiro", "jiro@example.jp", "05011112222", "*******2222", true};
const portal_account freevoice{"freevoice", "/cgi-bin/fb_csc_sc_login.cgi.pl", "hanako", "hanako@example.jp",
                               "0312345678", "******5678", false};
const std::vector<portal_account> all_portals{ip_phone, mc050, freevoice};

class world : public login_world {
public:
    world() : login_world(accounts()) {}

private:
    static std::vector<world_account> accounts() {
        std::vector<world_account> out;
        for (const auto& a : all_portals) out.push_back(a.for_world());
        return out;
    }
};

// As mustache escapes what a page shows.
using html_escape_fn = std::string (*)(const std::string&);
constexpr html_escape_fn html_escape = nidan_test::html_escaped;

const header_list english{{"Accept-Language", "en-GB,en;q=0.9,ja;q=0.5"}};

// What only the page of this language shows: its portal's title and its <html lang>.
void check_page_language(const http_reply& page, const std::string& language, const portal_account& a) {
    BOOST_TEST(contains(page.body, "<html lang=\"" + language + "\">"), page.body.substr(0, 200));
    BOOST_TEST(page.header("content-language") == language);
    BOOST_TEST(contains(page.body, html_escape(catalog_text(language, "portal." + a.portal + ".title"))));
}

std::string subject_in(const std::string& language) {
    return catalog_text_with(language, "mail.code_subject", {{"operator_name", catalog_text(language, "operator.name")}});
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_portal_logs_in_in_english_when_the_browser_asks) {
    world w;
    for (const auto& a : all_portals) {
        BOOST_TEST_CONTEXT("portal " << a.portal) {
            browser b(w.port());
            const auto login = b.get(a.login_path, english);
            BOOST_TEST_REQUIRE(login.status == 200);
            check_page_language(login, "en", a);
            // The switch offers the other language, by its own name, and leads back here.
            BOOST_TEST(contains(login.body, catalog_text("ja", "language.name")));
            BOOST_TEST(contains(login.body, "href=\"/lang/ja?next=" + std::string("%2F")));
            const auto csrf = input_value(login.body, "csrf").value_or("");
            const auto wrong = b.post_form(a.login_path, {{"csrf", csrf}, {"selfcare_id", a.id}, {"password", "wrong one"}},
                                           english);
            BOOST_TEST(wrong.status == 401);
            BOOST_TEST(alert_of(wrong.body) == catalog_text("en", "message.bad_credentials"));

            const auto csrf2 = input_value(wrong.body, "csrf").value_or("");
            const auto posted = b.post_form(
                a.login_path, {{"csrf", csrf2}, {"selfcare_id", a.id}, {"password", account_password}}, english);
            BOOST_TEST_REQUIRE(posted.status == 303, posted.body);
            const auto code_page = b.get(a.code_path(), english);
            BOOST_TEST_REQUIRE(code_page.status == 200);
            check_page_language(code_page, "en", a);
            BOOST_TEST(contains(code_page.body, html_escape(catalog_text("en", "portal." + a.portal + ".address_link_text"))));

            // The mail went out in the language of the page.
            const auto mail = w.next_code(a.email);
            BOOST_TEST(mail.mail.subject == subject_in("en"));
            BOOST_TEST(contains(mail.mail.from, catalog_text("en", "mail.from_name")));
            BOOST_TEST(contains(mail.mail.body, catalog_text("en", "portal." + a.portal + ".name")));
            BOOST_TEST(!contains(mail.mail.body, catalog_text("ja", "operator.name")));

            const auto code_csrf_value = input_value(code_page.body, "csrf").value_or("");
            const auto bad = b.post_form(a.code_path(), {{"csrf", code_csrf_value}, {"code", "12x"}}, english);
            BOOST_TEST(alert_of(bad.body) == catalog_text("en", "message.code_format"));
            const auto accepted = b.post_form(a.code_path(), {{"csrf", code_csrf_value}, {"code", mail.code}}, english);
            BOOST_TEST_REQUIRE(accepted.status == 303, accepted.body);
            const auto home = b.get(a.home_path(), english);
            BOOST_TEST_REQUIRE(home.status == 200);
            check_page_language(home, "en", a);
            if (a.menu) {
                for (const auto* item : {"add-number", "call-blocking"})
                    BOOST_TEST(contains(home.body, html_escape(catalog_text("en", "portal.mc050.menu." + std::string(item)))));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(without_a_choice_the_portal_default_is_japanese) {
    world w;
    for (const header_list& headers : {header_list{}, header_list{{"Accept-Language", "fr-CH, fr;q=0.9, de;q=0.7"}},
                                       header_list{{"Accept-Language", "en;q=0, *;q=0.1"}},
                                       header_list{{"Accept-Language", std::string(5000, ',') + "en"}}}) {
        browser b(w.port());
        const auto login = b.get(ip_phone.login_path, headers);
        BOOST_TEST_REQUIRE(login.status == 200);
        check_page_language(login, "ja", ip_phone);
        BOOST_TEST(contains(login.body, catalog_text("en", "language.name")));  // the switch to English
    }
}

BOOST_AUTO_TEST_CASE(the_switch_keeps_the_customer_on_the_code_page) {
    world w;
    browser b(w.port());
    log_in_to_code(b, ip_phone);  // in Japanese: no Accept-Language
    const auto mail = w.next_code(ip_phone.email);
    BOOST_TEST(mail.mail.subject == subject_in("ja"));
    const auto japanese = b.get(ip_phone.code_path());
    check_page_language(japanese, "ja", ip_phone);

    // The link the page offers: /lang/en back to this very page, with the session untouched.
    const auto link = "/lang/en?next=%2Fportal%2Fip-phone%2Fcode";
    BOOST_TEST_REQUIRE(contains(japanese.body, "href=\"" + std::string(link) + "\""));
    const auto switched = b.get(link);
    BOOST_TEST_REQUIRE(switched.status == 303);
    BOOST_TEST(switched.header("location") == ip_phone.code_path());
    const auto cookie = set_cookie_named(switched, "nidan_lang");
    BOOST_TEST_REQUIRE(cookie.has_value());
    BOOST_TEST(cookie->value == "en");
    BOOST_TEST(cookie->attribute("samesite") == "Lax");
    BOOST_TEST(cookie->has("max-age"));

    // The cookie beats the browser's own wish, and the code mailed before still works.
    const auto english_page = b.get(ip_phone.code_path(), {{"Accept-Language", "ja"}});
    BOOST_TEST_REQUIRE(english_page.status == 200);
    check_page_language(english_page, "en", ip_phone);
    const auto csrf = input_value(english_page.body, "csrf").value_or("");
    const auto accepted = b.post_form(ip_phone.code_path(), {{"csrf", csrf}, {"code", mail.code}});
    BOOST_TEST_REQUIRE(accepted.status == 303);
    BOOST_TEST(accepted.header("location") == ip_phone.home_path());
    check_page_language(b.get(ip_phone.home_path()), "en", ip_phone);

    // And back to Japanese from the account page.
    const auto back = b.get("/lang/ja?next=%2Fportal%2Fip-phone%2Fhome");
    BOOST_TEST(back.header("location") == ip_phone.home_path());
    check_page_language(b.get(ip_phone.home_path()), "ja", ip_phone);
}

BOOST_AUTO_TEST_CASE(the_switch_is_not_an_open_redirect) {
    world w;
    for (const std::string next : {"https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example%2F", "%2F%5Cevil.example",
                                   "%2Fportal%0D%0ASet-Cookie%3A%20x%3D1", "", "relative"}) {
        browser b(w.port());
        const auto reply = b.get("/lang/en?next=" + next);
        BOOST_TEST(reply.status == 303, next);
        BOOST_TEST(reply.header("location") == ip_phone.login_path, next);
    }
    browser b(w.port());
    BOOST_TEST(b.get("/lang/fr?next=%2F").status == 404);  // no such catalog
    BOOST_TEST(b.post_form("/lang/en", {}).status == 405);
}

BOOST_AUTO_TEST_CASE(error_pages_follow_the_language) {
    world w;
    browser b(w.port());
    const auto ja = b.get("/no/such/page");
    BOOST_TEST(ja.status == 404);
    BOOST_TEST(contains(ja.body, "<html lang=\"ja\">"));
    BOOST_TEST(contains(ja.body, html_escape(catalog_text("ja", "error.404"))));
    const auto en = b.get(ip_phone.code_path() + "/nothing", english);
    BOOST_TEST(en.status == 404);
    BOOST_TEST(contains(en.body, "<html lang=\"en\">"));
    BOOST_TEST(contains(en.body, html_escape(catalog_text("en", "error.404"))));
    BOOST_TEST(en.header("content-language") == "en");
}

BOOST_AUTO_TEST_CASE(a_catalog_missing_a_key_stops_the_start_naming_it) {
    temp_dir dir;
    const auto templates = dir.path() / "templates";
    fs::copy(source_dir() + "/templates", templates, fs::copy_options::recursive);
    // A third language by adding one file, with one key left out.
    std::ifstream in(templates / "lang" / "en.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("\nbad_credentials = ");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    text.erase(at + 1, text.find('\n', at + 1) - at);
    std::ofstream(templates / "lang" / "xx.toml") << text;

    const auto result = run_nidan({"serve", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                   "server.templates_dir=" + templates.string(), "--set",
                                   "storage.data_dir=" + (dir.path() / "data").string(), "--set",
                                   "server.listen=127.0.0.1:0"},
                                  "", std::chrono::seconds(20));
    BOOST_TEST(result.exit_code != 0);
    BOOST_TEST(contains(result.err, "xx.toml"), result.err);
    BOOST_TEST(contains(result.err, "message.bad_credentials"), result.err);
}
