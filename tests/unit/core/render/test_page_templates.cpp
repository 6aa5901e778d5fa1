#define BOOST_TEST_MODULE page_templates
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/render/template_store.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/html.hpp"

// The pages' texts are the shipped catalogs' (templates/lang/*.toml): every expected text below
// is read from them with the key the template's {{t:key}} marker names, so a reworded sentence
// changes no test, while a page that shows the wrong key, loses a text or escapes it differently
// fails in every language.

namespace fs = std::filesystem;
using kainjow::mustache::data;
using nidan::template_data;
using nidan::template_store;
using nidan_test::catalog_text;
using nidan_test::catalog_text_with;

namespace {

fs::path templates_dir() { return fs::path(NIDAN_SOURCE_DIR) / "templates"; }

const template_store& store() {
    static const template_store loaded(templates_dir(), "ja");
    return loaded;
}

// Every language of the shipped catalogs, the default (ja) first: each page is checked in each.
const std::vector<std::string>& languages() { return store().languages(); }

const std::vector<std::string> pages{"login.html",  "code.html",    "address.html",
                                     "locked.html", "account.html", "menu.html", "address_cancel.html"};

// The key of each page's title, its <title> and its <h1>.
const std::map<std::string, std::string> title_keys{
    {"login.html", "login.title"},     {"code.html", "code.title"},       {"address.html", "address.title"},
    {"locked.html", "locked.title"},   {"account.html", "account.title"}, {"menu.html", "menu.title"},
    {"address_cancel.html", "address_cancel.title"}};

// The menu entries of the sample menu page: the mc050 portal's, labelled by its catalog texts.
const std::vector<std::string> menu_ids{"add-number", "mc050-register"};

// Markup and both quote characters: whatever a customer or an operator could put in a value.
const std::string hostile = "<script>alert(\"x\")</script>'";
const std::string hostile_escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&apos;";

// Every variable a page uses, each holding `hostile` plus a marker naming it.
template_data hostile_data() {
    template_data d;
    for (const std::string name :
         {"portal_title", "action", "csrf", "error", "selfcare_id", "support_phone",
          "support_hours", "masked_email", "operator", "address_link_text", "address_url",
          "code_screen_note", "lifetime_minutes", "login_url", "mail_domain", "email", "phone",
          "back_url", "enquiry_url", "notice", "masked_phone", "email_action", "new_email",
          "password_action", "min_password", "logout_action", "manual_url"})
        d.set(name, hostile + "#" + name);
    data menu{data::type::list};
    for (int i = 0; i < 2; ++i) {
        data item;
        item.set("label", hostile + "#label");
        item.set("url", hostile + "#url");
        menu.push_back(item);
    }
    d.set("menu", menu);
    return d;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

std::vector<std::string> all_matches(const std::string& text, const std::string& pattern,
                                     std::size_t group = 0) {
    std::vector<std::string> out;
    const std::regex re(pattern);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re);
         it != std::sregex_iterator(); ++it)
        out.push_back((*it)[static_cast<int>(group)].str());
    return out;
}

using nidan_test::html_escaped;

using tag_values = std::vector<std::pair<std::string, std::string>>;

// An empty expected text would be found in any page.
std::string not_empty(std::string text, const std::string& what) {
    BOOST_TEST_REQUIRE(!text.empty(), "empty expected text: " << what);
    return text;
}

// What a page's {{t:key}} marker shows: the catalog text HTML-escaped, its {{name}} tags filled
// with the page's values, which mustache escapes too. Escaping the filled text is the same: a
// tag's name has no character the escaper changes.
std::string shown(const std::string& lang, const std::string& key, const tag_values& values = {}) {
    return not_empty(html_escaped(catalog_text_with(lang, key, values)), lang + " " + key);
}

// What a {{{t:key}}} marker shows: the text with its markup as it is, the values of its {{name}}
// tags still escaped by mustache.
std::string shown_as_is(const std::string& lang, const std::string& key, const tag_values& values) {
    tag_values escaped;
    for (const auto& [name, value] : values) escaped.emplace_back(name, html_escaped(value));
    return not_empty(catalog_text_with(lang, key, escaped), lang + " " + key);
}

// What {{t:key}} shows for a text with mustache sections ({{#hold_hours}}...{{/hold_hours}}):
// the escaped text rendered with the page's data, as the page renders it.
std::string shown_with_sections(const std::string& lang, const std::string& key, const template_data& d) {
    kainjow::mustache::mustache text(html_escaped(catalog_text(lang, key)));
    BOOST_TEST_REQUIRE(text.is_valid(), lang << " " << key << ": " << text.error_message());
    return not_empty(text.render(d), lang + " " + key);
}

// True when the page shows any piece of the text between its {{tags}}: a page for which this is
// false shows no form of the text, whatever values its tags would have.
bool shows_part_of(const std::string& html, const std::string& lang, const std::string& key) {
    const std::string& text = catalog_text(lang, key);
    std::size_t done = 0;
    for (;;) {
        const auto at = text.find("{{", done);
        const auto piece = text.substr(done, at == std::string::npos ? std::string::npos : at - done);
        if (!piece.empty() && contains(html, html_escaped(piece))) return true;
        if (at == std::string::npos) return false;
        const auto end = text.find("}}", at);
        BOOST_TEST_REQUIRE(end != std::string::npos, lang << " " << key << ": unclosed tag");
        done = end + 2;
    }
}

// The portal title of the samples, as the pages show it: the catalog's, with quote characters.
std::string shown_title(const std::string& lang) { return html_escaped(catalog_text(lang, "portal.mc050.title")); }

// Realistic data for one page in one language; optional parts (error, notes, URLs) left out.
// The texts the server takes from the catalogs (portal_flow's page_data: the portal's title, the
// operator's name and hours; the portal's link text and menu labels) come from the same keys.
template_data sample(const std::string& page, const std::string& lang) {
    template_data d;
    d.set("lang", lang);
    d.set("portal_title", catalog_text(lang, "portal.mc050.title"));
    d.set("csrf", "tok123");
    d.set("operator", catalog_text(lang, "operator.name"));
    d.set("mail_domain", "comm.rakuten.co.jp");
    if (page == "login.html") {
        d.set("action", "/mfes/users/login");
        d.set("support_phone", "0120-987-123");
        d.set("support_hours", catalog_text(lang, "operator.support_hours"));
    } else if (page == "code.html") {
        d.set("action", "/mfes/users/login/code");
        d.set("masked_email", "t***@example.jp");
        d.set("address_link_text", catalog_text(lang, "portal.freevoice.address_link_text"));
        d.set("address_url", "/mfes/users/login/address");
        d.set("login_url", "/mfes/users/login");
        d.set("lifetime_minutes", "20");
    } else if (page == "address.html") {
        d.set("action", "/mfes/users/login/address");
        d.set("email", "");
        d.set("phone", "");
    } else if (page == "locked.html") {
        d.set("enquiry_url", "https://comm.rakuten.co.jp/toiawase/selfcare-mail/");
        d.set("address_locked", true);
        d.set("phone_strikes", "3");
    } else if (page == "account.html") {
        d.set("selfcare_id", "user01");
        d.set("masked_email", "t***@example.jp");
        d.set("masked_phone", "*******5678");
        d.set("email_action", "/selfcare/account/email");
        d.set("password_action", "/selfcare/account/password");
        d.set("logout_action", "/selfcare/logout");
        d.set("min_password", "10");
        d.set("new_email", "");
    } else if (page == "address_cancel.html") {
        d.set("confirm", true);
        d.set("action", "/portal/mc050/address/cancel");
        d.set("token", "link-token");
    } else if (page == "menu.html") {
        d.set("logout_action", "/mfes/logout");
        data menu{data::type::list};
        for (const auto& id : menu_ids) {
            data item;
            item.set("label", catalog_text(lang, "portal.mc050.menu." + id));
            item.set("url", "/mfes/services/" + id);
            menu.push_back(item);
        }
        d.set("menu", menu);
    }
    return d;
}

std::string render(const std::string& lang, const std::string& page, const template_data& d) {
    return store().render(lang, page, d);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_page_template_loads) {
    for (const auto& page : pages) BOOST_TEST(store().has(page), page);
}

// The checks below run in every language the store has; these two they must not lose.
BOOST_AUTO_TEST_CASE(japanese_and_english_are_loaded) {
    BOOST_TEST(store().default_language() == "ja");
    BOOST_TEST(store().has_language("en"));
}

BOOST_AUTO_TEST_CASE(no_javascript_in_any_template_file) {
    for (const auto& entry : fs::directory_iterator(templates_dir())) {
        if (entry.path().extension() != ".html") continue;
        BOOST_TEST_CONTEXT(entry.path().filename().string()) {
            const std::string text = lower(read_text(entry.path()));
            BOOST_TEST(!contains(text, "<script"));
            BOOST_TEST(!contains(text, "javascript:"));
            BOOST_TEST(all_matches(text, R"(\son[a-z]+\s*=)").empty(), "event handler attribute");
            BOOST_TEST(!contains(text, "style=\""), "inline style: use /static/style.css");
        }
    }
}

BOOST_AUTO_TEST_CASE(values_are_escaped_everywhere) {
    const template_data d = hostile_data();
    for (const auto& lang : languages()) {
        for (const auto& page : pages) {
            BOOST_TEST_CONTEXT(lang << " " << page) {
                const std::string html = render(lang, page, d);
                BOOST_TEST(!contains(lower(html), "<script"));
                BOOST_TEST(!contains(html, "alert(\"x\")"));
                BOOST_TEST(contains(html, hostile_escaped + "#portal_title"));
                // Every attribute value stays inside its double quotes.
                BOOST_TEST(all_matches(html, R"(="[^"]*'[^"]*")").empty());
            }
        }
        // Menu entries are escaped too, in text and in href.
        const std::string menu = render(lang, "menu.html", d);
        BOOST_TEST(contains(menu, "<a href=\"" + hostile_escaped + "#url\">" + hostile_escaped +
                                      "#label</a>"));
    }
}

BOOST_AUTO_TEST_CASE(pages_share_the_layout) {
    for (const auto& lang : languages()) {
        for (const auto& page : pages) {
            BOOST_TEST_CONTEXT(lang << " " << page) {
                const std::string html = render(lang, page, sample(page, lang));
                BOOST_TEST(html.starts_with("<!DOCTYPE html>"));
                BOOST_TEST(contains(html, "<html lang=\"" + lang + "\">"));
                BOOST_TEST(count(html, "<html") == 1u);
                BOOST_TEST(contains(html, "<meta charset=\"utf-8\">"));
                BOOST_TEST(contains(html, "name=\"viewport\""));
                BOOST_TEST(count(html, "<link rel=\"stylesheet\"") == 1u);
                BOOST_TEST(contains(html, "<link rel=\"stylesheet\" href=\"/static/style.css\">"));
                BOOST_TEST(count(html, "<h1") == 1u);
                BOOST_TEST(count(html, "<main>") == 1u);
                BOOST_TEST(count(html, "<header class=\"site\">") == 1u);
                BOOST_TEST(html.ends_with("</main>\n</body>\n</html>\n"));
                const std::string title = shown(lang, title_keys.at(page));
                BOOST_TEST(contains(html, "<title>" + title + " - " + shown_title(lang) + "</title>"));
                BOOST_TEST(contains(html, "<h1>" + title + "</h1>"));
                BOOST_TEST(contains(html, "<header class=\"site\"><p>" + shown_title(lang) + "</p>"));
                // Optional parts left out leave nothing behind.
                if (page != "locked.html") BOOST_TEST(!contains(html, "class=\"alert\""));
                BOOST_TEST(!contains(html, "{{"));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(labels_are_tied_to_inputs_and_forms_post_with_csrf) {
    for (const auto& lang : languages()) {
        for (const auto& page : pages) {
            BOOST_TEST_CONTEXT(lang << " " << page) {
                const std::string html = render(lang, page, sample(page, lang));
                const auto label_targets = all_matches(html, R"(<label for="([^"]+)\")", 1);
                const std::set<std::string> labelled(label_targets.begin(), label_targets.end());
                BOOST_TEST(labelled.size() == label_targets.size(), "two labels for one input");
                std::set<std::string> ids;
                for (const auto& input : all_matches(html, R"(<input[^>]*>)")) {
                    if (contains(input, "type=\"hidden\"") || contains(input, " hidden>")) continue;
                    const auto id = all_matches(input, R"( id="([^"]+)\")", 1);
                    BOOST_TEST_REQUIRE(id.size() == 1u, "visible input without id: " << input);
                    BOOST_TEST(labelled.contains(id[0]), "input without label: " << input);
                    ids.insert(id[0]);
                }
                for (const auto& target : labelled)
                    BOOST_TEST(ids.contains(target), "label for a missing input: " << target);

                for (const auto& form : all_matches(html, R"(<form[^>]*>[\s\S]*?</form>)")) {
                    BOOST_TEST(contains(form, "method=\"post\""), form);
                    BOOST_TEST(contains(form, "<input type=\"hidden\" name=\"csrf\" value=\"tok123\">"),
                               form);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(login_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            template_data d = sample("login.html", lang);
            d.set("error", catalog_text(lang, "message.bad_credentials"));
            d.set("selfcare_id", "user01");
            const std::string html = render(lang, "login.html", d);
            BOOST_TEST(contains(html, "<form action=\"/mfes/users/login\" method=\"post\">"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "login.intro") + "<br>" + shown(lang, "login.intro_note") +
                                          "</p>"));
            BOOST_TEST(contains(html, "<label for=\"selfcare_id\">" + shown(lang, "login.selfcare_id") + "</label>"));
            BOOST_TEST(contains(html, "<label for=\"password\">" + shown(lang, "login.password") + "</label>"));
            BOOST_TEST(contains(html, "autocomplete=\"username\""));
            BOOST_TEST(contains(html, "value=\"user01\""));
            BOOST_TEST(contains(html, "type=\"password\" id=\"password\" name=\"password\" "
                                      "autocomplete=\"current-password\""));
            BOOST_TEST(contains(html, "<button type=\"submit\">" + shown(lang, "login.submit") + "</button>"));
            BOOST_TEST(contains(html, "<button type=\"reset\">" + shown(lang, "login.reset") + "</button>"));
            BOOST_TEST(contains(html, "role=\"alert\">" + shown(lang, "message.bad_credentials") + "</p>"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "login.reissue_note") + "</p>"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "login.tel_label") +
                                          " <a href=\"tel:0120-987-123\">0120-987-123</a><br>" +
                                          shown(lang, "operator.support_hours") + "</p>"));
        }
    }
}

BOOST_AUTO_TEST_CASE(code_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            template_data d = sample("code.html", lang);
            std::string html = render(lang, "code.html", d);
            BOOST_TEST(contains(html, "<h1>" + shown(lang, "code.title") + "</h1>"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "code.intro") + "</p>"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "code.sent_to", {{"masked_email", "t***@example.jp"}}) +
                                          "</p>"));
            BOOST_TEST(contains(html, "<p>" +
                                          shown(lang, "code.mail_subject",
                                                {{"operator", catalog_text(lang, "operator.name")}}) +
                                          "</p>"));
            BOOST_TEST(contains(html, "<label for=\"code\">" + shown(lang, "code.code") + "</label>"));
            BOOST_TEST(contains(html, "<span class=\"hint\" id=\"code-hint\">" + shown(lang, "code.code_hint") +
                                          "</span>"));
            BOOST_TEST(contains(html, "inputmode=\"numeric\""));
            BOOST_TEST(contains(html, "autocomplete=\"one-time-code\""));
            BOOST_TEST(contains(html, "<form action=\"/mfes/users/login/code\" method=\"post\">"));
            BOOST_TEST(contains(html, "<button type=\"submit\">" + shown(lang, "code.submit") + "</button>"));
            // The note carries a link: shown as it is, not escaped.
            BOOST_TEST(contains(html, "<p>" +
                                          shown_as_is(lang, "code.lifetime_note",
                                                      {{"lifetime_minutes", "20"}, {"login_url", "/mfes/users/login"}}) +
                                          "</p>"));
            BOOST_TEST(contains(html, "<a href=\"/mfes/users/login\">"));
            BOOST_TEST(contains(html, "<a href=\"/mfes/users/login/address\">" +
                                          shown(lang, "portal.freevoice.address_link_text") + "</a>"));
            BOOST_TEST(contains(html, "<p class=\"notice\">" +
                                          shown(lang, "mail_domain_notice.text", {{"mail_domain", "comm.rakuten.co.jp"}}) +
                                          "</p>"));
            const std::string note = shown(lang, "portal.freevoice.code_screen_note");
            BOOST_TEST(!contains(html, note));  // no note unless set

            d.set("code_screen_note", catalog_text(lang, "portal.freevoice.code_screen_note"));
            d.set("error", catalog_text(lang, "message.wrong_code"));
            html = render(lang, "code.html", d);
            BOOST_TEST(contains(html, "<p>" + note + "</p>"));
            BOOST_TEST(contains(html, "role=\"alert\">" + shown(lang, "message.wrong_code") + "</p>"));

            // A code sent to a new address (address form, account page) does not claim the registered one.
            d.set("to_new_address", true);
            html = render(lang, "code.html", d);
            BOOST_TEST(!contains(html, shown(lang, "code.intro")));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "code.intro_new_address") + "</p>"));
            BOOST_TEST(contains(html, "t***@example.jp"));

            // A change that waits: the intro says how long, and only it is shown.
            d.set("to_new_address", false);
            d.set("to_held_address", true);
            d.set("hold_hours", "72");
            html = render(lang, "code.html", d);
            BOOST_TEST(contains(html, "<p>" + shown(lang, "code.intro_held_address", {{"hold_hours", "72"}}) + "</p>"));
            BOOST_TEST(!contains(html, shown(lang, "code.intro")));
            BOOST_TEST(!contains(html, shown(lang, "code.intro_new_address")));
        }
    }
}

BOOST_AUTO_TEST_CASE(address_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            template_data d = sample("address.html", lang);
            d.set("email", "taro@example.jp");
            d.set("phone", "0312345678");
            d.set("error", catalog_text(lang, "message.wrong_phone"));
            std::string html = render(lang, "address.html", d);
            BOOST_TEST(contains(html, "<form action=\"/mfes/users/login/address\" method=\"post\">"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "address.intro") + "</p>"));
            BOOST_TEST(contains(html, "<label for=\"email\">" + shown(lang, "address.email") + "</label>"));
            BOOST_TEST(contains(html, "type=\"email\" id=\"email\" name=\"email\" value=\"taro@example.jp\""));
            BOOST_TEST(contains(html, "<label for=\"phone\">" + shown(lang, "address.phone") + "</label>"));
            BOOST_TEST(contains(html, "<span class=\"hint\" id=\"phone-hint\">" + shown(lang, "address.phone_hint") +
                                          "</span>"));
            BOOST_TEST(contains(html, "type=\"tel\" id=\"phone\" name=\"phone\" value=\"0312345678\" "
                                      "inputmode=\"numeric\""));
            BOOST_TEST(contains(html, "<button type=\"submit\">" + shown(lang, "address.submit") + "</button>"));
            BOOST_TEST(contains(html, "role=\"alert\">" + shown(lang, "message.wrong_phone") + "</p>"));
            BOOST_TEST(contains(html, "<p class=\"notice\">" +
                                          shown(lang, "mail_domain_notice.text", {{"mail_domain", "comm.rakuten.co.jp"}}) +
                                          "</p>"));
            BOOST_TEST(!contains(html, shown(lang, "address.back_to_code")));  // only with back_url

            d.set("back_url", "/mfes/users/login/code");
            html = render(lang, "address.html", d);
            BOOST_TEST(contains(html, "<a href=\"/mfes/users/login/code\">" + shown(lang, "address.back_to_code") +
                                          "</a>"));
        }
    }
}

BOOST_AUTO_TEST_CASE(locked_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            std::string html = render(lang, "locked.html", sample("locked.html", lang));
            BOOST_TEST(contains(html, "role=\"alert\">" +
                                          shown(lang, "locked.address_locked", {{"phone_strikes", "3"}}) + "</p>"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "locked.contact_us") + "</p>"));
            BOOST_TEST(contains(html, "<a href=\"https://comm.rakuten.co.jp/toiawase/selfcare-mail/\">"));
            BOOST_TEST(!contains(html, "<form"));
            BOOST_TEST(!shows_part_of(html, lang, "locked.password_locked"));
            BOOST_TEST(!shows_part_of(html, lang, "locked.back_to_login"));  // only with login_url

            // The number of strikes comes from config.
            template_data five = sample("locked.html", lang);
            five.set("phone_strikes", "5");
            BOOST_TEST(contains(render(lang, "locked.html", five),
                                shown(lang, "locked.address_locked", {{"phone_strikes", "5"}})));

            template_data back = sample("locked.html", lang);
            back.set("login_url", "/mfes/users/login");
            BOOST_TEST(contains(render(lang, "locked.html", back),
                                "<a href=\"/mfes/users/login\">" + shown(lang, "locked.back_to_login") + "</a>"));

            // Each lock has its own notice and shows no part of the others: a form locked by a
            // cancelled change does not blame phone numbers, the password lock not the address.
            const std::vector<std::string> notices{"address_locked", "address_cancelled", "address_not_offered",
                                                   "support_locked", "password_locked"};
            for (const auto& notice : notices) {
                BOOST_TEST_CONTEXT(notice) {
                    template_data d = sample("locked.html", lang);
                    d.set("address_locked", false);
                    d.set(notice, true);
                    html = render(lang, "locked.html", d);
                    BOOST_TEST(contains(html, "role=\"alert\">" +
                                                  shown(lang, "locked." + notice, {{"phone_strikes", "3"}}) + "</p>"));
                    BOOST_TEST(count(html, "class=\"alert\"") == 1u);
                    for (const auto& other : notices)
                        if (other != notice) BOOST_TEST(!shows_part_of(html, lang, "locked." + other), other);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(account_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            template_data d = sample("account.html", lang);
            std::string html = render(lang, "account.html", d);
            BOOST_TEST(contains(html, "<dt>" + shown(lang, "account.selfcare_id") + "</dt><dd>user01</dd>"));
            BOOST_TEST(contains(html, "<dt>" + shown(lang, "account.email") + "</dt><dd>t***@example.jp</dd>"));
            BOOST_TEST(contains(html, "<dt>" + shown(lang, "account.phone") + "</dt><dd>*******5678</dd>"));
            BOOST_TEST(contains(html, "<h2>" + shown(lang, "account.email_heading") + "</h2>"));
            BOOST_TEST(contains(html, "<form action=\"/selfcare/account/email\" method=\"post\">"));
            BOOST_TEST(contains(html, "<label for=\"new_email\">" + shown(lang, "account.new_email") + "</label>"));
            BOOST_TEST(contains(html, "type=\"email\" id=\"new_email\" name=\"new_email\""));
            const std::string hint_now = shown_with_sections(lang, "account.new_email_hint", d);
            BOOST_TEST(contains(html, "<span class=\"hint\" id=\"new-email-hint\">" + hint_now + "</span>"));
            BOOST_TEST(contains(html, "<label for=\"email_current_password\">" +
                                          shown(lang, "account.current_password") + "</label>"));
            BOOST_TEST(contains(html, "name=\"email_current_password\" autocomplete=\"current-password\""));

            // A change that waits: the hint says how long, the pending address when it takes effect.
            d.set("hold_hours", "72");
            d.set("pending_email", "n***@example.jp");
            d.set("pending_email_at", "2026-12-10 09:00");
            const std::string held = render(lang, "account.html", d);
            const std::string hint_held = shown_with_sections(lang, "account.new_email_hint", d);
            BOOST_TEST(hint_held != hint_now);
            BOOST_TEST(contains(held, "<span class=\"hint\" id=\"new-email-hint\">" + hint_held + "</span>"));
            BOOST_TEST(!contains(held, hint_now));
            BOOST_TEST(contains(hint_held, "72"));
            BOOST_TEST(contains(held, "<span class=\"hint\">" +
                                          shown(lang, "account.pending_email",
                                                {{"pending_email", "n***@example.jp"},
                                                 {"pending_email_at", "2026-12-10 09:00"}}) +
                                          "</span>"));
            BOOST_TEST(!contains(html, "<span class=\"hint\">"));  // no change waiting, no line for it

            BOOST_TEST(contains(html, "<h2>" + shown(lang, "account.password_heading") + "</h2>"));
            BOOST_TEST(contains(html, "<form action=\"/selfcare/account/password\" method=\"post\">"));
            BOOST_TEST(contains(html, "<label for=\"current_password\">" + shown(lang, "account.current_password") +
                                          "</label>"));
            BOOST_TEST(contains(html, "name=\"current_password\" autocomplete=\"current-password\""));
            BOOST_TEST(contains(html, "<label for=\"new_password\">" + shown(lang, "account.new_password") +
                                          "</label>"));
            BOOST_TEST(contains(html, "name=\"new_password\" autocomplete=\"new-password\" minlength=\"10\""));
            BOOST_TEST(contains(html, "<span class=\"hint\" id=\"new-password-hint\">" +
                                          shown(lang, "account.new_password_hint", {{"min_password", "10"}}) +
                                          "</span>"));
            BOOST_TEST(count(html, "<button type=\"submit\">" + shown(lang, "account.submit") + "</button>") == 2u);
            BOOST_TEST(contains(html, "<form action=\"/selfcare/logout\" method=\"post\" class=\"logout\">"));
            BOOST_TEST(contains(html, "<button type=\"submit\">" + shown(lang, "site.logout") + "</button>"));

            // No address registered: say so.
            template_data none = sample("account.html", lang);
            none.set("masked_email", false);
            html = render(lang, "account.html", none);
            BOOST_TEST(contains(html, "<dt>" + shown(lang, "account.email") + "</dt><dd>" +
                                          shown(lang, "account.not_registered") + "</dd>"));

            d.set("notice", catalog_text(lang, "account.password_changed"));
            html = render(lang, "account.html", d);
            BOOST_TEST(contains(html, "role=\"status\">" + shown(lang, "account.password_changed") + "</p>"));
        }
    }
}

BOOST_AUTO_TEST_CASE(menu_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            template_data d = sample("menu.html", lang);
            std::string html = render(lang, "menu.html", d);
            BOOST_TEST(contains(html, "<h1>" + shown(lang, "menu.title") + "</h1>"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "menu.intro") + "</p>"));
            for (const auto& id : menu_ids)
                BOOST_TEST(contains(html, "<li><a href=\"/mfes/services/" + id + "\">" +
                                              shown(lang, "portal.mc050.menu." + id) + "</a></li>"));
            BOOST_TEST(html.find("add-number") < html.find("mc050-register"));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "menu.after_choice") + "</p>"));
            BOOST_TEST(contains(html, "<form action=\"/mfes/logout\" method=\"post\" class=\"logout\">"));
            BOOST_TEST(contains(html, "<button type=\"submit\">" + shown(lang, "site.logout") + "</button>"));
            BOOST_TEST(contains(html, "<h2>" + shown(lang, "menu.security_heading") + "</h2>\n<p>" +
                                          shown(lang, "menu.security_text") + "</p>"));
            BOOST_TEST(!contains(html, shown(lang, "menu.manual_download")));  // only when manual_url is set

            d.set("manual_url", "/mfes/manual.pdf");
            html = render(lang, "menu.html", d);
            BOOST_TEST(contains(html, "<a href=\"/mfes/manual.pdf\">" + shown(lang, "menu.manual_download") + "</a>"));
        }
    }
}

BOOST_AUTO_TEST_CASE(address_cancel_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            std::string html = render(lang, "address_cancel.html", sample("address_cancel.html", lang));
            BOOST_TEST(contains(html, "<p>" + shown(lang, "address_cancel.confirm_intro") + "</p>\n<p>" +
                                          shown(lang, "address_cancel.confirm_effect") + "</p>"));
            BOOST_TEST(contains(html, "<form action=\"/portal/mc050/address/cancel\" method=\"post\">"));
            BOOST_TEST(contains(html, "<input type=\"hidden\" name=\"t\" value=\"link-token\">"));
            BOOST_TEST(contains(html, "<button type=\"submit\">" + shown(lang, "address_cancel.submit") + "</button>"));
            BOOST_TEST(!contains(html, shown(lang, "address_cancel.done")));
            BOOST_TEST(!contains(html, shown(lang, "address_cancel.invalid")));

            // After the cancel, and for a link that does not work: no form, the way to ask.
            for (const std::string state : {"done", "invalid"}) {
                BOOST_TEST_CONTEXT(state) {
                    template_data d = sample("address_cancel.html", lang);
                    d.set("confirm", false);
                    d.set(state, true);
                    d.set("enquiry_url", "https://comm.rakuten.co.jp/toiawase/selfcare-mail/");
                    html = render(lang, "address_cancel.html", d);
                    const std::string role = state == "done" ? "status" : "alert";
                    BOOST_TEST(contains(html, "role=\"" + role + "\">" + shown(lang, "address_cancel." + state) + "</p>"));
                    BOOST_TEST(contains(html, "<p>" + shown(lang, "address_cancel.contact_us") + "</p>"));
                    BOOST_TEST(contains(html, "<a href=\"https://comm.rakuten.co.jp/toiawase/selfcare-mail/\">"));
                    BOOST_TEST(!contains(html, "<form"));
                    BOOST_TEST(!contains(html, shown(lang, "address_cancel.confirm_intro")));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(partials_are_not_pages) {
    BOOST_TEST(!store().has("_head.html"));
    BOOST_TEST(!store().has("_site_header.html"));
    BOOST_CHECK_THROW(store().render("_head.html", sample("login.html", "ja")), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(logout_button_only_behind_the_login) {
    for (const auto& lang : languages()) {
        for (const auto& page : pages) {
            BOOST_TEST_CONTEXT(lang << " " << page) {
                const std::string html = render(lang, page, sample(page, lang));
                const bool behind_login = page == "account.html" || page == "menu.html";
                BOOST_TEST(contains(html, shown(lang, "site.logout") + "</button>") == behind_login);
                BOOST_TEST(contains(html, shown(lang, "site.forget_device") + "</label>") == behind_login);
                // The header is one line without the button, as before the partials.
                if (!behind_login)
                    BOOST_TEST(contains(html, "\n<header class=\"site\"><p>" + shown_title(lang) +
                                                  "</p></header>\n<main>\n"));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(error_page) {
    for (const auto& lang : languages()) {
        BOOST_TEST_CONTEXT(lang) {
            template_data d;
            d.set("status", "404");
            d.set("reason", "Not Found");
            d.set("lang", lang);
            d.set("message", hostile + "#" + lang);
            std::string html = render(lang, "error.html", d);
            BOOST_TEST(html.starts_with("<!DOCTYPE html>\n<html lang=\"" + lang +
                                        "\">\n<head>\n<meta charset=\"utf-8\">\n"));
            BOOST_TEST(contains(html, "<title>404 Not Found</title>\n<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
                                      "</head>\n<body>\n<main class=\"error\">\n<h1>404 Not Found</h1>\n"));
            BOOST_TEST(contains(html, "<p>" + hostile_escaped + "#" + lang + "</p>"));
            BOOST_TEST(!contains(html, "<header"));
            BOOST_TEST(html.ends_with("</main>\n</body>\n</html>\n"));

            // The message the server gives it: the catalog's text for the status.
            d.set("message", catalog_text(lang, "error.404"));
            html = render(lang, "error.html", d);
            BOOST_TEST(contains(html, "<p>" + shown(lang, "error.404") + "</p>"));
        }
    }
}

BOOST_AUTO_TEST_CASE(pages_render_the_same_from_many_threads) {
    constexpr int thread_count = 8;
    constexpr int rounds = 40;
    // Each thread has its own values and the threads take turns with the languages, so output
    // mixed up between threads or languages shows.
    const auto lang_of = [](int thread) { return languages()[static_cast<std::size_t>(thread) % languages().size()]; };
    const auto data_of = [&](const std::string& page, int thread) {
        template_data d = sample(page, lang_of(thread));
        d.set("csrf", "tok-" + std::to_string(thread));
        d.set("portal_title", "portal <" + std::to_string(thread) + ">");
        return d;
    };
    std::map<std::pair<std::string, int>, std::string> expected;
    for (int t = 0; t < thread_count; ++t)
        for (const auto& page : pages) expected[{page, t}] = render(lang_of(t), page, data_of(page, t));

    std::atomic<int> wrong{0};  // Boost.Test assertions are not thread-safe: count, check after
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < rounds; ++round)
                for (const auto& page : pages)
                    if (render(lang_of(t), page, data_of(page, t)) != expected.at({page, t})) ++wrong;
        });
    for (auto& thread : threads) thread.join();
    BOOST_TEST(wrong.load() == 0);
    BOOST_TEST(contains(expected.at({"login.html", 3}), "<p>portal &lt;3&gt;</p>"));
    BOOST_TEST(contains(expected.at({"login.html", 3}), "<html lang=\"" + lang_of(3) + "\">"));
}
