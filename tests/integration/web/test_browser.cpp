// The two-step login in a real browser: Debian's chromium, headless, driven through chromedriver
// (the W3C WebDriver protocol, JSON over HTTP on 127.0.0.1) against the real `nidan serve`. It
// types into the forms and clicks the buttons a person would, reads the code from the mail the
// aiosmtpd capture relay received, and looks at what the browser ends up with: the URL, the page,
// the cookies it keeps. Screenshots go to the test's temp folder, and the last one of each case
// also to $NIDAN_SCREENSHOT_DIR when that is set.
//
// Every flow runs twice, with a Japanese and with an English browser (chromium's language and
// Accept-Language), in a phone-sized window, and expects the texts of that language's shipped
// catalog. Every page a flow reaches is checked with axe-core: a "serious" or "critical"
// finding fails the case (the lesser ones are logged).
//
// chromium, chromium-driver, fonts-noto-cjk and axe-core (from npm, into
// tests/support/node_modules) come from scripts/install-deps.sh (run by the README's
// scripts/test.sh); when one is missing the test fails and says so.
#define BOOST_TEST_MODULE browser
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
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
#include <set>
#include <stdexcept>
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
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string chromium_binary = "/usr/bin/chromium";
const std::string chromedriver_binary = "/usr/bin/chromedriver";

const std::string& password = account_password;

// The languages every flow runs in: the browser's language, and so the pages'.
const std::vector<std::string> languages{"ja", "en"};

// What a browser of that language sends as Accept-Language.
std::string accept_language(const std::string& language) {
    return language == "ja" ? "ja-JP,ja" : language + "-US," + language;
}

// One phone's screen in CSS pixels, for every case. Through chromedriver's mobile emulation: a
// headless window itself is never narrower than 500 pixels.
constexpr int phone_width = 390;
constexpr int phone_height = 844;

// conf/nidan.toml's mc050 menu entries, in order; their texts are the catalogs'.
const std::vector<std::string> mc050_menu_ids{"add-number",   "mc050-register", "mc050-cancel", "master-table",
                                              "group-limits", "call-blocking",  "upload-download"};

// axe-core's browser build, as scripts/install-deps.sh installs it.
const std::string& axe_source() {
    static const std::string source = [] {
        const auto file = source_dir() + "/tests/support/node_modules/axe-core/axe.min.js";
        std::ifstream in(file, std::ios::binary);
        if (!in) throw std::runtime_error(file + " is missing: run scripts/install-deps.sh");
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }();
    return source;
}

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
    // `language` ("ja", "en"): chromium's UI language and what it asks pages for.
    webdriver(unsigned short driver_port, const fs::path& profile_dir, const std::string& language)
        : port_(driver_port) {
        const auto accept = accept_language(language);
        json::array args{"--headless",
                         "--no-sandbox",
                         "--disable-gpu",
                         "--disable-quic",
                         "--no-first-run",
                         "--disable-background-networking",
                         "--disable-component-update",
                         "--disable-sync",
                         "--user-data-dir=" + profile_dir.string(),
                         // A customer's browser in that language: the pages follow Accept-Language.
                         "--lang=" + language,
                         "--accept-lang=" + accept};
        json::object prefs{{"intl.accept_languages", accept}};
        json::object metrics{{"width", phone_width}, {"height", phone_height}, {"pixelRatio", 1},
                             {"mobile", true}, {"touch", true}};
        json::object options{{"binary", chromium_binary},
                             {"args", std::move(args)},
                             {"prefs", std::move(prefs)},
                             {"mobileEmulation", json::object{{"deviceMetrics", std::move(metrics)}}}};
        json::object capabilities{{"browserName", "chrome"}, {"goog:chromeOptions", std::move(options)}};
        json::object body{{"capabilities", json::object{{"alwaysMatch", std::move(capabilities)}}}};
        const auto created = command("POST", "/session", json::serialize(body), 60s);
        session_ = json::value_to<std::string>(created.at("sessionId"));
        base_ = "/session/" + session_;
        // Page loads, scripts and element look-ups all give up after a step.
        const auto step_ms = std::chrono::milliseconds(step_timeout).count();
        command("POST", base_ + "/timeouts",
                json::serialize(json::object{{"pageLoad", step_ms}, {"script", step_ms}, {"implicit", 0}}));
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
    // Every element matching the CSS selector, right now, in document order.
    std::vector<std::string> find_all(const std::string& css) {
        const auto found = command("POST", base_ + "/elements",
                                   json::serialize(json::object{{"using", "css selector"}, {"value", css}}));
        std::vector<std::string> out;
        for (const auto& e : found.as_array()) out.push_back(json::value_to<std::string>(e.at(element_key)));
        return out;
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

    // The element's rendered text (as a person reads it).
    std::string text_of(const std::string& element) {
        return json::value_to<std::string>(command("GET", base_ + "/element/" + element + "/text"));
    }
    // The text of the first element matching the CSS selector (waiting up to a step for it).
    std::string text(const std::string& css) { return text_of(find(css)); }

    // Runs `script` as a function body in the page and returns what it returns.
    json::value execute(const std::string& script, json::array args = {}) {
        return command("POST", base_ + "/execute/sync",
                       json::serialize(json::object{{"script", script}, {"args", std::move(args)}}));
    }
    // Runs `script` as a function body whose last argument is the callback that ends it (the
    // driver gives up after the script timeout, a step); returns what was passed to the callback.
    json::value execute_async(const std::string& script, json::array args = {}) {
        return command("POST", base_ + "/execute/async",
                       json::serialize(json::object{{"script", script}, {"args", std::move(args)}}));
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
    // A browser in `language` ("ja", "en"); `overrides` are more --set values for the server.
    explicit world(const std::string& language, const std::vector<std::string>& overrides = {})
        : login_world(accounts(), overrides), language_(language) {
        fs::create_directories(shots_);
        driver_ = std::make_unique<chromedriver_process>(dir() / "chromedriver.log");
        try {
            browser_ = std::make_unique<webdriver>(driver_->port(), dir() / "profile", language_);
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
    const std::string& language() const { return language_; }
    // The text of `key` in the browser's language, as the shipped catalog has it.
    const std::string& text(const std::string& key) const { return catalog_text(language_, key); }

    // The page the browser shows now, `page` naming it in messages: it is in the browser's
    // language (<html lang>), and axe-core finds nothing "serious" or "critical" on it. The lesser
    // findings are logged. axe is injected with WebDriver's script execution, which the pages'
    // Content-Security-Policy (no script-src) does not govern.
    // `language`: the page's, when the customer chose another than the browser's.
    void check_page(const std::string& page, const std::string& language = "") {
        auto& b = *browser_;
        const auto& expected = language.empty() ? language_ : language;
        const auto where = page + " (" + expected + ", " + b.url() + ")";
        BOOST_TEST(json::value_to<std::string>(b.execute("return document.documentElement.lang;")) == expected,
                   where << ": <html lang> is not " << expected);
        // Nothing sticks out of the phone's screen (a person would have to scroll sideways).
        const auto widest = b.execute(R"js(
let widest = {right: 0, what: ''};
for (const e of document.body.querySelectorAll('*')) {
  const right = Math.ceil(e.getBoundingClientRect().right);
  if (right > widest.right) widest = {right: right, what: e.tagName + ' ' + e.textContent.slice(0, 60)};
}
return widest;)js");
        BOOST_TEST(widest.at("right").to_number<int>() <= phone_width,
                   where << ": wider than the screen (" << phone_width << "px): " << json::serialize(widest));
        ++pages_checked_;
        for (const auto& v : axe_violations(where)) {
            const auto line = where + ": axe " + v.id + " [" + v.impact + "] " + v.help + " at" + v.targets;
            if (v.impact == "serious" || v.impact == "critical")
                BOOST_TEST(false, line);
            else
                BOOST_TEST_MESSAGE(line);
        }
    }

    // What axe-core finds wrong with the page the browser shows now (`where` names it in
    // messages): each rule broken, with the first three places.
    struct axe_violation {
        std::string id, impact, help, targets;
    };
    std::vector<axe_violation> axe_violations(const std::string& where) {
        auto& b = *browser_;
        const auto injected = b.execute(axe_source() + "\nreturn typeof window.axe;");
        BOOST_TEST_REQUIRE(json::value_to<std::string>(injected) == "object",
                           where << ": axe-core did not load into the page: " << json::serialize(injected));
        const auto result = b.execute_async(R"js(
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  r => done({violations: r.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help,
    targets: v.nodes.slice(0, 3).map(n => ' ' + n.target.join(' ')).join('')}))}),
  e => done({error: String(e)}));)js");
        BOOST_TEST_REQUIRE(!result.as_object().contains("error"),
                           where << ": axe.run failed: " << json::serialize(result));
        std::vector<axe_violation> out;
        for (const auto& v : result.at("violations").as_array())
            out.push_back({json::value_to<std::string>(v.at("id")), json::value_to<std::string>(v.at("impact")),
                           json::value_to<std::string>(v.at("help")), json::value_to<std::string>(v.at("targets"))});
        return out;
    }
    int pages_checked() const { return pages_checked_; }
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
        return {{"mc050", "taro", "tanaka@example.jp", "05011112222"},
                {"freevoice", "fv_noaddr", "", "0312345678"},
                {"freevoice", "fv_locks", "", "0311112222"},
                {"ip-phone", "hanako", "suzuki@example.jp", "0455556666"}};
    }

    std::string language_;
    fs::path shots_ = dir() / "screenshots";
    std::unique_ptr<chromedriver_process> driver_;
    std::unique_ptr<webdriver> browser_;
    int shots_taken_ = 0;
    int pages_checked_ = 0;
};

// Opens the login page at `login_path`, checks it, types ID and password and clicks submit.
void submit_login(world& w, const std::string& login_path, const std::string& id) {
    auto& b = w.browser();
    b.navigate(w.url(login_path));
    BOOST_TEST_REQUIRE(b.text("main h1") == w.text("login.title"), w.diagnostics());
    BOOST_TEST(b.execute("return window.innerWidth;").to_number<int>() == phone_width);
    w.check_page("login");
    b.type(b.find("#selfcare_id"), id);
    b.type(b.find("#password"), password);
    b.click(b.find("form button[type=submit]"));
}

// Waits for the browser to reach `path` with `title_key`'s heading; then checks the page.
void expect_page(world& w, const std::string& path, const std::string& title_key, const std::string& page) {
    auto& b = w.browser();
    const auto url = b.wait_for_url(path);
    BOOST_TEST_REQUIRE(ends_with(url, path), w.diagnostics());
    BOOST_TEST_REQUIRE(b.text("main h1") == w.text(title_key), w.diagnostics());
    w.check_page(page);
}

// Types the code into the code page and clicks submit.
void submit_code(world& w, const std::string& code) {
    auto& b = w.browser();
    b.type(b.find("#code"), code);
    b.click(b.find("form button[type=submit]"));
}

// Logs out with the header's button and expects the login page at `login_path`, no session
// cookie, and `home` sending the browser back to that login page.
void logout(world& w, const std::string& login_path, const std::string& home) {
    auto& b = w.browser();
    BOOST_TEST(b.text("form.logout button[type=submit]") == w.text("site.logout"));
    b.click(b.find("form.logout button[type=submit]"));
    expect_page(w, login_path, "login.title", "login after logout");
    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
    b.navigate(w.url(home));
    BOOST_TEST(ends_with(b.wait_for_url(login_path), login_path));
}

// The cases' flows, each in one language (functions of their own: a data test case's body is a
// template, whose lambdas may not capture this file's internal types).

void run_mobile_choice_login_with_fullwidth_code_and_logout(const std::string& language) {
    world w(language);
    auto& b = w.browser();
    submit_login(w, "/mfes/users/login", "taro");

    expect_page(w, "/portal/mc050/code", "code.title", "code");
    BOOST_TEST(contains(html_unescape(b.source()), "t***@example.jp"));
    w.screenshot("code-page");

    const auto code = w.next_code("tanaka@example.jp", step_timeout).code;
    submit_code(w, fullwidth(code));

    expect_page(w, "/portal/mc050/home", "menu.title", "menu");
    const auto links = b.find_all("ul.menu li a");
    BOOST_TEST_REQUIRE(links.size() == mc050_menu_ids.size());
    for (std::size_t i = 0; i < links.size(); ++i)
        BOOST_TEST(b.text_of(links[i]) == w.text("portal.mc050.menu." + mc050_menu_ids[i]));
    w.screenshot("home", "mc050-home-" + language);

    const auto session = b.cookie(nidan::cookie_names::session);
    BOOST_TEST_REQUIRE(session.has_value(), "no nidan_session cookie in the browser");
    BOOST_TEST(session->at("httpOnly").as_bool());
    BOOST_TEST(json::value_to<std::string>(session->at("sameSite")) == "Lax");
    BOOST_TEST(json::value_to<std::string>(session->at("path")) == "/");
    BOOST_TEST(!session->contains("expiry"));  // a browser-session cookie
    BOOST_TEST(json::value_to<std::string>(session->at("value")).size() >= 32u);

    logout(w, "/mfes/users/login", "/portal/mc050/home");
    w.screenshot("logged-out", "mc050-logged-out-" + language);

    // The switch to the other language: the same page, in that language, from then on.
    const std::string other = language == "ja" ? "en" : "ja";
    const auto to_other = b.find("nav.language a[hreflang='" + other + "']");
    BOOST_TEST(b.text_of(to_other) == catalog_text(other, "language.name"));
    b.click(to_other);
    BOOST_TEST_REQUIRE(eventually([&] { return b.text("main h1") == catalog_text(other, "login.title"); },
                                  step_timeout, 100ms),
                       w.diagnostics());
    BOOST_TEST(ends_with(b.url(), "/mfes/users/login"));
    const auto chosen = b.cookie("nidan_lang");
    BOOST_TEST_REQUIRE(chosen.has_value(), "no nidan_lang cookie after the switch");
    BOOST_TEST(json::value_to<std::string>(chosen->at("value")) == other);
    w.check_page("login after the switch", other);
    BOOST_TEST_MESSAGE(language << ": axe checked " << w.pages_checked() << " pages");
}

void run_free_voice_without_address_registers_one_on_the_way(const std::string& language) {
    world w(language);
    auto& b = w.browser();
    submit_login(w, "/cgi-bin/fb_csc_sc_login.cgi.pl", "fv_noaddr");

    expect_page(w, "/portal/freevoice/address", "address.title", "address");

    // A wrong phone number: the form comes back with the message and the address kept.
    const std::string new_address = "hanako.new@example.jp";
    b.type(b.find("#email"), new_address);
    b.type(b.find("#phone"), "0398765432");
    b.click(b.find("form button[type=submit]"));
    BOOST_TEST_REQUIRE(eventually(
                           [&] {
                               return b.count("p.alert") == 1u &&
                                      b.text("p.alert") == w.text("message.wrong_phone");
                           },
                           step_timeout, 100ms),
                       w.diagnostics());
    BOOST_TEST(ends_with(b.url(), "/portal/freevoice/address"));
    BOOST_TEST(b.value_of(b.find("#email")) == new_address);
    w.check_page("address with wrong phone");
    w.screenshot("wrong-phone");

    // The right number, written with hyphens: the code goes to the new address.
    const auto phone = b.find("#phone");
    b.clear(phone);
    b.type(phone, "03-1234-5678");
    b.click(b.find("form button[type=submit]"));
    expect_page(w, "/portal/freevoice/code", "code.title", "code to the new address");
    w.screenshot("code-page");

    const auto code = w.next_code(new_address, step_timeout).code;
    submit_code(w, code);
    expect_page(w, "/portal/freevoice/home", "account.title", "account");
    const auto home = html_unescape(b.source());
    BOOST_TEST(contains(home, "fv_noaddr"));
    BOOST_TEST(contains(home, "h***@example.jp"));  // the new address is the registered one now
    w.screenshot("home", "freevoice-home-" + language);

    logout(w, "/cgi-bin/fb_csc_sc_login.cgi.pl", "/portal/freevoice/home");
    BOOST_TEST_MESSAGE(language << ": axe checked " << w.pages_checked() << " pages");
}

// The IP phone portal: its code page links to the address form (for a customer whose mail does
// not arrive) and back; the code logs in to the account page.
void run_ip_phone_login_to_the_account_page(const std::string& language) {
    world w(language);
    auto& b = w.browser();
    submit_login(w, "/selfcare/SelfcareLogin.in", "hanako");

    expect_page(w, "/portal/ip-phone/code", "code.title", "code");
    BOOST_TEST(contains(html_unescape(b.source()), "s***@example.jp"));
    BOOST_TEST(b.text("p.address-link a") == w.text("portal.ip-phone.address_link_text"));
    b.click(b.find("p.address-link a"));
    expect_page(w, "/portal/ip-phone/address", "address.title", "address from the code page");
    BOOST_TEST(b.text("main a[href$='/code']") == w.text("address.back_to_code"));
    b.click(b.find("main a[href$='/code']"));
    expect_page(w, "/portal/ip-phone/code", "code.title", "code again");

    const auto code = w.next_code("suzuki@example.jp", step_timeout).code;
    submit_code(w, code);
    expect_page(w, "/portal/ip-phone/home", "account.title", "account");
    const auto home = html_unescape(b.source());
    BOOST_TEST(contains(home, "hanako"));
    BOOST_TEST(contains(home, "s***@example.jp"));
    const auto headings = b.find_all("main h2");
    BOOST_TEST_REQUIRE(headings.size() == 2u);
    BOOST_TEST(b.text_of(headings[0]) == w.text("account.email_heading"));
    BOOST_TEST(b.text_of(headings[1]) == w.text("account.password_heading"));
    w.screenshot("home", "ip-phone-home-" + language);

    logout(w, "/selfcare/SelfcareLogin.in", "/portal/ip-phone/home");
    BOOST_TEST_MESSAGE(language << ": axe checked " << w.pages_checked() << " pages");
}

// Three wrong contact phone numbers on the address form (address.phone_strikes): the form
// locks and the browser gets the notice to call support.
void run_free_voice_address_form_locks_after_wrong_phones(const std::string& language) {
    world w(language);
    auto& b = w.browser();
    submit_login(w, "/cgi-bin/fb_csc_sc_login.cgi.pl", "fv_locks");
    expect_page(w, "/portal/freevoice/address", "address.title", "address");
    for (int strike = 1; strike <= 3; ++strike) {
        const auto email = b.find("#email");
        const auto phone = b.find("#phone");
        b.clear(email);
        b.type(email, "locks@example.jp");
        b.clear(phone);
        b.type(phone, "0399990000");
        b.click(b.find("form button[type=submit]"));
        if (strike < 3) {
            BOOST_TEST_REQUIRE(eventually([&] { return b.count("p.alert") == 1u; }, step_timeout, 100ms),
                               w.diagnostics());
            BOOST_TEST(b.text("p.alert") == w.text("message.wrong_phone"));
        }
    }
    BOOST_TEST_REQUIRE(eventually([&] { return b.text("main h1") == w.text("locked.title"); }, step_timeout, 100ms),
                       w.diagnostics());
    BOOST_TEST(b.text("p.alert") == catalog_text_with(language, "locked.address_locked", {{"phone_strikes", "3"}}));
    w.check_page("address locked");
    w.screenshot("locked", "freevoice-locked-" + language);
    BOOST_TEST(w.no_mail_for(200ms));
}

void run_another_site_cannot_post_the_login_form(const std::string& language) {
    world w(language);
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
    // That page has inputs without labels, no lang and no title: axe, as the checks run it, says so.
    std::set<std::string> found;
    for (const auto& v : w.axe_violations("the foreign form")) found.insert(v.id + " " + v.impact);
    BOOST_TEST(found.count("label critical") == 1u, "axe missed the unlabelled inputs");
    BOOST_TEST(found.count("html-has-lang serious") == 1u, "axe missed the missing lang");
    b.click(b.find("#go"));
    BOOST_TEST_REQUIRE(ends_with(b.wait_for_url("/mfes/users/login"), "/mfes/users/login"), w.diagnostics());
    BOOST_TEST_REQUIRE(
        eventually([&] { return b.count("main.error") == 1u && b.text("main p") == w.text("error.403"); },
                   step_timeout, 100ms),
        w.diagnostics());
    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
    w.check_page("403 error");
    w.screenshot("cross-site-post", "cross-site-post-" + language);

    // The same browser, on the site itself, still logs in: the refusal was about the origin.
    submit_login(w, "/mfes/users/login", "taro");
    BOOST_TEST(ends_with(b.wait_for_url("/portal/mc050/code"), "/portal/mc050/code"), w.diagnostics());
}

}  // namespace

const auto each_language = boost::unit_test::data::make(languages);

BOOST_DATA_TEST_CASE(mobile_choice_login_with_fullwidth_code_and_logout, each_language, language) {
    run_mobile_choice_login_with_fullwidth_code_and_logout(language);
}

BOOST_DATA_TEST_CASE(free_voice_without_address_registers_one_on_the_way, each_language, language) {
    run_free_voice_without_address_registers_one_on_the_way(language);
}

BOOST_DATA_TEST_CASE(ip_phone_login_to_the_account_page, each_language, language) {
    run_ip_phone_login_to_the_account_page(language);
}

BOOST_DATA_TEST_CASE(free_voice_address_form_locks_after_wrong_phones, each_language, language) {
    run_free_voice_address_form_locks_after_wrong_phones(language);
}

BOOST_DATA_TEST_CASE(another_site_cannot_post_the_login_form, each_language, language) {
    run_another_site_cannot_post_the_login_form(language);
}
