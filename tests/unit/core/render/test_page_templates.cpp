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
#include <vector>

#include "core/render/template_store.hpp"

namespace fs = std::filesystem;
using kainjow::mustache::data;
using nidan::template_data;
using nidan::template_store;

namespace {

fs::path templates_dir() { return fs::path(NIDAN_SOURCE_DIR) / "templates"; }

const template_store& store() {
    static const template_store loaded(templates_dir(), "ja");
    return loaded;
}

const std::vector<std::string> pages{"login.html",  "code.html",    "address.html",
                                     "locked.html", "account.html", "menu.html", "address_cancel.html"};

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

// Realistic data for one page; optional parts (error, notes, URLs) left out.
template_data sample(const std::string& page) {
    template_data d;
    d.set("lang", "ja");
    d.set("portal_title", "モバイルチョイス\"050\" - 各種サービス設定・変更 -");
    d.set("csrf", "tok123");
    d.set("operator", "楽天コミュニケーションズ");
    d.set("mail_domain", "comm.rakuten.co.jp");
    if (page == "login.html") {
        d.set("action", "/mfes/users/login");
        d.set("support_phone", "0120-987-123");
        d.set("support_hours", "受付時間:9時~17時30分(土日祝日・年末年始を除く平日のみ)");
    } else if (page == "code.html") {
        d.set("action", "/mfes/users/login/code");
        d.set("masked_email", "t***@example.jp");
        d.set("address_link_text", "メールアドレス登録・変更");
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
        for (const auto& [label, url] :
             std::vector<std::pair<std::string, std::string>>{
                 {"IP電話番号(050番号) 追加申込", "/mfes/services/add-number"},
                 {"モバイルチョイス050登録", "/mfes/services/mc050-register"}}) {
            data item;
            item.set("label", label);
            item.set("url", url);
            menu.push_back(item);
        }
        d.set("menu", menu);
    }
    return d;
}

std::string render(const std::string& page, const template_data& d) {
    return store().render(page, d);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_page_template_loads) {
    for (const auto& page : pages) BOOST_TEST(store().has(page), page);
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
    for (const auto& page : pages) {
        BOOST_TEST_CONTEXT(page) {
            const std::string html = render(page, d);
            BOOST_TEST(!contains(lower(html), "<script"));
            BOOST_TEST(!contains(html, "alert(\"x\")"));
            BOOST_TEST(contains(html, hostile_escaped + "#portal_title"));
            // Every attribute value stays inside its double quotes.
            BOOST_TEST(all_matches(html, R"(="[^"]*'[^"]*")").empty());
        }
    }
    // Menu entries are escaped too, in text and in href.
    const std::string menu = render("menu.html", d);
    BOOST_TEST(contains(menu, "<a href=\"" + hostile_escaped + "#url\">" + hostile_escaped +
                                  "#label</a>"));
}

BOOST_AUTO_TEST_CASE(pages_share_the_layout) {
    for (const auto& page : pages) {
        BOOST_TEST_CONTEXT(page) {
            const std::string html = render(page, sample(page));
            BOOST_TEST(html.starts_with("<!DOCTYPE html>"));
            BOOST_TEST(contains(html, "<html lang=\"ja\">"));
            BOOST_TEST(contains(html, "<meta charset=\"utf-8\">"));
            BOOST_TEST(contains(html, "name=\"viewport\""));
            BOOST_TEST(count(html, "<link rel=\"stylesheet\"") == 1u);
            BOOST_TEST(contains(html, "<link rel=\"stylesheet\" href=\"/static/style.css\">"));
            BOOST_TEST(count(html, "<h1") == 1u);
            BOOST_TEST(count(html, "<main>") == 1u);
            BOOST_TEST(count(html, "<header class=\"site\">") == 1u);
            BOOST_TEST(html.ends_with("</main>\n</body>\n</html>\n"));
            BOOST_TEST(contains(html, "モバイルチョイス&quot;050&quot; - 各種サービス設定・変更 -"));
            // Optional parts left out leave nothing behind.
            if (page != "locked.html") BOOST_TEST(!contains(html, "class=\"alert\""));
            BOOST_TEST(!contains(html, "{{"));
        }
    }
}

BOOST_AUTO_TEST_CASE(labels_are_tied_to_inputs_and_forms_post_with_csrf) {
    for (const auto& page : pages) {
        BOOST_TEST_CONTEXT(page) {
            const std::string html = render(page, sample(page));
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

BOOST_AUTO_TEST_CASE(login_page) {
    template_data d = sample("login.html");
    d.set("error", "セルフケアIDまたはセルフケアパスワードが正しくありません。");
    d.set("selfcare_id", "user01");
    const std::string html = render("login.html", d);
    BOOST_TEST(contains(html, "<form action=\"/mfes/users/login\" method=\"post\">"));
    BOOST_TEST(contains(html, ">セルフケアID</label>"));
    BOOST_TEST(contains(html, ">セルフケアパスワード</label>"));
    BOOST_TEST(contains(html, "autocomplete=\"username\""));
    BOOST_TEST(contains(html, "value=\"user01\""));
    BOOST_TEST(contains(html, "type=\"password\" id=\"password\" name=\"password\" "
                              "autocomplete=\"current-password\""));
    BOOST_TEST(contains(html, "<button type=\"submit\">送信</button>"));
    BOOST_TEST(contains(html, "<button type=\"reset\">リセット</button>"));
    BOOST_TEST(contains(html, "role=\"alert\">セルフケアIDまたはセルフケアパスワードが正しくありません。</p>"));
    BOOST_TEST(contains(html, "※セルフケアID・パスワードを再発行ご希望の場合は、"
                              "下記カスタマーセンターにお問い合わせください。"));
    BOOST_TEST(contains(html, "0120-987-123"));
    BOOST_TEST(contains(html, "受付時間:9時~17時30分(土日祝日・年末年始を除く平日のみ)"));
}

BOOST_AUTO_TEST_CASE(code_page) {
    template_data d = sample("code.html");
    std::string html = render("code.html", d);
    BOOST_TEST(contains(html, "<h1>認証コードチェック</h1>"));
    BOOST_TEST(contains(html, "メール認証によるご本人様確認を行います。ご契約時に登録のメールアドレス宛に"
                              "認証コードを送信しました。受信した認証コードを入力してください。"));
    BOOST_TEST(contains(html, "t***@example.jp"));
    BOOST_TEST(contains(html, "メール件名:【楽天コミュニケーションズ】ログイン認証コードの送付"));
    BOOST_TEST(contains(html, ">認証コード</label>"));
    BOOST_TEST(contains(html, "(半角で入力してください)"));
    BOOST_TEST(contains(html, "inputmode=\"numeric\""));
    BOOST_TEST(contains(html, "autocomplete=\"one-time-code\""));
    BOOST_TEST(contains(html, "<form action=\"/mfes/users/login/code\" method=\"post\">"));
    BOOST_TEST(contains(html, "<button type=\"submit\">送信</button>"));
    BOOST_TEST(contains(html, "有効期限は20分"));
    BOOST_TEST(contains(html, "<a href=\"/mfes/users/login\">"));
    BOOST_TEST(contains(html, "<a href=\"/mfes/users/login/address\">メールアドレス登録・変更</a>"));
    BOOST_TEST(contains(html, "※「comm.rakuten.co.jp」からのメールを受信できるようにドメイン指定受信の設定を"
                              "お願いいたします。"));
    BOOST_TEST(!contains(html, "上記リンクから"));  // no note unless set

    d.set("code_screen_note",
          "認証コードが受信できない場合は上記リンクからメールアドレスの登録・変更を行ってください");
    d.set("error", "認証コードが正しくありません。");
    html = render("code.html", d);
    BOOST_TEST(contains(html, "<p>認証コードが受信できない場合は上記リンクからメールアドレスの"
                              "登録・変更を行ってください</p>"));
    BOOST_TEST(contains(html, "role=\"alert\">認証コードが正しくありません。</p>"));

    // A code sent to a new address (address form, account page) does not claim the registered one.
    d.set("to_new_address", true);
    html = render("code.html", d);
    BOOST_TEST(!contains(html, "ご契約時に登録のメールアドレス宛に"));
    BOOST_TEST(contains(html, "ご入力いただいた新しいメールアドレス宛に認証コードを送信しました。"));
    BOOST_TEST(contains(html, "t***@example.jp"));
}

BOOST_AUTO_TEST_CASE(address_page) {
    template_data d = sample("address.html");
    d.set("email", "taro@example.jp");
    d.set("phone", "0312345678");
    d.set("error", "連絡先電話番号が一致しません。");
    const std::string html = render("address.html", d);
    BOOST_TEST(contains(html, "<form action=\"/mfes/users/login/address\" method=\"post\">"));
    BOOST_TEST(contains(html, "メールアドレス</label>"));
    BOOST_TEST(contains(html, "type=\"email\" id=\"email\" name=\"email\" value=\"taro@example.jp\""));
    BOOST_TEST(contains(html, "連絡先電話番号(ハイフン無し)</label>"));
    BOOST_TEST(contains(html, "type=\"tel\" id=\"phone\" name=\"phone\" value=\"0312345678\" "
                              "inputmode=\"numeric\""));
    BOOST_TEST(contains(html, "<button type=\"submit\">送信</button>"));
    BOOST_TEST(contains(html, "role=\"alert\">連絡先電話番号が一致しません。</p>"));
    BOOST_TEST(contains(html, "※「comm.rakuten.co.jp」からのメールを受信できるようにドメイン指定受信の設定を"
                              "お願いいたします。"));
}

BOOST_AUTO_TEST_CASE(locked_page) {
    const std::string html = render("locked.html", sample("locked.html"));
    BOOST_TEST(contains(html, "連絡先電話番号"));
    BOOST_TEST(contains(html, "3回一致しなかった"));
    BOOST_TEST(contains(html, "ロックされました"));
    BOOST_TEST(contains(html, "下記サイトからお問い合わせください。"));
    BOOST_TEST(contains(html, "<a href=\"https://comm.rakuten.co.jp/toiawase/selfcare-mail/\">"));
    BOOST_TEST(!contains(html, "<form"));
    BOOST_TEST(!contains(html, "セルフケアパスワード"));

    // The number of strikes comes from config; the password lock has its own notice.
    template_data five = sample("locked.html");
    five.set("phone_strikes", "5");
    BOOST_TEST(contains(render("locked.html", five), "5回一致しなかった"));
    template_data password = sample("locked.html");
    password.set("address_locked", false);
    password.set("password_locked", true);
    const std::string notice = render("locked.html", password);
    BOOST_TEST(contains(notice, "セルフケアパスワードの入力誤りが続いたため"));
    BOOST_TEST(contains(notice, "ロックされています"));
    BOOST_TEST(!contains(notice, "連絡先電話番号"));
    BOOST_TEST(count(notice, "class=\"alert\"") == 1u);
    // A form locked by a cancelled change does not blame phone numbers.
    template_data cancelled = sample("locked.html");
    cancelled.set("address_locked", false);
    cancelled.set("address_cancelled", true);
    const std::string after_cancel = render("locked.html", cancelled);
    BOOST_TEST(contains(after_cancel, "登録メールアドレスの変更が取り消されたため、メールアドレスの登録・変更はロックされています。"));
    BOOST_TEST(!contains(after_cancel, "一致しなかった"));
    BOOST_TEST(count(after_cancel, "class=\"alert\"") == 1u);
}

BOOST_AUTO_TEST_CASE(account_page) {
    template_data d = sample("account.html");
    std::string html = render("account.html", d);
    BOOST_TEST(contains(html, "<dd>user01</dd>"));
    BOOST_TEST(contains(html, "<dd>t***@example.jp</dd>"));
    BOOST_TEST(contains(html, "<dd>*******5678</dd>"));
    BOOST_TEST(contains(html, "<form action=\"/selfcare/account/email\" method=\"post\">"));
    BOOST_TEST(contains(html, "type=\"email\" id=\"new_email\" name=\"new_email\""));
    BOOST_TEST(contains(html, "認証コードを送信し、現在の登録メールアドレスに変更のお知らせをお送りします。"));
    BOOST_TEST(contains(html, "name=\"email_current_password\" autocomplete=\"current-password\""));
    BOOST_TEST(contains(html, "認証コードを入力すると変更が完了します。"));
    d.set("hold_hours", "72");
    d.set("pending_email", "n***@example.jp");
    d.set("pending_email_at", "2026年12月10日 09時00分");
    const std::string held = render("account.html", d);
    BOOST_TEST(contains(held, "認証コードの入力から72時間後に変更が完了します。"));
    BOOST_TEST(contains(held, "変更手続き中: n***@example.jp(2026年12月10日 09時00分に変更されます)"));
    BOOST_TEST(contains(html, "<form action=\"/selfcare/account/password\" method=\"post\">"));
    BOOST_TEST(contains(html, "name=\"current_password\" autocomplete=\"current-password\""));
    BOOST_TEST(contains(html, "name=\"new_password\" autocomplete=\"new-password\" minlength=\"10\""));
    BOOST_TEST(contains(html, "10文字以上"));
    BOOST_TEST(contains(html, "<form action=\"/selfcare/logout\" method=\"post\" class=\"logout\">"));
    BOOST_TEST(contains(html, "<button type=\"submit\">ログアウト</button>"));

    // No address registered: say so.
    template_data none = sample("account.html");
    none.set("masked_email", false);
    html = render("account.html", none);
    BOOST_TEST(contains(html, "<dt>メールアドレス</dt><dd>未登録</dd>"));

    d.set("notice", "メールアドレスを変更しました。");
    html = render("account.html", d);
    BOOST_TEST(contains(html, "role=\"status\">メールアドレスを変更しました。</p>"));
}

BOOST_AUTO_TEST_CASE(menu_page) {
    template_data d = sample("menu.html");
    std::string html = render("menu.html", d);
    BOOST_TEST(contains(html, "<h1>設定内容選択</h1>"));
    BOOST_TEST(contains(html, "<li><a href=\"/mfes/services/add-number\">IP電話番号(050番号) 追加申込</a></li>"));
    BOOST_TEST(contains(html, "<li><a href=\"/mfes/services/mc050-register\">モバイルチョイス050登録</a></li>"));
    BOOST_TEST(html.find("add-number") < html.find("mc050-register"));
    BOOST_TEST(contains(html, "<form action=\"/mfes/logout\" method=\"post\" class=\"logout\">"));
    BOOST_TEST(contains(html, "ログアウト"));
    BOOST_TEST(contains(html, "SSL"));
    BOOST_TEST(!contains(html, "マニュアルダウンロード"));  // only when manual_url is set

    d.set("manual_url", "/mfes/manual.pdf");
    html = render("menu.html", d);
    BOOST_TEST(contains(html, "<a href=\"/mfes/manual.pdf\">マニュアルダウンロード</a>"));
}

BOOST_AUTO_TEST_CASE(partials_are_not_pages) {
    BOOST_TEST(!store().has("_head.html"));
    BOOST_TEST(!store().has("_site_header.html"));
    BOOST_CHECK_THROW(store().render("_head.html", sample("login.html")), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(logout_button_only_behind_the_login) {
    for (const auto& page : pages) {
        BOOST_TEST_CONTEXT(page) {
            const std::string html = render(page, sample(page));
            const bool behind_login = page == "account.html" || page == "menu.html";
            BOOST_TEST(contains(html, "ログアウト</button>") == behind_login);
            // The header is one line without the button, as before the partials.
            if (!behind_login)
                BOOST_TEST(contains(html, "\n<header class=\"site\"><p>モバイルチョイス&quot;050&quot; - "
                                          "各種サービス設定・変更 -</p></header>\n<main>\n"));
        }
    }
}

BOOST_AUTO_TEST_CASE(error_page) {
    template_data d;
    d.set("status", "404");
    d.set("reason", "Not Found");
    d.set("lang", "ja");
    d.set("message", hostile + "#ja");
    const std::string html = render("error.html", d);
    BOOST_TEST(html.starts_with("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"));
    BOOST_TEST(contains(html, "<title>404 Not Found</title>\n<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
                              "</head>\n<body>\n<main class=\"error\">\n<h1>404 Not Found</h1>\n"));
    BOOST_TEST(contains(html, "<p>" + hostile_escaped + "#ja</p>"));
    BOOST_TEST(!contains(html, "<header"));
    BOOST_TEST(html.ends_with("</main>\n</body>\n</html>\n"));
}

BOOST_AUTO_TEST_CASE(pages_render_the_same_from_many_threads) {
    constexpr int thread_count = 8;
    constexpr int rounds = 40;
    // Each thread has its own values, so output mixed up between threads shows.
    const auto data_of = [](const std::string& page, int thread) {
        template_data d = sample(page);
        d.set("csrf", "tok-" + std::to_string(thread));
        d.set("portal_title", "portal <" + std::to_string(thread) + ">");
        return d;
    };
    std::map<std::pair<std::string, int>, std::string> expected;
    for (int t = 0; t < thread_count; ++t)
        for (const auto& page : pages) expected[{page, t}] = render(page, data_of(page, t));

    std::atomic<int> wrong{0};  // Boost.Test assertions are not thread-safe: count, check after
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < rounds; ++round)
                for (const auto& page : pages)
                    if (render(page, data_of(page, t)) != expected.at({page, t})) ++wrong;
        });
    for (auto& thread : threads) thread.join();
    BOOST_TEST(wrong.load() == 0);
    BOOST_TEST(contains(expected.at({"login.html", 3}), "<p>portal &lt;3&gt;</p>"));
}
