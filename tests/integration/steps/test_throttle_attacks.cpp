// Throttle attacks against the real `nidan serve`, and that they fail (README.md's security
// section states the model): a burst of guesses at many IDs from one address, many addresses
// guessing one account, a stranger's delayed guess on an address shared with customers, and a
// window boundary that must not hand out the free failures again. Many client addresses come
// from 127.0.0.1 as a trusted proxy with X-Forwarded-For. Delays and windows are shrunk with
// --set overrides; the verdicts are read from the audit lines and /metrics, not from timings
// (only "this answer came after that one").
#define BOOST_TEST_MODULE throttle_attacks
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <latch>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "nidan_test/browser.hpp"
#include "nidan_test/catalog.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/raw_http.hpp"
#include "log_lines.hpp"
#include "portal_client.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace utf = boost::unit_test;

namespace {

const std::string& password = account_password;
const std::string msg_try_later = catalog_text("ja", "message.try_later");

const portal_account taro{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp",
                          "09012345678", "*******5678", false};
const portal_account hanako{"ip-phone", "/selfcare/SelfcareLogin.in", "hanako", "hanako@example.jp",
                            "09011112222", "*******2222", false};


header_list from(const std::string& address) { return {{"X-Forwarded-For", address}}; }

long long metric(unsigned short port, const std::string& name) {
    const auto reply = get(port, "/metrics");
    BOOST_TEST_REQUIRE(reply.has_value());
    BOOST_TEST_REQUIRE(reply->status == 200);
    return metric_value(reply->body, name);
}

long long refused_metric(unsigned short port, const std::string& reason) {
    return metric(port, "nidan_login_refused_total{reason=\"" + reason + "\"}");
}

long long retry_after(const http_reply& r) {
    const auto v = r.header("retry-after");
    return v.empty() ? -1 : std::stoll(v);
}

// A login POST that never throws (0 when no reply came), for the attack threads.
http_reply try_login(browser& b, const portal_account& a, const std::string& csrf, const std::string& id,
                     const std::string& pw, const header_list& extra = {}) {
    try {
        return submit_login(b, a, csrf, id, pw, extra);
    } catch (const std::exception&) {
        return {};
    }
}

// One login POST per browser, all released at once; each browser opened its login page first.
struct burst {
    std::vector<std::unique_ptr<browser>> browsers;
    std::vector<std::string> csrf;
    std::vector<http_reply> replies;

    burst(unsigned short port, const portal_account& a, std::size_t n) : replies(n) {
        for (std::size_t i = 0; i < n; ++i) {
            browsers.push_back(std::make_unique<browser>(port));
            csrf.push_back(open_login(*browsers.back(), a));
        }
    }
    // attempt(i, browser, csrf) -> reply, run on its own thread.
    template <class Attempt>
    void run(Attempt attempt) {
        std::latch go(static_cast<std::ptrdiff_t>(browsers.size()));
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < browsers.size(); ++i)
            threads.emplace_back([&, i] {
                go.arrive_and_wait();
                replies[i] = attempt(i, *browsers[i], csrf[i]);
            });
        for (auto& t : threads) t.join();
    }
    int with_status(int status) const {
        int n = 0;
        for (const auto& r : replies) n += r.status == status;
        return n;
    }
};

std::int64_t wall_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Sleeps until `unix_second` has begun (plus a little, so the server's clock agrees).
void sleep_until_second(std::int64_t unix_second) {
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::seconds(unix_second)) + 50ms);
}

}  // namespace

// Credential stuffing from one address: 40 guesses at 40 IDs at once. The address's checks in
// flight count as failures to come, so the burst gets no more free checks than a slow run would:
// the address's free failures and the check after which the delay starts (core/security/throttle.hpp:
// no delay while the failures so far are at most address_free_failures); the rest are delayed
// one at a time behind the address's line of address_queue_max, or refused at once unchecked.
BOOST_AUTO_TEST_CASE(forty_ids_from_one_address_at_once_get_only_the_free_failures_checked_undelayed,
                     *utf::timeout(120)) {
    constexpr int guesses = 40;
    constexpr long long free_failures = 10;  // the shipped throttle.address_free_failures
    login_world w({taro.for_world()}, {"throttle.address_base_delay_ms=100", "throttle.address_max_delay_ms=400"});
    burst attack(w.port(), taro, guesses);
    attack.run([](std::size_t i, browser& b, const std::string& csrf) {
        return try_login(b, taro, csrf, "stuffed" + std::to_string(i), "guess " + std::to_string(i));
    });

    const int checked = attack.with_status(401);
    const int refused = attack.with_status(429);
    BOOST_TEST(checked + refused == guesses);
    for (const auto& r : attack.replies) {
        if (r.status != 429) continue;
        BOOST_TEST(alert_of(r.body) == msg_try_later);
        BOOST_TEST(retry_after(r) >= 1);
    }
    const auto log = w.server().log_text();
    const auto failed = lines_of(log, "login.failed");
    const auto busy = lines_of(log, "login.refused_busy");
    int undelayed = 0;
    for (const auto& line : failed) {
        if (delay_of(line) == 0) ++undelayed;
        else BOOST_TEST(delay_of(line) >= 100, line);  // at least the base delay
    }
    // Every guess is either a stored failure or an unchecked refusal, and never all 40 free.
    BOOST_TEST(failed.size() == static_cast<std::size_t>(checked), log);
    BOOST_TEST(busy.size() == static_cast<std::size_t>(refused), log);
    BOOST_TEST(failed.size() + busy.size() == static_cast<std::size_t>(guesses));
    BOOST_TEST(undelayed >= 1);
    BOOST_TEST(undelayed <= free_failures + 1, log);
    BOOST_TEST(refused >= 1, log);
    // 40 IDs: no pair is ever taken twice and no account has a delay; only the line is full.
    BOOST_TEST(lines_of(log, "login.refused_busy", {"reason=busy_queue_full "}).size() == busy.size(), log);
    BOOST_TEST(refused_metric(w.port(), "busy_queue_full") == refused);
    BOOST_TEST(metric(w.port(), "nidan_login_delayed_waiting") == 0);
    BOOST_TEST(metric(w.port(), "nidan_login_queued") == 0);
    BOOST_TEST_MESSAGE("40 IDs from one address: " << undelayed << " checked undelayed, "
                                                   << checked - undelayed << " checked after a delay, "
                                                   << refused << " refused 429 unchecked");
}

// A botnet guessing one password: 30 addresses, 10 at once and then 20 one after the other.
// One delayed check of the account runs at a time (account_parallel_checks), and after
// account_budget failures strangers are refused unchecked: the right password from a fresh
// address too (429 with Retry-After, on the page and on the API), while the owner's browser
// with its device cookie logs in at once.
BOOST_AUTO_TEST_CASE(thirty_addresses_guessing_one_account_get_its_budget_and_the_owners_device_still_logs_in,
                     *utf::timeout(120)) {
    constexpr std::size_t budget = 15;  // the shipped throttle.account_budget
    login_world w({taro.for_world()}, {"server.trusted_proxies=127.0.0.1", "throttle.account_base_delay_ms=500",
                                       "throttle.account_max_delay_ms=500"});
    browser owner(w.port());
    log_in(w, owner, taro);
    BOOST_TEST_REQUIRE(owner.cookie(nidan::cookie_names::device).has_value());

    const auto attacker = [](std::size_t i) { return "203.0.113." + std::to_string(i + 1); };
    burst wave(w.port(), taro, 10);
    wave.run([&](std::size_t i, browser& b, const std::string& csrf) {
        return try_login(b, taro, csrf, taro.id, "wave guess " + std::to_string(i), from(attacker(i)));
    });
    std::vector<http_reply> replies = wave.replies;
    for (std::size_t i = 10; i < 30; ++i) {
        browser b(w.port());
        replies.push_back(try_login(b, taro, open_login(b, taro), taro.id, "guess " + std::to_string(i), from(attacker(i))));
    }
    std::size_t checked = 0, refused = 0;
    for (const auto& r : replies) {
        checked += r.status == 401;
        refused += r.status == 429;
        if (r.status == 429) BOOST_TEST(retry_after(r) >= 1);
    }
    BOOST_TEST(checked + refused == 30u);

    const auto log = w.server().log_text();
    const std::string of_taro = "id=" + taro.id + " ";
    const auto failed = lines_of(log, "login.failed", {of_taro});
    const auto concurrency = lines_of(log, "login.refused_busy", {of_taro, "reason=account_concurrency "});
    const auto spent = lines_of(log, "login.refused_busy", {of_taro, "reason=account_budget "});
    // Exactly the budget was checked; every other guess was refused unchecked for the account.
    BOOST_TEST(failed.size() == budget, log);
    BOOST_TEST(checked == budget);
    BOOST_TEST(lines_of(log, "login.refused_busy").size() == refused, log);
    BOOST_TEST(concurrency.size() + spent.size() == refused, log);
    BOOST_TEST(concurrency.size() >= 1u, log);  // the wave met the one delayed check at a time
    BOOST_TEST(spent.size() >= 1u, log);
    BOOST_TEST(refused_metric(w.port(), "account_concurrency") == static_cast<long long>(concurrency.size()));

    // The right password from a fresh address: refused unchecked, page and API alike.
    browser stranger(w.port());
    const auto page = submit_login(stranger, taro, open_login(stranger, taro), taro.id, password, from("198.51.100.1"));
    BOOST_TEST(page.status == 429);
    BOOST_TEST(alert_of(page.body) == msg_try_later);
    BOOST_TEST(retry_after(page) >= 1, "page Retry-After: '" << page.header("retry-after") << "'");
    BOOST_TEST(!stranger.cookie(nidan::cookie_names::session).has_value());
    const auto api = call(w.port(), "POST", "/api/v1/" + taro.portal + "/login", login_body(taro.id, password), "",
                          "application/json", from("198.51.100.2"));
    BOOST_TEST(api.status == 429);
    BOOST_TEST(api.error() == "too_many_attempts");
    BOOST_TEST(retry_after(api.raw) >= 1, "API Retry-After: '" << api.raw.header("retry-after") << "'");

    // The owner's browser: not slowed, not refused, the whole login.
    log_in(w, owner, taro);
    const auto after = w.server().log_text();
    BOOST_TEST(lines_of(after, "login.refused_busy", {"client=198.51.100.1 ", "reason=account_budget "}).size() == 1u, after);
    BOOST_TEST(lines_of(after, "login.refused_busy", {"client=198.51.100.2 ", "reason=account_budget "}).size() == 1u, after);
    BOOST_TEST(refused_metric(w.port(), "account_budget") == static_cast<long long>(spent.size()) + 2);
    const auto ok = lines_of(after, "login.password_ok", {of_taro});
    BOOST_TEST_REQUIRE(ok.size() == 2u, after);  // the owner's two logins, no stranger's
    BOOST_TEST(field(ok[1], "known_device") == "true");
    BOOST_TEST(field(ok[1], "client") == "127.0.0.1");
    BOOST_TEST(delay_of(ok[1]) == 0);
    BOOST_TEST(lines_of(after, "login.failed", {of_taro}).size() == budget);
    BOOST_TEST_MESSAGE("30 addresses at one account: " << failed.size() << " checked, " << concurrency.size()
                                                       << " refused account_concurrency, " << spent.size()
                                                       << " refused account_budget");
}

// A carrier NAT: an attacker and two customers behind one address. The attacker's delayed guess
// waits; the owner of the account with her device cookie logs in meanwhile without waiting, and
// another customer without one is queued behind the guess, not refused: her answer comes after
// the attacker's and is an ordinary login.
BOOST_AUTO_TEST_CASE(on_a_shared_address_a_strangers_delayed_guess_neither_blocks_the_owner_nor_refuses_a_neighbour,
                     *utf::timeout(120)) {
    const std::string shared = "198.51.100.20";
    login_world w({taro.for_world(), hanako.for_world()},
                  {"server.trusted_proxies=127.0.0.1", "throttle.address_free_failures=0",
                   "throttle.address_base_delay_ms=3000", "throttle.address_max_delay_ms=3000"});
    browser owner(w.port());
    log_in(w, owner, taro);  // from elsewhere: the device cookie is the account's, not the address's
    BOOST_TEST_REQUIRE(owner.cookie(nidan::cookie_names::device).has_value());

    // The attacker's free failure, then a guess that waits out the address's delay.
    browser attacker(w.port());
    BOOST_TEST_REQUIRE(submit_login(attacker, taro, open_login(attacker, taro), taro.id, "guess 1", from(shared)).status == 401);
    std::atomic<int> answers{0};
    int attacker_answer = 0, neighbour_answer = 0;
    http_reply guess, neighbour_reply;
    const auto guess_csrf = open_login(attacker, taro);
    std::thread guessing([&] {
        guess = try_login(attacker, taro, guess_csrf, taro.id, "guess 2", from(shared));
        attacker_answer = ++answers;
    });
    const auto waiting = [&](const std::string& gauge, long long value) {
        return [&w, gauge, value] { return metric(w.port(), gauge) == value; };
    };
    BOOST_TEST_REQUIRE(eventually(waiting("nidan_login_delayed_waiting", 1), 10s, 20ms));

    // The owner, from the same address: answered while the guess still waits.
    const auto own = submit_login(owner, taro, open_login(owner, taro), taro.id, password, from(shared));
    const int owner_answer = ++answers;
    BOOST_TEST(own.status == 303);
    BOOST_TEST(own.header("location") == taro.code_path());
    BOOST_TEST(metric(w.port(), "nidan_login_delayed_waiting") == 1);

    // The neighbour, without a device cookie: in the address's line behind the guess.
    browser neighbour(w.port());
    const auto neighbour_csrf = open_login(neighbour, hanako);
    std::thread logging_in([&] {
        neighbour_reply = try_login(neighbour, hanako, neighbour_csrf, hanako.id, password, from(shared));
        neighbour_answer = ++answers;
    });
    const bool queued = eventually(waiting("nidan_login_queued", 1), 10s, 20ms);
    guessing.join();
    logging_in.join();
    BOOST_TEST(queued);

    BOOST_TEST(guess.status == 401);
    BOOST_TEST(neighbour_reply.status == 303, neighbour_reply.status << "\n" << neighbour_reply.body);
    BOOST_TEST(neighbour_reply.header("location") == hanako.code_path());
    BOOST_TEST(owner_answer == 1);  // before the guess's answer
    BOOST_TEST(attacker_answer == 2);
    BOOST_TEST(neighbour_answer == 3);  // after the guess's

    const auto log = w.server().log_text();
    BOOST_TEST(lines_of(log, "login.refused_busy").empty(), log);
    const auto client = "client=" + shared + " ";
    const auto owner_ok = lines_of(log, "login.password_ok", {"id=" + taro.id + " ", client});
    BOOST_TEST_REQUIRE(owner_ok.size() == 1u, log);
    BOOST_TEST(field(owner_ok[0], "known_device") == "true");
    BOOST_TEST(delay_of(owner_ok[0]) == 0);
    const auto neighbour_ok = lines_of(log, "login.password_ok", {"id=" + hanako.id + " ", client});
    BOOST_TEST_REQUIRE(neighbour_ok.size() == 1u, log);
    BOOST_TEST(field(neighbour_ok[0], "known_device") == "false");
    BOOST_TEST(delay_of(neighbour_ok[0]) >= 3000);  // she waited her turn and the address's delay
    const auto guesses = lines_of(log, "login.failed", {client});
    BOOST_TEST_REQUIRE(guesses.size() == 2u, log);
    BOOST_TEST(delay_of(guesses[1]) >= 3000);
    // Both customers got their code (and the owner's first login its own).
    BOOST_TEST(eventually([&] { return w.mails_received() == 3u; }, 10s));
}

// Sliding windows: the free failures spent at the end of one bucket are still counted right
// after the boundary, so the next failure is delayed; a whole bucket later they are free again.
// (With address_free_failures = 1, two checks are free: the count so far is 0, then 1.) The
// estimate after the boundary is ceil(2 x (5 - elapsed) / 5) = 2 for the first three seconds of
// the next 5 s bucket; when the machine stalls past them, the trial starts again on a fresh
// address.
BOOST_AUTO_TEST_CASE(a_window_boundary_does_not_hand_out_the_free_failures_again, *utf::timeout(150)) {
    constexpr std::int64_t window = 5;  // the lowest throttle.address_window_s
    login_world w({taro.for_world()}, {"server.trusted_proxies=127.0.0.1", "throttle.address_window_s=5",
                                       "throttle.address_free_failures=1", "throttle.address_base_delay_ms=200",
                                       "throttle.address_max_delay_ms=200"});
    int guess_no = 0;
    const auto fail = [&](const std::string& address) {
        browser b(w.port());
        const auto reply = submit_login(b, taro, open_login(b, taro), "boundary" + std::to_string(++guess_no), "guess",
                                        from(address));
        BOOST_TEST_REQUIRE(reply.status == 401);
    };
    bool done = false;
    for (int trial = 0; trial < 3 && !done; ++trial) {
        const auto address = "192.0.2." + std::to_string(trial + 1);
        // The last two seconds of a bucket.
        auto now = wall_seconds();
        const auto bucket = (now % window <= window - 2 ? now / window : now / window + 1);
        sleep_until_second(bucket * window + window - 2);
        fail(address);
        fail(address);
        if (wall_seconds() / window != bucket) continue;  // stalled past the boundary
        // Right after the boundary.
        sleep_until_second((bucket + 1) * window);
        fail(address);
        if (wall_seconds() >= (bucket + 1) * window + 3) continue;  // the server's clock may be later
        // The next bucket's previous one is empty: free again, two of them, then delayed.
        sleep_until_second((bucket + 3) * window);
        fail(address);
        fail(address);
        fail(address);
        if (wall_seconds() >= (bucket + 4) * window + 3) continue;

        const auto log = w.server().log_text();
        const auto lines = lines_of(log, "login.failed", {"client=" + address + " "});
        BOOST_TEST_REQUIRE(lines.size() == 6u, log);
        BOOST_TEST(delay_of(lines[0]) == 0, lines[0]);
        BOOST_TEST(delay_of(lines[1]) == 0, lines[1]);
        BOOST_TEST(delay_of(lines[2]) >= 200, lines[2]);  // after the boundary: still counted
        BOOST_TEST(delay_of(lines[3]) == 0, lines[3]);    // a bucket later: free again
        BOOST_TEST(delay_of(lines[4]) == 0, lines[4]);
        BOOST_TEST(delay_of(lines[5]) >= 200, lines[5]);  // and no more than before
        BOOST_TEST_MESSAGE("window boundary: trial " << trial + 1 << " of 3");
        done = true;
    }
    BOOST_TEST(done, "every trial stalled past its bucket");
}

// The account page's password change checks the current password like a login: parallel wrong
// guesses from one logged-in browser meet the one delayed check at a time, and the refused ones
// get 429 with Retry-After, as the login page does.
BOOST_AUTO_TEST_CASE(the_account_pages_refusals_say_when_to_try_again, *utf::timeout(120)) {
    login_world w({taro.for_world()}, {"throttle.account_free_failures=0", "throttle.account_base_delay_ms=800",
                                       "throttle.account_max_delay_ms=800"});
    browser owner(w.port());
    const auto session = log_in(w, owner, taro);
    const auto home = owner.get(taro.home_path());
    BOOST_TEST_REQUIRE(home.status == 200);
    const auto csrf = input_value(home.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());

    constexpr std::size_t n = 6;
    std::vector<http_reply> replies(n);
    std::latch go(static_cast<std::ptrdiff_t>(n));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
            browser b(w.port());
            b.set_cookie("nidan_session", session);
            go.arrive_and_wait();
            try {
                replies[i] = b.post_form("/portal/" + taro.portal + "/password",
                                         {{"csrf", csrf}, {"current_password", "wrong " + std::to_string(i)},
                                          {"new_password", "a new password 2026"}});
            } catch (const std::exception&) {
            }
        });
    for (auto& t : threads) t.join();
    std::size_t refused = 0;
    for (const auto& r : replies) {
        BOOST_TEST((r.status == 401 || r.status == 429), r.status);
        if (r.status != 429) continue;
        ++refused;
        BOOST_TEST(retry_after(r) >= 1, "Retry-After: '" << r.header("retry-after") << "'");
        BOOST_TEST(alert_of(r.body) == msg_try_later);
    }
    BOOST_TEST(refused >= 1u, w.server().log_text());
}
