// Several nodes on one PostgreSQL database (README.md, "Running several nodes"): three real
// `nidan serve` processes, each with its own data folder and port, on one database of the
// executable's private cluster, and one aiosmtpd capture relay for all. Any request of a login
// may reach any node, so the cases send the steps of one login to different nodes and check that
// what is shared holds: sessions and codes, the throttle's counts, the code's tries, the mail
// quota, each mail sent once; and the faults: a node SIGKILLed under load, the database stopped
// and started again under load.
//
// PostgreSQL only (ctest runs it as integration_pg.test_multi_node). Every load loop is bounded
// in count and time; the threads assert nothing themselves (Boost.Test is not thread-safe), they
// record answers that the main thread checks.
#define BOOST_TEST_MODULE multi_node
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <csignal>
#include <exception>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/postgres_server.hpp"
#include "nidan_test/raw_http.hpp"
#include "log_lines.hpp"
#include "portal_client.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace utf = boost::unit_test;

namespace {

// Whatever the environment says: several nodes need a shared database.
struct on_postgres {
    on_postgres() { ::setenv("NIDAN_TEST_BACKEND", "postgres", 1); }
};

const std::string& password = account_password;
const std::string api = "/api/v1/ip-phone";

const portal_account taro{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp",
                          "09012345678", "*******5678", false};
const portal_account hanako{"ip-phone", "/selfcare/SelfcareLogin.in", "hanako", "hanako@example.jp",
                            "09011112222", "*******2222", false};

// ip-phone accounts named PREFIX00, PREFIX01 ..., mailed at PREFIXnn@example.jp.
std::vector<world_account> numbered(const std::string& prefix, int n) {
    std::vector<world_account> out;
    for (int i = 0; i < n; ++i) {
        const auto id = prefix + (i < 10 ? "0" : "") + std::to_string(i);
        out.push_back({"ip-phone", id, id + "@example.jp", "0901234" + std::to_string(1000 + i)});
    }
    return out;
}

// Makes the accounts in one `nidan user import` (password account_password), rather than a
// `nidan user add` each: a world of 30 accounts starts seconds sooner.
void import_accounts(login_world& w, const std::vector<world_account>& accounts) {
    const auto file = w.dir() / "accounts.csv";
    {
        std::ofstream out(file);
        out << "portal,id,email,phone,password\n";
        for (const auto& a : accounts) out << a.portal << "," << a.id << "," << a.email << "," << a.phone << "," << password << "\n";
    }
    const auto imported = w.user({"import", file.string()});
    BOOST_TEST_REQUIRE(imported.exit_code == 0, "nidan user import: " << imported.err << imported.out);
}

// Three nodes on the world's database: node 0 is the world's own server, 1 and 2 are added.
// `third` are more settings for node 2 only.
void add_two_nodes(login_world& w, const std::vector<std::string>& third = {}) {
    w.add_node();
    w.add_node(third);
    BOOST_TEST_REQUIRE(w.node_count() == 3u);
}

std::string all_logs(login_world& w) {
    std::string out;
    for (std::size_t i = 0; i < w.node_count(); ++i) out += w.node(i).log_text();
    return out;
}

// A code of the same length that is not `code`, differing in every digit by `shift` (1..9).
std::string other_code(const std::string& code, int shift) {
    std::string out;
    for (const char c : code) out += static_cast<char>('0' + (c - '0' + shift) % 10);
    return out;
}

void copy_cookies(const browser& from, browser& to) {
    for (const auto& [name, value] : from.cookies()) to.set_cookie(name, value);
}

// An API request that neither throws nor asserts, for the load threads: nullopt when no whole
// reply came within `timeout` (or the node is gone). `from` is sent as X-Forwarded-For.
std::optional<api_reply> try_call(unsigned short port, const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& token = "", const std::string& from = "",
                                  std::chrono::milliseconds timeout = 10s) {
    std::string bytes = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!token.empty()) bytes += "Authorization: Bearer " + token + "\r\n";
    if (!from.empty()) bytes += "X-Forwarded-For: " + from + "\r\n";
    if (method != "GET") bytes += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    bytes += "\r\n" + body;
    try {
        connection c(port, timeout);
        c.send(bytes);
        const auto reply = c.read_reply();
        if (!reply) return std::nullopt;
        api_reply out;
        out.status = reply->status;
        out.raw = *reply;
        boost::json::error_code ec;
        auto parsed = boost::json::parse(reply->body, ec);
        if (!ec) out.body = std::move(parsed);
        return out;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

int status_of(const std::optional<api_reply>& r) { return r ? r->status : 0; }

std::optional<api_reply> api_login(unsigned short port, const std::string& id, const std::string& pw,
                                   const std::string& from = "", std::chrono::milliseconds timeout = 10s) {
    return try_call(port, "POST", api + "/login", login_body(id, pw), "", from, timeout);
}
std::optional<api_reply> api_code(unsigned short port, const std::string& token, const std::string& code) {
    return try_call(port, "POST", api + "/code", code_body(code), token);
}
std::optional<api_reply> api_session(unsigned short port, const std::string& token,
                                     std::chrono::milliseconds timeout = 10s) {
    return try_call(port, "GET", api + "/session", "", token, "", timeout);
}

// The capture relay's folder read from any thread: each mail decoded once, the codes by
// recipient in arrival order.
class mail_sink {
public:
    explicit mail_sink(fs::path dir) : dir_(std::move(dir)) {}

    // Every mail stored so far.
    std::vector<decoded_mail> mails() {
        std::lock_guard lock(mutex_);
        refresh();
        std::vector<decoded_mail> out;
        for (const auto& [file, mail] : decoded_) out.push_back(mail);
        return out;
    }
    std::size_t count() const { return mail_files(dir_).size(); }
    // The code of the first mail to `to` not taken before; "" when none came within `timeout`.
    std::string take_code(const std::string& to, std::chrono::milliseconds timeout = 10s) {
        std::string code;
        eventually(
            [&] {
                std::lock_guard lock(mutex_);
                refresh();
                for (const auto& [file, mail] : decoded_) {
                    if (mail.to_address != to || taken_.count(file) != 0) continue;
                    taken_.insert(file);
                    code = code_in(mail.body);
                    return true;
                }
                return false;
            },
            timeout, 50ms);
        return code;
    }

private:
    void refresh() {
        for (const auto& file : mail_files(dir_))
            if (decoded_.count(file) == 0) decoded_.emplace(file, decode_mail(file));
    }

    fs::path dir_;
    std::mutex mutex_;
    std::map<fs::path, decoded_mail> decoded_;  // file names sort in arrival order
    std::set<fs::path> taken_;
};

// Both steps over the API, the password through `pw_node` and the code through `code_node`;
// returns the authenticated token.
std::string api_log_in(login_world& w, mail_sink& sink, const world_account& a, std::size_t pw_node,
                       std::size_t code_node) {
    const auto login = api_login(w.node(pw_node).port(), a.id, password);
    BOOST_TEST_REQUIRE(status_of(login) == 200, a.id << " login through node " << pw_node << ": " << status_of(login)
                                                     << " " << (login ? login->raw.body : ""));
    BOOST_TEST_REQUIRE(login->text("state") == "code_pending");
    // Bounded generously: in case 5 a node whose relay never greets may hold the mail a while.
    const auto code = sink.take_code(a.email, 30s);
    BOOST_TEST_REQUIRE(code.size() == 6u, "no code mail for " << a.email << "\n" << all_logs(w));
    const auto verified = api_code(w.node(code_node).port(), login->text("token"), code);
    BOOST_TEST_REQUIRE(status_of(verified) == 200, a.id << " code through node " << code_node << ": "
                                                        << status_of(verified) << " " << (verified ? verified->raw.body : ""));
    BOOST_TEST_REQUIRE(verified->text("state") == "authenticated");
    return verified->text("token");
}

// `nidan outbox list` on the world's database: "queued: Q, failed: F" and the mails.
std::string outbox_list(login_world& w) {
    std::vector<std::string> args{"outbox", "list", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                  "storage.data_dir=" + w.data_dir()};
    for (const auto& s : w.backend_settings()) args.insert(args.end(), {"--set", s});
    const auto listed = run_nidan(args, "", 30s);
    BOOST_TEST_REQUIRE(listed.exit_code == 0, "nidan outbox list: " << listed.err);
    return listed.out;
}

bool outbox_empty(login_world& w, std::chrono::milliseconds timeout) {
    return eventually([&] { return outbox_list(w).starts_with("queued: 0, failed: 0\n"); }, timeout, 250ms);
}

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int http_status(unsigned short port, const std::string& path, std::chrono::milliseconds timeout = 10s) {
    try {
        connection c(port, timeout);
        c.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        const auto reply = c.read_reply();
        return reply ? reply->status : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(on_postgres);

// 1. One browser's login with each request on another node: the login page from node 0, the
// password to node 1, the code page from node 0 and the code to node 2. The session is then
// good on every node, and a logout through one node ends it on all. The same over the API.
BOOST_AUTO_TEST_CASE(a_login_whose_requests_reach_three_nodes_holds_on_all_and_one_logout_ends_it,
                     *utf::timeout(60)) {
    login_world w({taro.for_world(), hanako.for_world()});
    add_two_nodes(w);
    browser a(w.node(0).port()), b(w.node(1).port()), c(w.node(2).port());

    const auto csrf = open_login(a, taro);
    copy_cookies(a, b);
    const auto posted = submit_login(b, taro, csrf, taro.id, password);
    BOOST_TEST_REQUIRE(posted.status == 303, "password through node 1: " << posted.status << "\n" << posted.body);
    BOOST_TEST_REQUIRE(posted.header("location") == taro.code_path());
    copy_cookies(b, a);
    const auto code_form = code_csrf(a, taro);
    copy_cookies(b, c);
    const auto mail = w.next_code(taro.email);
    const auto accepted = submit_code(c, taro, code_form, mail.code);
    BOOST_TEST_REQUIRE(accepted.status == 303, "code through node 2: " << accepted.status << "\n" << accepted.body);
    BOOST_TEST_REQUIRE(accepted.header("location") == taro.home_path());
    const auto session = nidan_cookie(c, nidan::cookie_names::session).value_or("");
    BOOST_TEST_REQUIRE(!session.empty());

    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST_CONTEXT("node " << i) {
            const auto verified = get_with_session(w.node(i).port(), taro.verify_path(), session);
            BOOST_TEST(verified.status == 200);
            BOOST_TEST(verified.header("x-nidan-portal") == taro.portal);
            BOOST_TEST(verified.header("x-nidan-selfcare-id") == taro.id);
        }
    }
    // The home page from node 0, its logout form posted to node 1.
    copy_cookies(c, a);
    const auto home = a.get(taro.home_path());
    BOOST_TEST_REQUIRE(home.status == 200);
    copy_cookies(a, b);
    const auto out = b.post_form(taro.logout_path(), {{"csrf", input_value(home.body, "csrf").value_or("")}});
    BOOST_TEST(out.status == 303);
    BOOST_TEST(out.header("location") == taro.login_path);
    for (std::size_t i = 0; i < 3; ++i)
        BOOST_TEST(get_with_session(w.node(i).port(), taro.verify_path(), session).status == 401, "node " << i);
    BOOST_TEST(w.mails_to(taro.email).size() == 1u);

    // The API: the password to node 1, the code to node 2, the session read on node 0, the
    // logout through node 0 seen by the other two.
    mail_sink sink(w.mail_dir());
    const auto token = api_log_in(w, sink, hanako.for_world(), 1, 2);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto s = api_session(w.node(i).port(), token);
        BOOST_TEST(status_of(s) == 200, "node " << i);
        if (s) BOOST_TEST(s->text("selfcare_id") == hanako.id);
        if (s) BOOST_TEST(s->text("state") == "authenticated");
    }
    BOOST_TEST(status_of(try_call(w.node(0).port(), "POST", api + "/logout", "", token)) == 204);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto s = api_session(w.node(i).port(), token);
        BOOST_TEST(status_of(s) == 401, "node " << i);
        if (s) BOOST_TEST(s->error() == "unauthenticated");
    }
}

// 2. The throttle's counts are shared rows: guesses sent round-robin over three nodes meet the
// delays and refusals one node gives (core/security/throttle.hpp: no delay while the failures so far are
// at most the free ones, then the base delay doubling to the cap; the account's budget, then
// 429 unchecked), not three times the free failures. Then a burst from one address spread over
// the nodes: as on one node (test_throttle_attacks.cpp), checks in flight count as failures to
// come, so no more than the free failures and one more are checked undelayed.
BOOST_AUTO_TEST_CASE(guesses_spread_over_three_nodes_meet_the_delays_and_refusals_of_one_node, *utf::timeout(90)) {
    constexpr int account_free = 5, budget = 15;  // the shipped account_free_failures, account_budget
    constexpr int address_free = 3;
    login_world w({taro.for_world(), hanako.for_world()},
                  {"server.trusted_proxies=127.0.0.1", "throttle.account_base_delay_ms=100",
                   "throttle.account_max_delay_ms=200", "throttle.address_free_failures=3",
                   "throttle.address_base_delay_ms=100", "throttle.address_max_delay_ms=200"});
    add_two_nodes(w);

    // One account, each guess from an address of its own, guess k through node k % 3.
    constexpr int guesses = budget + 3;
    const auto attacker = [](int k) { return "203.0.113." + std::to_string(k + 1); };
    std::vector<int> statuses;
    for (int k = 0; k < guesses; ++k) {
        const auto r = api_login(w.node(k % 3).port(), taro.id, "guess " + std::to_string(k), attacker(k));
        statuses.push_back(status_of(r));
        if (k < budget) BOOST_TEST((r && r->error() == "invalid_credentials"), "guess " << k);
        else BOOST_TEST((r && r->error() == "too_many_attempts"), "guess " << k);
    }
    for (int k = 0; k < guesses; ++k) {
        BOOST_TEST_CONTEXT("guess " << k << " through node " << k % 3) {
            const auto log = w.node(k % 3).log_text();
            const auto client = "client=" + attacker(k) + " ";
            if (k >= budget) {
                BOOST_TEST(statuses[k] == 429);
                BOOST_TEST(lines_of(log, "login.refused_busy", {client, "reason=account_budget "}).size() == 1u, log);
                continue;
            }
            BOOST_TEST(statuses[k] == 401);
            const auto failed = lines_of(log, "login.failed", {client, "id=" + taro.id + " "});
            BOOST_TEST_REQUIRE(failed.size() == 1u, log);
            // k failures before this one, counted on all nodes together.
            const long long expected = k <= account_free ? 0 : std::min(100LL << (k - account_free - 1), 200LL);
            BOOST_TEST(delay_of(failed[0]) == expected, failed[0]);
        }
    }

    // One address, an unknown ID per guess, round-robin again.
    const std::string stuffer = "198.51.100.7";
    for (int k = 0; k < 8; ++k) {
        const auto r = api_login(w.node(k % 3).port(), "nobody" + std::to_string(k), "guess", stuffer);
        BOOST_TEST(status_of(r) == 401, "stuffing guess " << k);
    }
    const auto logs = all_logs(w);
    const auto stuffed = lines_of(logs, "login.failed", {"client=" + stuffer + " "});
    BOOST_TEST_REQUIRE(stuffed.size() == 8u, logs);
    for (int k = 0; k < 8; ++k) {
        // Unknown IDs are logged as "(unknown)": guess k is the (k / 3)th of its node's.
        const auto on_node = lines_of(w.node(k % 3).log_text(), "login.failed", {"client=" + stuffer + " "});
        BOOST_TEST_REQUIRE(on_node.size() > static_cast<std::size_t>(k / 3));
        const auto& line = on_node[static_cast<std::size_t>(k / 3)];
        const long long expected = k <= address_free ? 0 : std::min(100LL << (k - address_free - 1), 200LL);
        BOOST_TEST(delay_of(line) == expected, "stuffing guess " << k << ": " << line);
    }

    // A burst: 36 IDs at once from one fresh address, 12 through each node.
    constexpr int burst = 36;
    const std::string botnet = "192.0.2.9";
    std::vector<int> answers(burst);
    {
        std::latch go(burst);
        std::vector<std::thread> threads;
        for (int i = 0; i < burst; ++i)
            threads.emplace_back([&, i] {
                go.arrive_and_wait();
                answers[i] = status_of(api_login(w.node(i % 3).port(), "stuffed" + std::to_string(i), "guess", botnet, 30s));
            });
        for (auto& t : threads) t.join();
    }
    int checked = 0, refused = 0;
    for (const int s : answers) {
        checked += s == 401;
        refused += s == 429;
    }
    BOOST_TEST(checked + refused == burst);
    const auto after = all_logs(w);
    const auto failed = lines_of(after, "login.failed", {"client=" + botnet + " "});
    const auto busy = lines_of(after, "login.refused_busy", {"client=" + botnet + " "});
    BOOST_TEST(failed.size() == static_cast<std::size_t>(checked));
    BOOST_TEST(busy.size() == static_cast<std::size_t>(refused));
    int undelayed = 0;
    for (const auto& line : failed) undelayed += delay_of(line) == 0;
    BOOST_TEST(undelayed >= 1);
    BOOST_TEST(undelayed <= address_free + 1, "undelayed checks of one address's burst over three nodes: " << undelayed);
    BOOST_TEST(refused >= 1);
    BOOST_TEST_MESSAGE("36 IDs from one address over three nodes: " << undelayed << " checked undelayed, "
                                                                    << checked - undelayed << " after a delay, " << refused
                                                                    << " refused 429");

    // 30 addresses guessing hanako: 10 at once spread over the nodes, then 20 one after the
    // other. As on one node: exactly the budget is checked, the wave meets the account's one
    // delayed check at a time (account_parallel_checks), the rest is refused for the budget.
    std::vector<int> wave(30);
    const auto guesser = [](int i) { return "203.0.114." + std::to_string(i + 1); };
    {
        std::latch go(10);
        std::vector<std::thread> threads;
        for (int i = 0; i < 10; ++i)
            threads.emplace_back([&, i] {
                go.arrive_and_wait();
                wave[i] = status_of(api_login(w.node(i % 3).port(), hanako.id, "wave " + std::to_string(i), guesser(i), 30s));
            });
        for (auto& t : threads) t.join();
    }
    for (int i = 10; i < 30; ++i)
        wave[i] = status_of(api_login(w.node(i % 3).port(), hanako.id, "guess " + std::to_string(i), guesser(i), 30s));
    int wave_checked = 0, wave_refused = 0;
    for (const int s : wave) {
        wave_checked += s == 401;
        wave_refused += s == 429;
    }
    BOOST_TEST(wave_checked + wave_refused == 30);
    const auto final_logs = all_logs(w);
    const std::string of_hanako = "id=" + hanako.id + " ";
    const auto concurrency = lines_of(final_logs, "login.refused_busy", {of_hanako, "reason=account_concurrency "});
    const auto spent = lines_of(final_logs, "login.refused_busy", {of_hanako, "reason=account_budget "});
    BOOST_TEST(lines_of(final_logs, "login.failed", {of_hanako}).size() == static_cast<std::size_t>(budget));
    BOOST_TEST(wave_checked == budget);
    BOOST_TEST(concurrency.size() + spent.size() == static_cast<std::size_t>(wave_refused));
    BOOST_TEST(concurrency.size() >= 1u, "account_concurrency refusals of a wave of 10 over three nodes: " << concurrency.size());
    BOOST_TEST(spent.size() >= 1u);
    BOOST_TEST_MESSAGE("30 addresses at one account over three nodes: " << wave_checked << " checked, "
                                                                         << concurrency.size() << " refused account_concurrency, "
                                                                         << spent.size() << " refused account_budget");
}

// 3. Parallel requests for one account spread over the nodes cannot pass its limits: wrong
// codes use up exactly the code's tries (each write takes the account's lock), after which the
// right code no longer works; and parallel logins of one account get at most code.mails_per_hour
// code mails, of which only the newest login's code is live.
BOOST_AUTO_TEST_CASE(parallel_codes_and_logins_of_one_account_over_three_nodes_stay_within_its_limits,
                     *utf::timeout(90)) {
    constexpr int max_attempts = 5, mails_per_hour = 5;  // the shipped code.max_attempts, code.mails_per_hour
    login_world w({taro.for_world(), hanako.for_world()},
                  {"server.trusted_proxies=127.0.0.1", "throttle.account_base_delay_ms=100",
                   "throttle.account_max_delay_ms=200"});
    add_two_nodes(w);
    mail_sink sink(w.mail_dir());

    // Wrong codes: 15 at once with taro's pending token, 5 through each node.
    const auto login = api_login(w.node(0).port(), taro.id, password);
    BOOST_TEST_REQUIRE(status_of(login) == 200);
    const auto token = login->text("token");
    const auto right = sink.take_code(taro.email);
    BOOST_TEST_REQUIRE(right.size() == 6u);
    constexpr int tries = 15;
    std::vector<std::optional<api_reply>> replies(tries);
    {
        std::latch go(tries);
        std::vector<std::thread> threads;
        for (int i = 0; i < tries; ++i)
            threads.emplace_back([&, i] {
                go.arrive_and_wait();
                replies[i] = api_code(w.node(i % 3).port(), token, other_code(right, i % 9 + 1));
            });
        for (auto& t : threads) t.join();
    }
    std::multiset<std::int64_t> left;
    int wrong = 0, dead = 0, gone = 0;
    for (const auto& r : replies) {
        BOOST_TEST_REQUIRE(status_of(r) == 401, "a wrong code: " << status_of(r));
        if (r->error() == "wrong_code") {
            ++wrong;
            left.insert(r->number("attempts_left"));
        } else if (r->error() == "code_dead") {
            ++dead;
        } else {
            ++gone;  // after the code died: its half-way session is gone too
            BOOST_TEST((r->error() == "unauthenticated" || r->error() == "code_expired"), r->error());
        }
    }
    BOOST_TEST(wrong == max_attempts - 1);
    BOOST_TEST(dead == 1);
    BOOST_TEST(gone == tries - max_attempts);
    BOOST_TEST((left == std::multiset<std::int64_t>{1, 2, 3, 4}));  // each try taken once
    const auto logs = all_logs(w);
    BOOST_TEST(lines_of(logs, "code.wrong", {"id=" + taro.id + " "}).size() == static_cast<std::size_t>(max_attempts - 1));
    BOOST_TEST(lines_of(logs, "code.dead", {"id=" + taro.id + " "}).size() == 1u);
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(status_of(api_code(w.node(i).port(), token, right)) == 401, "the right code through node " << i);
        BOOST_TEST(status_of(api_session(w.node(i).port(), token)) == 401);
    }

    // Logins: 12 at once of hanako, 4 through each node, each from an address of its own.
    constexpr int logins = 12;
    std::vector<std::optional<api_reply>> answers(logins);
    {
        std::latch go(logins);
        std::vector<std::thread> threads;
        for (int i = 0; i < logins; ++i)
            threads.emplace_back([&, i] {
                go.arrive_and_wait();
                answers[i] = api_login(w.node(i % 3).port(), hanako.id, password, "10.9.0." + std::to_string(i + 1), 30s);
            });
        for (auto& t : threads) t.join();
    }
    std::vector<std::string> pending;
    int refused = 0;
    for (const auto& r : answers) {
        if (status_of(r) == 200) {
            pending.push_back(r->text("token"));
            continue;
        }
        BOOST_TEST_REQUIRE(status_of(r) == 429, "a parallel login: " << status_of(r));
        BOOST_TEST((r->error() == "too_many_codes" || r->error() == "too_many_attempts"), r->error());
        ++refused;
    }
    BOOST_TEST(pending.size() + refused == static_cast<std::size_t>(logins));
    BOOST_TEST_REQUIRE(!pending.empty());
    BOOST_TEST(pending.size() <= static_cast<std::size_t>(mails_per_hour));
    // One mail per accepted login, no more, even after a retry interval.
    BOOST_TEST(eventually([&] { return w.mails_to(hanako.email).size() >= pending.size(); }, 15s));
    std::this_thread::sleep_for(1500ms);
    const auto mails = w.mails_to(hanako.email);
    BOOST_TEST_REQUIRE(mails.size() == pending.size(), all_logs(w));
    std::vector<std::string> codes;
    for (const auto& m : mails) codes.push_back(code_in(m.body));

    // Only one of the pending logins has a live code, and one of the mailed codes is it; the
    // others' codes are gone (a newer login replaced them) whatever is typed.
    int live = 0;
    for (std::size_t t = 0; t < pending.size(); ++t) {
        for (const auto& code : codes) {
            const auto r = api_code(w.node((t + 1) % 3).port(), pending[t], code);
            if (status_of(r) == 200) {
                ++live;
                break;
            }
            BOOST_TEST_REQUIRE(status_of(r) == 401);
            if (r->error() != "wrong_code") break;  // this login's code is not the live one
        }
    }
    BOOST_TEST(live == 1);
    if (pending.size() == static_cast<std::size_t>(mails_per_hour)) {
        const auto more = api_login(w.node(2).port(), hanako.id, password, "10.9.1.1");
        BOOST_TEST(status_of(more) == 429);
        if (more) BOOST_TEST(more->error() == "too_many_codes");
    }
    BOOST_TEST_MESSAGE("12 parallel logins of one account over three nodes: " << pending.size() << " mailed a code, "
                                                                            << refused << " refused 429");
}

// 4. Three delivery loops on one outbox: 30 logins spread over the nodes, each code mailed
// exactly once (each queued mail is leased by one node), every code accepted through another
// node than its password, and the outbox empty afterwards.
BOOST_AUTO_TEST_CASE(thirty_logins_over_three_nodes_get_thirty_code_mails_each_once, *utf::timeout(90)) {
    constexpr int n = 30;
    const auto accounts = numbered("user", n);
    login_world w({}, {"server.trusted_proxies=127.0.0.1"});
    import_accounts(w, accounts);
    add_two_nodes(w);
    mail_sink sink(w.mail_dir());

    constexpr int workers = 6;
    std::vector<std::optional<api_reply>> logins(n);
    {
        std::vector<std::thread> threads;
        for (int t = 0; t < workers; ++t)
            threads.emplace_back([&, t] {
                for (int k = t; k < n; k += workers)
                    logins[k] = api_login(w.node(k % 3).port(), accounts[k].id, password, "10.4.0." + std::to_string(k + 1), 30s);
            });
        for (auto& t : threads) t.join();
    }
    for (int k = 0; k < n; ++k) BOOST_TEST_REQUIRE(status_of(logins[k]) == 200, accounts[k].id << ": " << status_of(logins[k]));
    BOOST_TEST_REQUIRE(wait_for_mails(w.mail_dir(), n, 30s).size() >= static_cast<std::size_t>(n), all_logs(w));
    for (int k = 0; k < n; ++k) {
        const auto code = sink.take_code(accounts[k].email, 5s);
        BOOST_TEST_REQUIRE(code.size() == 6u, accounts[k].email);
        const auto r = api_code(w.node((k + 1) % 3).port(), logins[k]->text("token"), code);
        BOOST_TEST(status_of(r) == 200, accounts[k].id << ": " << status_of(r));
    }
    // Nothing more comes, even after a retry interval.
    BOOST_TEST(outbox_empty(w, 10s), outbox_list(w));
    std::this_thread::sleep_for(1500ms);
    const auto mails = sink.mails();
    BOOST_TEST(mails.size() == static_cast<std::size_t>(n));
    std::set<std::string> ids, recipients;
    for (const auto& m : mails) {
        ids.insert(m.header("Message-ID"));
        recipients.insert(m.to_address);
    }
    BOOST_TEST(ids.size() == static_cast<std::size_t>(n));
    std::set<std::string> expected;
    for (const auto& a : accounts) expected.insert(a.email);
    BOOST_TEST((recipients == expected));
    BOOST_TEST(w.relay().count_events("MAIL") == static_cast<std::size_t>(n), w.relay().output());
    long long sent = 0;
    std::size_t senders = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        const auto reply = get(w.node(i).port(), "/metrics");
        BOOST_TEST_REQUIRE((reply && reply->status == 200));
        const auto v = metric_value(reply->body, "nidan_mail_sent_total");
        sent += v;
        senders += v > 0;
    }
    BOOST_TEST(sent == n);
    BOOST_TEST(lines_of(all_logs(w), "mail.sent").size() == static_cast<std::size_t>(n));
    BOOST_TEST_MESSAGE("30 code mails, sent by " << senders << " of the 3 nodes");
}

// 5. A node SIGKILLed during a bounded login loop over all three. Node 2's relay never greets,
// so the mails it leases stay leased by it while it waits (smtp.greeting_timeout_ms); it is
// killed at a moment it holds such a lease, seen in the outbox by its lease's length (its SMTP
// timeouts are shorter than the others'). The others carry on: every login answered before or
// after the kill works on them, and every queued mail arrives once, the dead node's leased
// ones after their lease ran out (mail_delivery.cpp lease(): the longest SMTP transaction at
// its timeouts plus 10 s).
BOOST_AUTO_TEST_CASE(a_node_killed_under_load_loses_no_acknowledged_login_and_no_mail, *utf::timeout(120)) {
    const auto accounts = numbered("kill", 30);
    login_world w({}, {"server.trusted_proxies=127.0.0.1"});
    import_accounts(w, accounts);
    relay_process stall({relay_kind::aiosmtpd, w.dir() / "stall", 0, {"--stall"}});
    // Node 2's lease: 200 + 1 + 2000 + 6 x 200 + 200 ms + 10 s = 13.6 s; the others' (the
    // login_world's timeouts and the shipped tls_timeout: 39 s) are longer.
    constexpr std::int64_t dying_lease_ms = 13'601;
    add_two_nodes(w, {"smtp.relay=127.0.0.1:" + std::to_string(stall.port()), "smtp.connect_timeout_ms=200",
                      "smtp.tls_timeout_ms=1", "smtp.greeting_timeout_ms=2000", "smtp.command_timeout_ms=200",
                      "smtp.data_timeout_ms=200"});
    mail_sink sink(w.mail_dir());

    // Before the load: a whole login whose code step node 2 answered, and one through each other
    // node; the three password steps first, so that the waits for mails node 2 held overlap.
    std::vector<std::string> before, pending_before;
    for (std::size_t i = 0; i < 3; ++i) {
        const auto login = api_login(w.node((i + 1) % 3).port(), accounts[i].id, password);
        BOOST_TEST_REQUIRE(status_of(login) == 200);
        pending_before.push_back(login->text("token"));
    }
    for (std::size_t i = 0; i < 3; ++i) {
        const auto code = sink.take_code(accounts[i].email, 30s);
        BOOST_TEST_REQUIRE(code.size() == 6u, "no code mail for " << accounts[i].email << "\n" << all_logs(w));
        const auto verified = api_code(w.node(i).port(), pending_before[i], code);
        BOOST_TEST_REQUIRE(status_of(verified) == 200, "code through node " << i << ": " << status_of(verified));
        before.push_back(verified->text("token"));
    }

    // The load: 3 threads, 9 logins each, node (t + j) % 3, a pause between requests.
    struct attempt {
        std::size_t account;
        std::size_t node;
        std::optional<api_reply> reply;
    };
    constexpr int threads_n = 3, per_thread = 9;
    std::vector<attempt> attempts;
    for (int t = 0; t < threads_n; ++t)
        for (int j = 0; j < per_thread; ++j)
            attempts.push_back({3u + static_cast<std::size_t>(t * per_thread + j), static_cast<std::size_t>((t + j) % 3), {}});
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_n; ++t)
        threads.emplace_back([&, t] {
            for (int j = 0; j < per_thread; ++j) {
                auto& a = attempts[static_cast<std::size_t>(t * per_thread + j)];
                a.reply = api_login(w.node(a.node).port(), accounts[a.account].id, password,
                                    "10.5." + std::to_string(t) + "." + std::to_string(j + 1), 10s);
                if (a.reply) ++answered;
                std::this_thread::sleep_for(200ms);
            }
        });
    // Node 2 is killed once it holds a lease it took less than 1.5 s ago (its attempt waits 2 s
    // for the greeting).
    const auto url = w.postgres_url();
    std::set<std::string> leased_by_dying;
    const bool holds = eventually(
        [&] {
            if (answered < 4) return false;
            const auto now = unix_ms();
            const auto rows = postgres_server::query(
                url, "SELECT id FROM outbox WHERE failed_at = 0 AND lease_until BETWEEN " +
                         std::to_string(now + dying_lease_ms - 1500) + " AND " + std::to_string(now + dying_lease_ms));
            if (rows.empty()) return false;
            w.node(2).signal(SIGKILL);
            for (const auto& row : rows) leased_by_dying.insert(row[0]);
            return true;
        },
        10s, 20ms);
    if (!holds) w.node(2).signal(SIGKILL);
    for (auto& t : threads) t.join();
    BOOST_TEST_REQUIRE(w.node(2).wait_exit(5s).value_or(-1) == 128 + SIGKILL);
    BOOST_TEST_REQUIRE(holds, "node 2 never held a lease during the load:\n" << w.node(2).log_text());

    // Every answered login's code: mailed by a survivor (the dead node's leases after they ran
    // out), accepted through a survivor.
    std::vector<std::string> after;
    int acknowledged = 0, lost_with_the_node = 0;
    for (const auto& a : attempts) {
        if (!a.reply) {
            BOOST_TEST(a.node == 2u, "no answer from a surviving node for " << accounts[a.account].id);
            ++lost_with_the_node;
            continue;
        }
        BOOST_TEST_REQUIRE(a.reply->status == 200, accounts[a.account].id << ": " << a.reply->status << " " << a.reply->raw.body);
        ++acknowledged;
        const auto code = sink.take_code(accounts[a.account].email, 40s);
        BOOST_TEST_REQUIRE(code.size() == 6u, "no code mail for " << accounts[a.account].email << "\n" << all_logs(w));
        const auto r = api_code(w.node(a.account % 2).port(), a.reply->text("token"), code);
        BOOST_TEST_REQUIRE(status_of(r) == 200, accounts[a.account].id << ": " << status_of(r));
        after.push_back(r->text("token"));
    }
    BOOST_TEST(lost_with_the_node >= 1);  // the loop went on past the kill
    for (std::size_t i = 0; i < 2; ++i) {
        for (const auto& token : before) BOOST_TEST(status_of(api_session(w.node(i).port(), token)) == 200, "node " << i);
        for (const auto& token : after) BOOST_TEST(status_of(api_session(w.node(i).port(), token)) == 200, "node " << i);
    }

    // The mails: all out, none twice. A login the dead node took without answering may have
    // queued its mail too; that one is delivered once as well.
    BOOST_TEST(outbox_empty(w, 30s), outbox_list(w));
    std::this_thread::sleep_for(1500ms);
    const auto mails = sink.mails();
    std::set<std::string> ids;
    std::map<std::string, int> per_recipient;
    for (const auto& m : mails) {
        ids.insert(m.header("Message-ID"));
        ++per_recipient[m.to_address];
    }
    BOOST_TEST(ids.size() == mails.size());
    for (const auto& [to, count] : per_recipient) BOOST_TEST(count == 1, to);
    BOOST_TEST(mails.size() >= static_cast<std::size_t>(3 + acknowledged));
    BOOST_TEST(mails.size() <= 3u + attempts.size());
    const auto survivors = w.node(0).log_text() + w.node(1).log_text();
    for (const auto& id : leased_by_dying)
        BOOST_TEST(lines_of(survivors, "mail.sent", {"mail_id=" + id + " "}).size() == 1u, "mail " << id << "\n" << survivors);
    BOOST_TEST(lines_of(w.node(2).log_text(), "mail.sent").empty());
    BOOST_TEST(stall.count_events("DATA") == 0u);
    BOOST_TEST_MESSAGE("killed node: " << leased_by_dying.size() << " mail(s) leased at its death, " << acknowledged
                                       << " logins answered, " << lost_with_the_node << " unanswered");
}

// 6. The database stopped and started again while the three nodes serve a bounded loop of
// session checks. While it is down, what needs it answers 503 (within the connect and statement
// timeouts, made small here) and /readyz says not ready, while /healthz still answers; after it
// is back every node recovers by itself, and what was acknowledged before is still there.
// Stops the executable's cluster, so it runs last.
BOOST_AUTO_TEST_CASE(the_database_restarted_under_load_is_survived_by_every_node, *utf::timeout(120)) {
    const auto accounts = numbered("db", 6);
    login_world w({}, {"storage.postgres_connect_timeout_ms=1000", "storage.postgres_statement_timeout_ms=1000"});
    import_accounts(w, accounts);
    add_two_nodes(w);
    mail_sink sink(w.mail_dir());
    std::vector<std::string> before;
    for (std::size_t i = 0; i < 3; ++i) before.push_back(api_log_in(w, sink, accounts[i], i, (i + 2) % 3));

    std::atomic<bool> stop{false};
    std::mutex m;
    std::map<int, int> seen;  // status (0: no reply) -> count
    std::vector<std::thread> load;
    for (std::size_t t = 0; t < 3; ++t)
        load.emplace_back([&, t] {
            const auto until = std::chrono::steady_clock::now() + 60s;
            for (int i = 0; i < 600 && !stop && std::chrono::steady_clock::now() < until; ++i) {
                const auto s = status_of(api_session(w.node((t + i) % 3).port(), before[t], 8s));
                {
                    std::lock_guard lock(m);
                    ++seen[s];
                }
                std::this_thread::sleep_for(50ms);
            }
        });
    std::this_thread::sleep_for(300ms);

    shared_postgres().stop();
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST_CONTEXT("node " << i << " without its database") {
            const auto port = w.node(i).port();
            BOOST_TEST(eventually([&] { return http_status(port, "/readyz", 8s) == 503; }, 10s, 100ms));
            BOOST_TEST(http_status(port, "/healthz", 8s) == 200);
            const auto login = api_login(port, accounts[3 + i].id, password, "", 8s);
            BOOST_TEST(status_of(login) == 503);
            if (login) BOOST_TEST(login->error() == "unavailable");
            BOOST_TEST(status_of(api_session(port, before[i], 8s)) == 503);
        }
    }
    std::this_thread::sleep_for(500ms);
    shared_postgres().start();
    for (std::size_t i = 0; i < 3; ++i)
        BOOST_TEST(eventually([&] { return http_status(w.node(i).port(), "/readyz", 8s) == 200; }, 30s, 200ms),
                   "node " << i << " did not become ready again:\n" << w.node(i).log_text());
    std::this_thread::sleep_for(300ms);
    stop = true;
    for (auto& t : load) t.join();

    // Recovered: what was there before is there, and new logins work through every node.
    for (std::size_t i = 0; i < 3; ++i)
        for (const auto& token : before) BOOST_TEST(status_of(api_session(w.node(i).port(), token)) == 200, "node " << i);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto token = api_log_in(w, sink, accounts[3 + i], i, (i + 1) % 3);
        for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(status_of(api_session(w.node(j).port(), token)) == 200);
    }
    std::ostringstream summary;
    for (const auto& [status, count] : seen) summary << " " << status << ": " << count;
    BOOST_TEST_MESSAGE("session checks during the database restart:" << summary.str());
    // The load got answers only, and only these: the session, or 503 while the database was away.
    for (const auto& [status, count] : seen) BOOST_TEST((status == 200 || status == 503), "status " << status << " x" << count);
    BOOST_TEST(seen[503] >= 1);
    BOOST_TEST(seen[200] >= 1);
}
