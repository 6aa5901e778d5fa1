// The two-step login in a real browser: Debian's chromium, headless, driven through chromedriver
// (the W3C WebDriver protocol, JSON over HTTP on 127.0.0.1) against the real `nidan serve`. It
// types into the forms and clicks the buttons a person would, reads the code from the mail the
// aiosmtpd capture relay received, and looks at what the browser ends up with: the URL, the page,
// the cookies it keeps. Screenshots go to the test's temp folder, and the last one of each case
// also to $NIDAN_SCREENSHOT_DIR when that is set.
//
// chromium, chromium-driver and fonts-noto-cjk come from scripts/install-deps.sh (run by the
// README's scripts/test.sh); when the browser or the driver is missing the test fails and says so.
#define BOOST_TEST_MODULE browser
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string chromium_binary = "/usr/bin/chromium";
const std::string chromedriver_binary = "/usr/bin/chromedriver";

const std::string& password = account_password;
const std::string msg_wrong_phone = "入力された連絡先電話番号が、登録されている電話番号と一致しません。";
const std::string msg_forbidden = "このリクエストは許可されていません。";

const std::vector<std::string> mc050_menu{
    "IP電話番号(050番号) 追加申込", "モバイルチョイス050登録", "モバイルチョイス050解除",
    "マスタテーブル設定(グループ・利用制限)", "グループ・利用制限設定・内容変更", "着信拒否一括登録・削除",
    "アップロード・ダウンロード"};

// How long the browser gets for one step (a page load, an element to appear, a mail to arrive).
constexpr auto step_timeout = 10s;

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

bool ends_with(const std::string& text, const std::string& suffix) { return text.ends_with(suffix); }

std::string fullwidth(const std::string& digits) {
    std::string out;
    for (const char c : digits) {
        out += "\xEF\xBC";
        out += static_cast<char>(0x90 + (c - '0'));
    }
    return out;
}

std::string base64_decode(const std::string& text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (const char c : text) {
        const int v = value(c);
        if (v < 0) continue;  // padding, line breaks
        bits = (bits << 6) | static_cast<unsigned>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFFu);
        }
    }
    return out;
}

// Everything but unreserved characters percent-encoded (for a data: URL).
std::string percent_encode(const std::string& text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

void require_browser_installed() {
    BOOST_TEST_REQUIRE(::access(chromium_binary.c_str(), X_OK) == 0,
                       chromium_binary << " is missing: run scripts/install-deps.sh (or apt-get install chromium)");
    BOOST_TEST_REQUIRE(::access(chromedriver_binary.c_str(), X_OK) == 0,
                       chromedriver_binary
                           << " is missing: run scripts/install-deps.sh (or apt-get install chromium-driver)");
}

// chromedriver as a child process in its own process group (so the browsers it starts can be
// stopped with it), listening on a free loopback port; ready once /status says so.
class chromedriver_process {
public:
    explicit chromedriver_process(const fs::path& log) : log_(log) {
        port_ = free_port();
        const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log_fd < 0) throw std::runtime_error("cannot create " + log_.string());
        const std::string port_arg = "--port=" + std::to_string(port_);
        std::vector<char*> argv{const_cast<char*>(chromedriver_binary.c_str()), const_cast<char*>(port_arg.c_str()),
                                nullptr};
        pid_ = ::fork();
        if (pid_ < 0) {
            ::close(log_fd);
            throw std::runtime_error("fork failed");
        }
        if (pid_ == 0) {
            ::setpgid(0, 0);
            const int null_fd = ::open("/dev/null", O_RDONLY);
            if (null_fd >= 0) ::dup2(null_fd, 0);
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::setpgid(pid_, pid_);  // also from the parent, so no race with the kill below
        ::close(log_fd);
        const bool ready = eventually(
            [&] {
                if (exited()) return true;
                try {
                    const auto reply = get(port_, "/status");
                    if (!reply || reply->status != 200) return false;
                    const auto status = json::parse(reply->body);
                    return status.at("value").at("ready").as_bool();
                } catch (const std::exception&) {
                    return false;
                }
            },
            step_timeout, 100ms);
        if (!ready || exited()) {
            stop();
            throw std::runtime_error("chromedriver did not become ready on port " + std::to_string(port_) + ":\n" +
                                     output());
        }
    }
    ~chromedriver_process() { stop(); }
    chromedriver_process(const chromedriver_process&) = delete;
    chromedriver_process& operator=(const chromedriver_process&) = delete;

    unsigned short port() const { return port_; }

    std::string output() const {
        std::ifstream in(log_, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    // SIGTERM to the group, SIGKILL after 3 s. Idempotent.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(-pid_, SIGTERM);
        const bool gone = eventually([&] { return exited(); }, 3s, 50ms);
        ::kill(-pid_, SIGKILL);  // whatever of the group is left (a browser the driver did not close)
        if (!gone) {
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }

private:
    bool exited() {
        if (reaped_) return true;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
        return reaped_;
    }

    fs::path log_;
    pid_t pid_ = -1;
    unsigned short port_ = 0;
    bool reaped_ = false;
};

const std::string element_key = "element-6066-11e4-a52e-4f735466cecf";

struct webdriver_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One WebDriver session of a headless chromium. Every command is one HTTP request on a fresh
// connection; an error reply throws webdriver_error with the driver's message.
class webdriver {
public:
    webdriver(unsigned short driver_port, const fs::path& profile_dir) : port_(driver_port) {
        json::array args{"--headless",
                         "--no-sandbox",
                         "--disable-gpu",
                         "--disable-quic",
                         "--no-first-run",
                         "--disable-background-networking",
                         "--disable-component-update",
                         "--disable-sync",
                         "--user-data-dir=" + profile_dir.string(),
                         "--window-size=420,900",
                         // A Japanese customer's browser: the pages follow Accept-Language.
                         "--lang=ja",
                         "--accept-lang=ja-JP,ja"};
        json::object prefs{{"intl.accept_languages", "ja-JP,ja"}};
        json::object options{{"binary", chromium_binary}, {"args", std::move(args)}, {"prefs", std::move(prefs)}};
        json::object capabilities{{"browserName", "chrome"}, {"goog:chromeOptions", std::move(options)}};
        json::object body{{"capabilities", json::object{{"alwaysMatch", std::move(capabilities)}}}};
        const auto created = command("POST", "/session", json::serialize(body), 60s);
        session_ = json::value_to<std::string>(created.at("sessionId"));
        base_ = "/session/" + session_;
        // Page loads and element look-ups both give up after a step.
        command("POST", base_ + "/timeouts",
                json::serialize(json::object{{"pageLoad", std::chrono::milliseconds(step_timeout).count()},
                                             {"implicit", 0}}));
    }
    ~webdriver() {
        try {
            command("DELETE", base_, "", 15s);
        } catch (const std::exception&) {
            // chromedriver_process stops what is left
        }
    }
    webdriver(const webdriver&) = delete;
    webdriver& operator=(const webdriver&) = delete;

    void navigate(const std::string& url) {
        command("POST", base_ + "/url", json::serialize(json::object{{"url", url}}));
    }
    std::string url() { return json::value_to<std::string>(command("GET", base_ + "/url")); }
    std::string source() { return json::value_to<std::string>(command("GET", base_ + "/source")); }

    // The element matching the CSS selector, waiting up to a step for it to appear.
    std::string find(const std::string& css) {
        const auto body = json::serialize(json::object{{"using", "css selector"}, {"value", css}});
        const auto deadline = std::chrono::steady_clock::now() + step_timeout;
        for (;;) {
            try {
                const auto found = command("POST", base_ + "/element", body);
                return json::value_to<std::string>(found.at(element_key));
            } catch (const webdriver_error&) {
                if (std::chrono::steady_clock::now() >= deadline) throw;
            }
            std::this_thread::sleep_for(100ms);
        }
    }
    // How many elements match, right now.
    std::size_t count(const std::string& css) {
        const auto found = command("POST", base_ + "/elements",
                                   json::serialize(json::object{{"using", "css selector"}, {"value", css}}));
        return found.as_array().size();
    }

    void type(const std::string& element, const std::string& text) {
        command("POST", base_ + "/element/" + element + "/value", json::serialize(json::object{{"text", text}}));
    }
    void clear(const std::string& element) { command("POST", base_ + "/element/" + element + "/clear", "{}"); }
    void click(const std::string& element) { command("POST", base_ + "/element/" + element + "/click", "{}"); }
    // The element's current value property (what is in the field now).
    std::string value_of(const std::string& element) {
        const auto v = command("GET", base_ + "/element/" + element + "/property/value");
        return v.is_string() ? std::string(v.as_string()) : std::string();
    }

    json::array cookies() { return command("GET", base_ + "/cookie").as_array(); }
    std::optional<json::object> cookie(const std::string& name) {
        for (const auto& c : cookies())
            if (c.at("name").as_string() == name) return c.as_object();
        return std::nullopt;
    }

    // Saves a PNG of the window to `file`.
    void screenshot(const fs::path& file) {
        const auto png = base64_decode(json::value_to<std::string>(command("GET", base_ + "/screenshot")));
        std::ofstream out(file, std::ios::binary);
        out.write(png.data(), static_cast<std::streamsize>(png.size()));
        if (!out) throw std::runtime_error("cannot write " + file.string());
    }

    // Waits up to a step for the URL to end with `suffix`; returns the last URL seen.
    std::string wait_for_url(const std::string& suffix) {
        std::string last;
        eventually(
            [&] {
                last = url();
                return ends_with(last, suffix);
            },
            step_timeout, 100ms);
        return last;
    }

private:
    json::value command(const std::string& method, const std::string& path, const std::string& body = "",
                        std::chrono::milliseconds timeout = 30s) {
        std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                              "\r\nConnection: close\r\n";
        if (method != "GET") {
            request += "Content-Type: application/json; charset=utf-8\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n";
        }
        request += "\r\n" + body;
        connection c(port_, timeout);
        c.send(request);
        const auto reply = c.read_reply();
        if (!reply) throw webdriver_error(method + " " + path + ": no reply from chromedriver");
        json::value parsed;
        try {
            parsed = json::parse(reply->body);
        } catch (const std::exception&) {
            throw webdriver_error(method + " " + path + ": not JSON (" + std::to_string(reply->status) + "): " +
                                  reply->body.substr(0, 500));
        }
        const auto* object = parsed.if_object();
        const auto* value = object ? object->if_contains("value") : nullptr;
        if (reply->status != 200 || !value) {
            std::string message = reply->body.substr(0, 500);
            if (value && value->is_object() && value->as_object().contains("message"))
                message = json::value_to<std::string>(value->at("message")).substr(0, 500);
            throw webdriver_error(method + " " + path + ": " + std::to_string(reply->status) + " " + message);
        }
        return *value;  // New Session: {"sessionId": ..., "capabilities": ...}
    }

    unsigned short port_;
    std::string session_;
    std::string base_;
};

// One case's world: data folder, capture relay, accounts, the server, chromedriver and a
// browser session with a fresh profile.
class world : public login_world {
public:
    world() : login_world(accounts()) {
        fs::create_directories(shots_);
        driver_ = std::make_unique<chromedriver_process>(dir() / "chromedriver.log");
        try {
            browser_ = std::make_unique<webdriver>(driver_->port(), dir() / "profile");
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string("cannot start chromium through chromedriver: ") + e.what() +
                                     "\nchromedriver output:\n" + driver_->output());
        }
    }
    ~world() {
        browser_.reset();  // DELETE the session: chromium quits
        driver_.reset();
    }
    world(const world&) = delete;
    world& operator=(const world&) = delete;

    webdriver& browser() { return *browser_; }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port()) + path; }

    // A screenshot named after the step, in the temp folder; when `last_of_case` names the case,
    // also copied to $NIDAN_SCREENSHOT_DIR/<case>.png.
    fs::path screenshot(const std::string& step, const std::string& last_of_case = "") {
        const auto file = shots_ / (std::to_string(++shots_taken_) + "-" + step + ".png");
        browser_->screenshot(file);
        BOOST_TEST(fs::file_size(file) > 1000u, "screenshot " << file << " is empty");
        if (const char* dir = std::getenv("NIDAN_SCREENSHOT_DIR"); dir && *dir && !last_of_case.empty()) {
            fs::create_directories(dir);
            const auto copy = fs::path(dir) / (last_of_case + ".png");
            fs::copy_file(file, copy, fs::copy_options::overwrite_existing);
            BOOST_TEST_MESSAGE("screenshot: " << copy.string());
        }
        return file;
    }

    std::string diagnostics() {
        std::string url, source;
        try {
            url = browser_->url();
            source = browser_->source();
        } catch (const std::exception& e) {
            url = e.what();
        }
        return "browser at " + url + "\npage:\n" + source.substr(0, 4000) + "\nserver log:\n" + server().log_text();
    }

private:
    // Checks for chromium and chromedriver first: without them the world is not worth making.
    static std::vector<world_account> accounts() {
        require_browser_installed();
        return {{"mc050", "taro", "tanaka@example.jp", "05011112222"}, {"freevoice", "fv_noaddr", "", "0312345678"}};
    }

    fs::path shots_ = dir() / "screenshots";
    std::unique_ptr<chromedriver_process> driver_;
    std::unique_ptr<webdriver> browser_;
    int shots_taken_ = 0;
};

// Types ID and password into the login page at `login_path` and clicks 送信.
void submit_login(world& w, const std::string& login_path, const std::string& id) {
    auto& b = w.browser();
    b.navigate(w.url(login_path));
    BOOST_TEST_REQUIRE(contains(b.source(), "<h1>セルフケアログイン</h1>"), w.diagnostics());
    b.type(b.find("#selfcare_id"), id);
    b.type(b.find("#password"), password);
    b.click(b.find("form button[type=submit]"));
}

// Types the code into the code page and clicks 送信.
void submit_code(world& w, const std::string& code) {
    auto& b = w.browser();
    b.type(b.find("#code"), code);
    b.click(b.find("form button[type=submit]"));
}

}  // namespace

BOOST_AUTO_TEST_CASE(mobile_choice_login_with_fullwidth_code_and_logout) {
    world w;
    auto& b = w.browser();
    submit_login(w, "/mfes/users/login", "taro");

    const auto code_url = b.wait_for_url("/portal/mc050/code");
    BOOST_TEST_REQUIRE(ends_with(code_url, "/portal/mc050/code"), w.diagnostics());
    const auto code_page = html_unescape(b.source());
    BOOST_TEST(contains(code_page, "認証コードチェック"));
    BOOST_TEST(contains(code_page, "t***@example.jp"));
    w.screenshot("code-page");

    const auto code = w.next_code("tanaka@example.jp", step_timeout).code;
    submit_code(w, fullwidth(code));

    const auto home_url = b.wait_for_url("/portal/mc050/home");
    BOOST_TEST_REQUIRE(ends_with(home_url, "/portal/mc050/home"), w.diagnostics());
    const auto home = html_unescape(b.source());
    BOOST_TEST(contains(home, "設定内容選択"));
    for (const auto& label : mc050_menu) BOOST_TEST(contains(home, label), "home lacks " << label);
    BOOST_TEST(b.count("ul.menu li a") == mc050_menu.size());
    w.screenshot("home", "mc050-home");

    const auto session = b.cookie(nidan::cookie_names::session);
    BOOST_TEST_REQUIRE(session.has_value(), "no nidan_session cookie in the browser");
    BOOST_TEST(session->at("httpOnly").as_bool());
    BOOST_TEST(json::value_to<std::string>(session->at("sameSite")) == "Lax");
    BOOST_TEST(json::value_to<std::string>(session->at("path")) == "/");
    BOOST_TEST(!session->contains("expiry"));  // a browser-session cookie
    BOOST_TEST(json::value_to<std::string>(session->at("value")).size() >= 32u);

    b.click(b.find("form.logout button[type=submit]"));
    const auto after_logout = b.wait_for_url("/mfes/users/login");
    BOOST_TEST_REQUIRE(ends_with(after_logout, "/mfes/users/login"), w.diagnostics());
    BOOST_TEST(contains(b.source(), "<h1>セルフケアログイン</h1>"));
    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
    // The old session is dead: home sends the browser back to the login page.
    b.navigate(w.url("/portal/mc050/home"));
    BOOST_TEST(ends_with(b.wait_for_url("/mfes/users/login"), "/mfes/users/login"));
    w.screenshot("logged-out", "mc050-logged-out");
}

BOOST_AUTO_TEST_CASE(free_voice_without_address_registers_one_on_the_way) {
    world w;
    auto& b = w.browser();
    submit_login(w, "/cgi-bin/fb_csc_sc_login.cgi.pl", "fv_noaddr");

    const auto address_url = b.wait_for_url("/portal/freevoice/address");
    BOOST_TEST_REQUIRE(ends_with(address_url, "/portal/freevoice/address"), w.diagnostics());
    BOOST_TEST(contains(b.source(), "メールアドレス登録・変更"));

    // A wrong phone number: the form comes back with the message and the address kept.
    const std::string new_address = "hanako.new@example.jp";
    b.type(b.find("#email"), new_address);
    b.type(b.find("#phone"), "0398765432");
    b.click(b.find("form button[type=submit]"));
    BOOST_TEST_REQUIRE(eventually([&] { return contains(html_unescape(b.source()), msg_wrong_phone); }, step_timeout,
                                  100ms),
                       w.diagnostics());
    BOOST_TEST(ends_with(b.url(), "/portal/freevoice/address"));
    BOOST_TEST(b.count("p.alert") == 1u);
    BOOST_TEST(b.value_of(b.find("#email")) == new_address);
    w.screenshot("wrong-phone");

    // The right number, written with hyphens: the code goes to the new address.
    const auto phone = b.find("#phone");
    b.clear(phone);
    b.type(phone, "03-1234-5678");
    b.click(b.find("form button[type=submit]"));
    const auto code_url = b.wait_for_url("/portal/freevoice/code");
    BOOST_TEST_REQUIRE(ends_with(code_url, "/portal/freevoice/code"), w.diagnostics());
    BOOST_TEST(contains(b.source(), "認証コードチェック"));
    w.screenshot("code-page");

    const auto code = w.next_code(new_address, step_timeout).code;
    submit_code(w, code);
    const auto home_url = b.wait_for_url("/portal/freevoice/home");
    BOOST_TEST_REQUIRE(ends_with(home_url, "/portal/freevoice/home"), w.diagnostics());
    const auto home = html_unescape(b.source());
    BOOST_TEST(contains(home, "ご登録情報"));
    BOOST_TEST(contains(home, "fv_noaddr"));
    BOOST_TEST(contains(home, "h***@example.jp"));  // the new address is the registered one now
    w.screenshot("home", "freevoice-home");
}

BOOST_AUTO_TEST_CASE(another_site_cannot_post_the_login_form) {
    world w;
    auto& b = w.browser();

    // The pages carry no script, and the policy would not run one.
    const auto login = get(w.port(), "/mfes/users/login");
    BOOST_TEST_REQUIRE(login.has_value());
    BOOST_TEST(login->status == 200);
    BOOST_TEST(!contains(login->body, "<script"));
    const auto csp = login->header("content-security-policy");
    BOOST_TEST(contains(csp, "default-src 'none'"));
    BOOST_TEST(!contains(csp, "script-src"));
    BOOST_TEST(contains(csp, "form-action 'self'"));
    BOOST_TEST(contains(csp, "frame-ancestors 'none'"));

    // A page from elsewhere (here a data: URL, an opaque origin) posting valid credentials: the
    // browser says Sec-Fetch-Site: cross-site and the server refuses; no session is made.
    b.navigate(w.url("/mfes/users/login"));  // the browser holds a nidan_login cookie now
    const std::string form = "<!DOCTYPE html><meta charset=utf-8><form method=post action=\"" +
                             w.url("/mfes/users/login") +
                             "\"><input name=selfcare_id value=taro><input name=password value=\"" + password +
                             "\"><button id=go type=submit>go</button></form>";
    b.navigate("data:text/html;charset=utf-8," + percent_encode(form));
    b.click(b.find("#go"));
    BOOST_TEST_REQUIRE(ends_with(b.wait_for_url("/mfes/users/login"), "/mfes/users/login"), w.diagnostics());
    BOOST_TEST_REQUIRE(eventually([&] { return contains(b.source(), msg_forbidden); }, step_timeout, 100ms),
                       w.diagnostics());
    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
    w.screenshot("cross-site-post", "cross-site-post");

    // The same browser, on the site itself, still logs in: the refusal was about the origin.
    submit_login(w, "/mfes/users/login", "taro");
    BOOST_TEST(ends_with(b.wait_for_url("/portal/mc050/code"), "/portal/mc050/code"), w.diagnostics());
}
