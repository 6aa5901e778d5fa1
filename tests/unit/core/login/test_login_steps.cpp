// The login steps of core/ driven without a network or LMDB: an in-memory record store stands in
// for storage/ (one transaction = a copy that is kept or thrown away), the password hasher is the
// real Argon2id with cheap parameters, the mails are the real code_mailer's with the shipped
// templates, and the clock is whatever each test says. Each rule of the flow is checked on the
// records it leaves behind: throttling delays and the device exemption, the optional password
// lock, the code's attempts, expiry and single use, the address form's 3-strike lock, and the
// account page's changes.
#define BOOST_TEST_MODULE login_steps
#include <boost/test/unit_test.hpp>

#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/login/account_steps.hpp"
#include "core/login/address_change.hpp"
#include "core/security/attempt_gate.hpp"
#include "core/login/address_step.hpp"
#include "core/login/code_step.hpp"
#include "core/account/credentials.hpp"
#include "core/login/login_context.hpp"
#include "core/login/password_step.hpp"
#include "core/mail/sealed_mail.hpp"
#include "core/base/log.hpp"
#include "core/base/tokens.hpp"

using namespace nidan;
using namespace nidan::login;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// Everything a step can read or write, as plain maps.
class memory_records final : public record_writer {
public:
    std::map<std::string, account> accounts;                // by account_subject
    std::map<std::string, session_record> sessions;         // by hash
    std::map<std::string, code_record> codes;               // by account_subject
    std::map<std::tuple<std::string, std::string, std::int64_t>, std::pair<std::uint32_t, std::int64_t>> counters;
    std::vector<outbox_mail> outbox;
    std::vector<outbox_mail> failed;  // the outbox's failed list

    std::optional<account> find_account(std::string_view portal, std::string_view id) const override {
        return find(accounts, account_subject(portal, id));
    }
    std::optional<session_record> find_session(std::string_view hash, std::int64_t now) const override {
        auto s = find(sessions, std::string(hash));
        if (s && (now >= s->idle_expires_at || now >= s->absolute_expires_at)) return std::nullopt;
        return s;
    }
    std::optional<code_record> find_code(std::string_view portal, std::string_view id) const override {
        return find(codes, account_subject(portal, id));
    }
    std::uint32_t count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                        std::int64_t now) const override {
        const auto it = counters.find({std::string(kind), std::string(subject), window_start});
        return it == counters.end() || now >= it->second.second ? 0 : it->second.first;
    }
    bool code_mail_failed_to(std::string_view address) const override {
        return std::any_of(failed.begin(), failed.end(), [&](const outbox_mail& m) {
            return m.kind == "login_code" && std::find(m.rcpt_to.begin(), m.rcpt_to.end(), address) != m.rcpt_to.end();
        });
    }
    void save_account(const account& a) override { accounts[account_subject(a.portal, a.selfcare_id)] = a; }
    void save_session(std::string_view hash, const session_record& s) override { sessions[std::string(hash)] = s; }
    void drop_session(std::string_view hash) override { sessions.erase(std::string(hash)); }
    void save_code(std::string_view portal, std::string_view id, const code_record& c) override {
        codes[account_subject(portal, id)] = c;
    }
    void drop_code(std::string_view portal, std::string_view id) override { codes.erase(account_subject(portal, id)); }
    void add_count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                   std::int64_t expires_at) override {
        auto& entry = counters[{std::string(kind), std::string(subject), window_start}];
        ++entry.first;
        entry.second = expires_at;
    }
    void clear_count(std::string_view kind, std::string_view subject, std::int64_t window_start) override {
        counters.erase({std::string(kind), std::string(subject), window_start});
    }
    void queue_mail(outbox_mail mail, std::int64_t now_ms) override {
        mail.due_at = now_ms;
        outbox.push_back(std::move(mail));
    }

private:
    template <class Map>
    static std::optional<typename Map::mapped_type> find(const Map& map, const std::string& key) {
        const auto it = map.find(key);
        if (it == map.end()) return std::nullopt;
        return it->second;
    }
};

// One transaction: the step writes into a copy, which replaces the store only when it finishes
// without throwing (as a storage-writer transaction commits or aborts).
template <class Step>
std::error_code commit(memory_records& store, Step& step) {
    auto copy = store;
    try {
        step.write(copy);
    } catch (const std::exception&) {
        return std::make_error_code(std::errc::io_error);
    }
    store = std::move(copy);
    return {};
}

const std::string password = "correct horse battery";
constexpr std::int64_t start = 1'800'000'000;  // a Thursday in 2027, on a window boundary

std::filesystem::path templates_dir() { return std::filesystem::path(NIDAN_SOURCE_DIR) / "templates"; }

config test_config() {
    config c;
    c.hash.memory_kib = 8;
    c.hash.iterations = 1;
    return c;
}

// The digits of the login code in a mail from code_mailer (a base64 MIME body).
// The text of a mail (base64 as code_mailer writes it), decoded.
// The fixture's server secret, which seals the mails in the outbox.
const std::string test_secret = "server secret of the test";

std::string text_of(const outbox_mail& mail) {
    // Sealed in the outbox (core/mail/sealed_mail.hpp): no code in clear there.
    BOOST_TEST_REQUIRE(mail.message.starts_with("nidan-sealed-1:"));
    const auto opened = nidan::mail::open_message(nidan::mail::outbox_key(test_secret), mail.message);
    BOOST_TEST_REQUIRE(opened.has_value());
    const auto& message = *opened;
    const auto body_at = message.find("\r\n\r\n");
    BOOST_TEST_REQUIRE(body_at != std::string::npos);
    const auto encoded = message.substr(body_at + 4);
    std::string decoded(encoded.size(), '\0');
    std::size_t length = 0;
    BOOST_TEST_REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                                         encoded.data(), encoded.size(), "\r\n", &length, nullptr,
                                         sodium_base64_VARIANT_ORIGINAL) == 0);
    decoded.resize(length);
    return decoded;
}

// The token of the cancel link in a change notice.
std::string cancel_token_in(const outbox_mail& mail) {
    const auto text = text_of(mail);
    const std::string marker = "/address/cancel?t=";
    const auto at = text.find(marker);
    BOOST_TEST_REQUIRE(at != std::string::npos, text);
    const auto from = at + marker.size();
    return text.substr(from, text.find_first_of(" \r\n", from) - from);
}

std::string code_in(const outbox_mail& mail) {
    const auto decoded = text_of(mail);
    const std::string marker = "■ログイン認証コード";
    auto at = decoded.find(marker);
    BOOST_TEST_REQUIRE(at != std::string::npos, decoded);
    at += marker.size();
    std::string digits;
    for (; at < decoded.size() && digits.size() < 6; ++at)
        if (decoded[at] >= '0' && decoded[at] <= '9') digits += decoded[at];
    return digits;
}

// A portal with two customers and the store, the hasher and the mailer the steps use.
struct flow_fixture {
    config cfg = test_config();
    portal_config portal = cfg.portals.front();
    password_hasher hasher{{cfg.hash.memory_kib, cfg.hash.iterations}};
    template_store templates{templates_dir(), "ja"};
    code_mailer mailer{cfg, templates};
    std::string secret = test_secret;
    memory_records store;
    std::int64_t now = start;

    flow_fixture() { reset_accounts(); }

    void reset_accounts() {
        add_account("taro", "taro@example.jp", "09012345678");
        add_account("hanako", "", "0312345678");
    }
    void add_account(const std::string& id, const std::string& email, const std::string& phone) {
        account a;
        a.portal = portal.id;
        a.selfcare_id = id;
        a.password_hash = hasher.hash(password);
        a.email = email;
        a.phone = phone;
        revoke_credentials(a);  // a fresh epoch, as `nidan user add` gives
        store.save_account(a);
    }
    context ctx() const { return {cfg, portal, secret, mailer}; }
    account stored_account(const std::string& id) const { return *store.find_account(portal.id, id); }
    // A device token of the account under its current epoch, as a completed login hands out.
    std::string device_of(const std::string& id, std::int64_t expires_at = 0) const {
        return sign_token(secret, device_purpose, device_token_payload(account_subject(portal.id, id), stored_account(id).credential_epoch),
                          expires_at ? expires_at : now + 3600);
    }
    std::uint32_t failures(std::string_view kind, const std::string& subject) const {
        const auto& policy = kind == failures_per_address ? cfg.throttle.address_window : cfg.throttle.account_window;
        return store.count(kind, subject, now - now % policy.count(), now);
    }

    // Step 1 as the server runs it; the delay is reported, not waited for.
    struct password_run {
        password_outcome outcome;
        std::chrono::milliseconds delay{0};
    };
    password_run log_in(const std::string& id, const std::string& typed, const std::string& client = "192.0.2.1",
                        const std::string& device = "", const std::string& old_session = "") {
        const auto c = ctx();
        password_step step(c, {id, typed, client, device, old_session}, now);
        step.read(store);
        if (step.over_budget()) {  // refused unchecked, as the server does
            step.refuse_busy(throttle_refusal::account_budget);
            return {step.finish({}), step.delay()};
        }
        const auto& stored = step.stored_hash();
        auto verdict = password_hasher::verdict::mismatch;
        if (stored.empty())
            hasher.verify_dummy(step.password());
        else
            verdict = hasher.verify(stored, step.password());
        std::error_code ec;
        if (step.verified(verdict)) {
            if (step.rehash_wanted()) step.set_rehash(hasher.hash(step.password()));
            ec = commit(store, step);
        }
        return {step.finish(ec), step.delay()};
    }

    current_session session_of(const std::string& session_id) const {
        const auto c = ctx();
        auto found = find_session(c, store, session_id, now);
        BOOST_TEST_REQUIRE(found.has_value());
        return *found;
    }

    code_outcome enter_code(const std::string& session_id, const std::string& typed) {
        const auto c = ctx();
        const auto session = session_of(session_id);
        code_step step(c, session, typed, "192.0.2.1", now);
        std::error_code ec;
        if (step.well_formed()) ec = commit(store, step);
        return step.finish(ec);
    }

    address_outcome use_address_form(const std::string& session_id, const std::string& email, const std::string& phone) {
        const auto c = ctx();
        const auto session = session_of(session_id);
        address_step step(c, session, email, phone, "192.0.2.1", now);
        std::error_code ec;
        if (step.well_formed()) ec = commit(store, step);
        return step.finish(ec);
    }

    // The account page's address change as the server runs it (no waiting).
    email_change_result change_email(const std::string& session_id, const std::string& email,
                                     const std::string& current = password) {
        const auto c = ctx();
        email_change_step step(c, session_of(session_id), email, current, "192.0.2.1", now);
        std::error_code ec;
        if (step.well_formed()) {
            step.check().read(store);
            if (step.check().needs_check()) {
                step.check().verified(hasher.verify(step.check().stored_hash(), step.check().typed()));
                ec = commit(store, step);
            }
        }
        return step.finish(ec);
    }

    // The notice's link, posted from the registered address's mailbox.
    address_cancel_result cancel(const std::string& token) {
        const auto c = ctx();
        address_cancel_step step(c, token, "198.51.100.7", now);
        std::error_code ec;
        if (step.valid()) ec = commit(store, step);
        return step.finish(ec);
    }

    // Step 1 and 2 done: the authenticated session's id.
    std::string logged_in(const std::string& id) {
        const auto first = log_in(id, password).outcome;
        BOOST_TEST_REQUIRE((first.result == password_result::code_sent));
        const auto second = enter_code(first.session_id, code_in(store.outbox.back()));
        BOOST_TEST_REQUIRE((second.result == code_result::accepted));
        return second.session_id;
    }
};

std::string wrong_code(const std::string& code) {
    std::string out = code;
    out[0] = out[0] == '9' ? '0' : static_cast<char>(out[0] + 1);
    return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(password_step_rules, flow_fixture)

BOOST_AUTO_TEST_CASE(the_right_password_starts_a_code_pending_session_and_issues_a_code) {
    const auto run = log_in("taro", password);
    BOOST_TEST((run.outcome.result == password_result::code_sent));
    BOOST_TEST(run.outcome.masked_email == "t***@example.jp");
    BOOST_TEST(run.outcome.mail_queued);
    BOOST_TEST(run.outcome.session_id.size() >= 22u);  // at least 128 bits of base64url

    // Stored: the session under the id's SHA-256 only, the code as a MAC with its expiry and
    // attempts, and its mail, due now and dropped when the code expires.
    BOOST_TEST(store.sessions.size() == 1u);
    BOOST_TEST(!store.sessions.contains(run.outcome.session_id));
    const auto session = session_of(run.outcome.session_id);
    BOOST_TEST((session.record.state == session_state::code_pending));
    BOOST_TEST(session.record.selfcare_id == "taro");
    const auto code = *store.find_code(portal.id, "taro");
    BOOST_TEST(code.expires_at == now + 1200);
    BOOST_TEST(code.attempts_left == 5u);
    BOOST_TEST(code.session_hash == session.hash);
    BOOST_TEST(code.target_email == "taro@example.jp");
    BOOST_TEST_REQUIRE(store.outbox.size() == 1u);
    const auto& mail = store.outbox.front();
    BOOST_TEST(mail.rcpt_to == std::vector<std::string>{"taro@example.jp"});
    BOOST_TEST(mail.expires_at == code.expires_at);
    BOOST_TEST(mail.due_at == now * 1000);
    const auto digits = code_in(mail);
    BOOST_TEST(digits.size() == 6u);
    BOOST_TEST(code.mac.find(digits) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(wrong_password_and_unknown_id_are_one_outcome_and_both_count) {
    const auto wrong = log_in("taro", "not the password");
    const auto unknown = log_in("nobody", password);
    BOOST_TEST((wrong.outcome.result == password_result::invalid_credentials));
    BOOST_TEST((unknown.outcome.result == password_result::invalid_credentials));
    BOOST_TEST(wrong.outcome.session_id.empty());
    BOOST_TEST(store.sessions.empty());
    BOOST_TEST(store.codes.empty());
    BOOST_TEST(store.outbox.empty());
    BOOST_TEST(failures(failures_per_address, "192.0.2.1") == 2u);
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 1u);
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "nobody")) == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_ids_count_against_the_address_only) {
    for (const auto& id : std::vector<std::string>{"", "ta ro", std::string(300, 'a'), "\xff\xfe"})
        BOOST_TEST((log_in(id, password).outcome.result == password_result::invalid_credentials));
    BOOST_TEST((log_in("taro", "").outcome.result == password_result::invalid_credentials));
    BOOST_TEST((log_in("taro", std::string(password_config::max_length + 1, 'p')).outcome.result ==
                password_result::invalid_credentials));
    BOOST_TEST(failures(failures_per_address, "192.0.2.1") == 6u);
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 0u);
    BOOST_TEST(store.accounts.size() == 2u);
}

BOOST_AUTO_TEST_CASE(delays_grow_per_address_after_the_free_failures) {
    // Different accounts from one address: credential stuffing.
    std::vector<long long> delays;
    for (int i = 0; i < 14; ++i) delays.push_back(log_in("user" + std::to_string(i), "guess").delay.count());
    // The 11th failure is the first over the free 10: the attempt after it waits.
    const std::vector<long long> expected{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 2000, 4000};
    BOOST_TEST(delays == expected, boost::test_tools::per_element());
    // Another address is not slowed.
    BOOST_TEST(log_in("user0", "guess", "198.51.100.7").delay.count() == 0);
    // The window slides: at the start of the next bucket the 14 failures still count whole
    // (fixed windows would start afresh here), and halfway through it half of them do.
    const auto window = cfg.throttle.address_window.count();
    now += window;
    BOOST_TEST(log_in("user0", "guess").delay.count() == 8000);
    now += window / 2;
    delays.clear();
    for (int i = 0; i < 4; ++i) delays.push_back(log_in("user" + std::to_string(i), "guess").delay.count());
    // 7 of the 14 and the one above: 8, 9, 10 failures cost nothing, 11 does.
    BOOST_TEST(delays == (std::vector<long long>{0, 0, 0, 1000}), boost::test_tools::per_element());
    // Two windows on, nothing remains.
    now += 2 * window;
    BOOST_TEST(log_in("user0", "guess").delay.count() == 0);
}

BOOST_AUTO_TEST_CASE(delays_grow_per_account_across_addresses_but_not_for_the_owners_device) {
    const auto device = device_of("taro");
    std::vector<long long> delays;
    for (int i = 0; i < 8; ++i)
        delays.push_back(log_in("taro", "guess", "203.0.113." + std::to_string(i)).delay.count());
    const std::vector<long long> expected{0, 0, 0, 0, 0, 0, 1000, 2000};
    BOOST_TEST(delays == expected, boost::test_tools::per_element());

    // The owner's browser holds the device token: no wait, and the login works.
    const auto owner = log_in("taro", password, "192.0.2.50", device);
    BOOST_TEST(owner.delay.count() == 0);
    BOOST_TEST((owner.outcome.result == password_result::code_sent));
    // A device token of another account, an expired one, or one signed with another secret
    // earns nothing.
    const auto other = device_of("hanako");
    const auto stale = device_of("taro", now - 1);
    const auto forged = sign_token("another secret", device_purpose,
                                   device_token_payload(account_subject(portal.id, "taro"), stored_account("taro").credential_epoch),
                                   now + 3600);
    // A token of the account without its epoch (as issued before epochs), or of an earlier epoch.
    const auto without_epoch = sign_token(secret, device_purpose, account_subject(portal.id, "taro"), now + 3600);
    const auto earlier_epoch = sign_token(secret, device_purpose,
                                          device_token_payload(account_subject(portal.id, "taro"), stored_account("taro").credential_epoch + 1),
                                          now + 3600);
    for (int i = 0; i < 8; ++i) log_in("taro", "guess", "203.0.113.9");
    for (const auto& token : {other, stale, forged, without_epoch, earlier_epoch})
        BOOST_TEST(log_in("taro", "guess", "192.0.2.60", token).delay.count() > 0);
}

BOOST_AUTO_TEST_CASE(a_delayed_attempt_names_what_it_needs_from_the_gate_and_a_busy_one_stores_nothing) {
    const auto c = ctx();
    const auto taro = account_subject(portal.id, "taro");
    const auto hanako = account_subject(portal.id, "hanako");
    const auto address_line = std::string(failures_per_address) + '\0' + "192.0.2.1";
    {
        password_step fresh(c, {"taro", "guess", "192.0.2.1", "", ""}, now);
        fresh.read(store);
        BOOST_TEST(fresh.delay().count() == 0);
        BOOST_TEST(fresh.plan().empty());
    }
    for (int i = 0; i < 11; ++i) log_in("user" + std::to_string(i), "guess");  // the address's free 10, then one
    password_step by_address(c, {"taro", "guess", "192.0.2.1", "", ""}, now);
    by_address.read(store);
    BOOST_TEST(by_address.delay().count() == 1000);
    // The pair (one delayed attempt per address and account) and the address's line.
    auto plan = by_address.plan();
    BOOST_TEST(plan.pair == "pair\0"s + taro + '\0' + "192.0.2.1");
    BOOST_TEST(plan.line == address_line);
    BOOST_TEST(plan.line_max == cfg.throttle.address_queue_max);
    BOOST_TEST(plan.account.empty());

    for (int i = 0; i < 6; ++i) log_in("hanako", "guess", "203.0.113." + std::to_string(i));  // the account's free 5, then one
    password_step by_both(c, {"hanako", "guess", "192.0.2.1", "", ""}, now);
    by_both.read(store);
    plan = by_both.plan();
    BOOST_TEST(plan.line == address_line);
    BOOST_TEST(plan.account == std::string(failures_per_account) + '\0' + hanako);
    BOOST_TEST(plan.account_limit == cfg.throttle.account_parallel_checks);
    password_step by_account(c, {"hanako", "guess", "198.51.100.1", "", ""}, now);
    by_account.read(store);
    plan = by_account.plan();
    BOOST_TEST(plan.line.empty());  // this address has no delay: it does not queue
    BOOST_TEST(plan.account == std::string(failures_per_account) + '\0' + hanako);
    BOOST_TEST(plan.pair == "pair\0"s + hanako + '\0' + "198.51.100.1");

    // Refused by the gate: the answer says so, and nothing is counted or stored.
    const auto before = store.counters;
    by_account.refuse_busy(throttle_refusal::account_concurrency);
    const auto busy = by_account.finish({});
    BOOST_TEST((busy.result == password_result::busy));
    BOOST_TEST(busy.retry_after_s == 1);  // its own delay: 6 failures of hanako, 1 s
    BOOST_TEST((store.counters == before));
    BOOST_TEST(store.sessions.empty());
}

BOOST_AUTO_TEST_CASE(ipv6_clients_of_one_slash_64_share_their_count) {
    for (int i = 0; i < 11; ++i) log_in("user" + std::to_string(i), "guess", "2001:db8:1:2::" + std::to_string(i + 1));
    BOOST_TEST(failures(failures_per_address, "2001:db8:1:2::/64") == 11u);
    BOOST_TEST(log_in("taro", "guess", "2001:db8:1:2:ffff::1").delay.count() == 1000);
    BOOST_TEST(log_in("taro", "guess", "2001:db8:1:3::1").delay.count() == 0);
}

BOOST_AUTO_TEST_CASE(a_successful_login_clears_the_account_failures_and_ends_the_old_session) {
    for (int i = 0; i < 3; ++i) log_in("taro", "guess");
    const auto first = log_in("taro", password).outcome;
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 0u);
    BOOST_TEST(failures(failures_per_address, "192.0.2.1") == 3u);  // the address keeps its count
    const auto old_hash = session_of(first.session_id).hash;
    const auto second = log_in("taro", password, "192.0.2.1", "", old_hash).outcome;
    BOOST_TEST(!store.sessions.contains(old_hash));
    BOOST_TEST(store.sessions.size() == 1u);
    // Only the newest code is live: the first session's code is gone with it.
    BOOST_TEST(store.find_code(portal.id, "taro")->session_hash == session_of(second.session_id).hash);
}

BOOST_AUTO_TEST_CASE(an_account_without_address_goes_to_the_address_form_without_a_mail) {
    const auto run = log_in("hanako", password);
    BOOST_TEST((run.outcome.result == password_result::address_required));
    BOOST_TEST(!run.outcome.mail_queued);
    BOOST_TEST(store.outbox.empty());
    BOOST_TEST(store.codes.empty());
    BOOST_TEST((session_of(run.outcome.session_id).record.state == session_state::code_pending));
}

BOOST_AUTO_TEST_CASE(code_mails_per_hour_are_limited) {
    for (unsigned i = 0; i < cfg.code.mails_per_hour; ++i)
        BOOST_TEST((log_in("taro", password).outcome.result == password_result::code_sent));
    const auto sessions = store.sessions.size();
    BOOST_TEST((log_in("taro", password).outcome.result == password_result::too_many_codes));
    BOOST_TEST(store.outbox.size() == cfg.code.mails_per_hour);
    BOOST_TEST(store.sessions.size() == sessions);
    now += 3600;
    BOOST_TEST((log_in("taro", password).outcome.result == password_result::code_sent));
}

BOOST_AUTO_TEST_CASE(the_mail_quota_holds_for_logins_that_read_before_either_wrote) {
    cfg.code.mails_per_hour = 1;
    const auto c = ctx();
    password_step first(c, {"taro", password, "192.0.2.1", "", ""}, now);
    password_step second(c, {"taro", password, "192.0.2.2", "", ""}, now);
    first.read(store);
    second.read(store);  // both see no mail sent this hour
    BOOST_TEST_REQUIRE(first.verified(hasher.verify(first.stored_hash(), password)));
    BOOST_TEST_REQUIRE(second.verified(hasher.verify(second.stored_hash(), password)));
    BOOST_TEST((first.finish(commit(store, first)).result == password_result::code_sent));
    BOOST_TEST((second.finish(commit(store, second)).result == password_result::too_many_codes));
    BOOST_TEST(store.outbox.size() == 1u);
    BOOST_TEST(store.sessions.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_weaker_hash_is_replaced_and_nothing_else_changes) {
    auto a = stored_account("taro");
    password_hasher weaker({8, 2});
    a.password_hash = weaker.hash(password);
    a.phone_strikes = 2;
    store.save_account(a);
    BOOST_TEST((log_in("taro", password).outcome.result == password_result::code_sent));
    const auto after = stored_account("taro");
    BOOST_TEST(after.password_hash != a.password_hash);
    BOOST_TEST((hasher.verify(after.password_hash, password) == password_hasher::verdict::match));
    BOOST_TEST(after.phone_strikes == 2u);
    BOOST_TEST(after.email == a.email);
}

BOOST_AUTO_TEST_CASE(with_a_lock_limit_the_account_locks_and_says_so_only_after_the_right_password) {
    cfg.throttle.account_lock_after = 3;
    const auto device = device_of("taro");
    for (int i = 0; i < 2; ++i) log_in("taro", "guess", "203.0.113.1");
    BOOST_TEST(!stored_account("taro").password_locked);
    log_in("taro", "guess", "203.0.113.2");
    BOOST_TEST(stored_account("taro").password_locked);

    // Wrong password: the same answer as for anyone. Right password: the lock notice, nothing stored.
    BOOST_TEST((log_in("taro", "guess").outcome.result == password_result::invalid_credentials));
    const auto sessions = store.sessions.size();
    const auto right = log_in("taro", password).outcome;
    BOOST_TEST((right.result == password_result::locked));
    BOOST_TEST(right.session_id.empty());
    BOOST_TEST(store.sessions.size() == sessions);
    BOOST_TEST(store.outbox.empty());
    // The owner's own browser still logs in.
    BOOST_TEST((log_in("taro", password, "192.0.2.9", device).outcome.result == password_result::code_sent));
    // Unknown IDs never create anything to lock.
    for (int i = 0; i < 5; ++i) log_in("nobody", "guess");
    BOOST_TEST(store.accounts.size() == 2u);
}

BOOST_AUTO_TEST_CASE(without_a_lock_limit_nothing_locks) {
    cfg.throttle.account_budget = 0;  // no budget either: every one of the 40 is checked
    for (int i = 0; i < 40; ++i) log_in("taro", "guess", "203.0.113." + std::to_string(i));
    BOOST_TEST(!stored_account("taro").password_locked);
    BOOST_TEST((log_in("taro", password).outcome.result == password_result::code_sent));
}

BOOST_AUTO_TEST_CASE(the_account_budget_refuses_strangers_unchecked_until_the_sliding_count_falls) {
    const auto device = device_of("taro", now + 3 * 3600);
    const auto budget = cfg.throttle.account_budget;
    BOOST_TEST_REQUIRE(budget == 15u);
    for (unsigned i = 0; i < budget; ++i)
        BOOST_TEST((log_in("taro", "guess", "203.0.113." + std::to_string(i)).outcome.result ==
                    password_result::invalid_credentials));
    // Spent: even the right password from a fresh address is refused, unchecked and uncounted.
    const auto counters = store.counters;
    const auto refused = log_in("taro", password, "198.51.100.20").outcome;
    BOOST_TEST((refused.result == password_result::busy));
    BOOST_TEST((store.counters == counters));
    BOOST_TEST(store.sessions.empty());
    // Retry-After: 15 failures at a bucket's start weigh 14 once 60 s of the next bucket passed.
    BOOST_TEST(refused.retry_after_s == 900 + 60);
    // The owner's device is exempt.
    BOOST_TEST((log_in("taro", password, "198.51.100.21", device).outcome.result == password_result::code_sent));
    // The next bucket does not hand the budget out again: still refused at its start.
    now += 900;
    BOOST_TEST((log_in("taro", "guess", "198.51.100.22").outcome.result == password_result::busy));
    now += 59;
    BOOST_TEST((log_in("taro", "guess", "198.51.100.23").outcome.result == password_result::busy));
    now += 1;
    BOOST_TEST((log_in("taro", password, "198.51.100.24").outcome.result == password_result::code_sent));
    // Other accounts were never concerned.
    BOOST_TEST((log_in("hanako", password, "203.0.113.1").outcome.result == password_result::address_required));
}

BOOST_AUTO_TEST_CASE(device_holders_failures_count_on_their_own_subject_under_the_account_policy) {
    const auto taro = account_subject(portal.id, "taro");
    const auto device = device_of("taro");
    std::vector<long long> delays;
    for (int i = 0; i < 8; ++i)
        delays.push_back(log_in("taro", "guess", "192.0.2." + std::to_string(i + 1), device).delay.count());
    // The account's policy: 5 free, then 1 s doubling.
    BOOST_TEST(delays == (std::vector<long long>{0, 0, 0, 0, 0, 0, 1000, 2000}), boost::test_tools::per_element());
    BOOST_TEST(failures(failures_per_device_holder, taro) == 8u);
    BOOST_TEST(failures(failures_per_account, taro) == 0u);  // strangers are not slowed by them
    BOOST_TEST(failures(failures_per_address, "192.0.2.1") == 1u);  // the address counts every failure
    BOOST_TEST(log_in("taro", "guess", "198.51.100.1").delay.count() == 0);

    // A delayed holder needs the holders' one slot, and nothing strangers hold.
    const auto c = ctx();
    password_step holder(c, {"taro", "guess", "192.0.2.50", device, ""}, now);
    holder.read(store);
    BOOST_TEST(holder.holder_key() == std::string(failures_per_device_holder) + '\0' + taro);
    const auto plan = holder.plan();
    BOOST_TEST(plan.account == holder.holder_key());
    BOOST_TEST(plan.account_limit == 1u);
    BOOST_TEST(plan.pair.empty());
    BOOST_TEST(plan.line.empty());
    // A stranger has no holder subject.
    password_step stranger(c, {"taro", "guess", "192.0.2.50", "", ""}, now);
    stranger.read(store);
    BOOST_TEST(stranger.holder_key().empty());

    // The holders' budget: a stolen device cookie guesses no faster than strangers may.
    for (int i = 0; i < 7; ++i) log_in("taro", "guess", "192.0.2.60", device);
    BOOST_TEST(failures(failures_per_device_holder, taro) == 15u);
    BOOST_TEST((log_in("taro", password, "192.0.2.61", device).outcome.result == password_result::busy));
    // The strangers' side is untouched by it.
    BOOST_TEST((log_in("taro", password, "198.51.100.2").outcome.result == password_result::code_sent));
    // A holder's success forgets the holders' failures only.
    now += 2 * 900;
    for (int i = 0; i < 3; ++i) log_in("taro", "guess", "203.0.113.5");
    BOOST_TEST((log_in("taro", password, "192.0.2.62", device).outcome.result == password_result::code_sent));
    BOOST_TEST(failures(failures_per_account, taro) == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gate)

namespace {

// What the server does for an attempt up to its check (server/steps/login_steps.cpp): track it in
// flight, read, the budget, the gate. Nothing is waited for; the attempt stays in flight (and
// keeps its pass) until destroyed.
struct arrival {
    std::unique_ptr<password_step> step;
    std::vector<attempt_gate::hold> running;
    std::optional<attempt_gate::pass> pass;
    std::optional<throttle_refusal> refused;
    bool undelayed() const { return !refused && step->delay().count() == 0; }
    bool served() const { return pass && pass->served(); }
    bool queued() const { return pass && !pass->served(); }
};

arrival arrive(const context& c, attempt_gate& gate, const memory_records& store, password_attempt attempt,
               std::int64_t now) {
    arrival a;
    a.step = std::make_unique<password_step>(c, std::move(attempt), now);
    auto& step = *a.step;
    auto [address, address_others] = gate.track(step.address_key());
    auto [account, account_others] = gate.track(step.account_key());
    a.running.push_back(std::move(address));
    checks_in_flight others{address_others, account_others, 0};
    step.read(store, others);
    if (const auto holder = step.holder_key(); !holder.empty()) {
        { auto gone = std::move(account); }
        auto [running, holders] = gate.track(holder);
        a.running.push_back(std::move(running));
        step.recount(store, {address_others, 0, holders});
    } else {
        a.running.push_back(std::move(account));
    }
    if (step.over_budget()) {
        a.refused = throttle_refusal::account_budget;
    } else if (step.delay().count() > 0) {
        auto admission = gate.admit(step.plan());
        if (admission.admitted)
            a.pass.emplace(std::move(*admission.admitted));
        else
            a.refused = admission.refused;
    }
    return a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_pair_is_exclusive_an_account_has_limited_slots_and_all_or_nothing_is_taken) {
    attempt_gate gate;
    auto first = gate.admit({"pair/taro/192.0.2.1", "acct/taro", 2, "", 0});
    BOOST_TEST_REQUIRE(first.admitted.has_value());
    BOOST_TEST(first.admitted->served());  // no line: served at once
    BOOST_TEST(gate.served() == 1u);
    // The same pair again: busy_same_account.
    auto same = gate.admit({"pair/taro/192.0.2.1", "acct/taro", 2, "", 0});
    BOOST_TEST(!same.admitted.has_value());
    BOOST_TEST((same.refused == throttle_refusal::busy_same_account));
    // The account's second slot from elsewhere, then no third.
    auto second = gate.admit({"pair/taro/198.51.100.1", "acct/taro", 2, "", 0});
    BOOST_TEST(second.admitted.has_value());
    auto third = gate.admit({"pair/taro/198.51.100.2", "acct/taro", 2, "", 0});
    BOOST_TEST((third.refused == throttle_refusal::account_concurrency));
    // A refused plan took nothing: its pair is free.
    BOOST_TEST(gate.served() == 2u);
    first.admitted.reset();
    BOOST_TEST(gate.admit({"pair/taro/198.51.100.2", "acct/taro", 2, "", 0}).admitted.has_value());
    // Moved passes release once.
    auto moved = std::move(*second.admitted);
    second.admitted.reset();
    BOOST_TEST(gate.served() == 1u);
    { auto gone = std::move(moved); }
    BOOST_TEST(gate.served() == 0u);
    BOOST_TEST(gate.admit({}).admitted.has_value());  // nothing to hold
}

BOOST_AUTO_TEST_CASE(a_line_serves_one_at_a_time_in_arrival_order_and_is_bounded) {
    attempt_gate gate;
    const auto in_line = [&](const std::string& pair) { return gate.admit({pair, "", 1, "addr/192.0.2.1", 2}); };
    auto a = in_line("p/a");
    auto b = in_line("p/b");
    auto c = in_line("p/c");
    auto d = in_line("p/d");
    BOOST_TEST_REQUIRE(a.admitted.has_value());
    BOOST_TEST_REQUIRE(b.admitted.has_value());
    BOOST_TEST_REQUIRE(c.admitted.has_value());
    BOOST_TEST((d.refused == throttle_refusal::busy_queue_full));  // one served and two waiting
    BOOST_TEST(a.admitted->served());
    BOOST_TEST(!b.admitted->served());
    BOOST_TEST(!c.admitted->served());
    BOOST_TEST(gate.served() == 1u);
    BOOST_TEST(gate.queued() == 2u);
    // Another address has its own line.
    BOOST_TEST(gate.admit({"p/e", "", 1, "addr/198.51.100.1", 0}).admitted->served());
    // Leaving the middle of the line keeps the order of the rest.
    c.admitted.reset();
    a.admitted.reset();
    BOOST_TEST(b.admitted->served());
    BOOST_TEST(gate.queued() == 0u);
    auto e = in_line("p/f");
    BOOST_TEST(!e.admitted->served());
    b.admitted.reset();
    BOOST_TEST(e.admitted->served());
}

BOOST_AUTO_TEST_CASE(checks_in_flight_are_counted_until_they_end) {
    attempt_gate gate;
    auto [first, before_first] = gate.track("pw_acct\0taro"s);
    auto [second, before_second] = gate.track("pw_acct\0taro"s);
    auto [other, before_other] = gate.track("pw_acct\0hanako"s);
    auto [address, before_address] = gate.track("pw_addr\0"s + "192.0.2.1");
    auto [nothing, before_nothing] = gate.track("");
    BOOST_TEST(before_first == 0u);
    BOOST_TEST(before_second == 1u);
    BOOST_TEST(before_other == 0u);
    BOOST_TEST(before_nothing == 0u);
    BOOST_TEST(gate.in_flight() == 4u);
    BOOST_TEST(gate.in_flight("pw_addr") == 1u);
    BOOST_TEST(gate.in_flight("pw_acct") == 3u);
    { auto done = std::move(first); }
    BOOST_TEST(gate.in_flight() == 3u);
    BOOST_TEST(gate.track("pw_acct\0taro"s).second == 1u);  // only the second one still runs
    BOOST_TEST(gate.in_flight() == 3u);                     // the temporary's hold ended with it
    BOOST_TEST(gate.served() == 0u);                        // tracking takes no pass
}

BOOST_AUTO_TEST_CASE(a_burst_of_parallel_guesses_at_one_account_meets_its_delay_concurrency_and_budget) {
    // 20 guesses at one account arriving together, each from its own address; none has written
    // its failure yet.
    flow_fixture f;
    attempt_gate gate;
    const auto c = f.ctx();
    std::vector<arrival> burst;
    for (int i = 0; i < 20; ++i)
        burst.push_back(arrive(c, gate, f.store, {"taro", "guess", "203.0.113." + std::to_string(i), "", ""}, f.now));
    int undelayed = 0, served = 0, concurrency = 0, budget = 0;
    for (const auto& a : burst) {
        undelayed += a.undelayed();
        served += a.served();
        concurrency += a.refused == throttle_refusal::account_concurrency;
        budget += a.refused == throttle_refusal::account_budget;
    }
    // The account's 5 free failures and the one after which its delay starts go ahead; one
    // delayed check may be in flight (account_parallel_checks = 1); once 15 are in flight the
    // budget refuses the rest.
    BOOST_TEST(undelayed == 6);
    BOOST_TEST(served == 1);
    BOOST_TEST(concurrency == 15 - 7);
    BOOST_TEST(budget == 20 - 15);
    BOOST_TEST(gate.in_flight(failures_per_address) == 20u);
}

BOOST_AUTO_TEST_CASE(a_burst_from_one_address_at_many_ids_gets_only_the_free_failures_undelayed) {
    flow_fixture f;
    attempt_gate gate;
    const auto c = f.ctx();
    std::vector<arrival> burst;
    for (int i = 0; i < 40; ++i)
        burst.push_back(arrive(c, gate, f.store, {"user" + std::to_string(i), "guess", "192.0.2.1", "", ""}, f.now));
    int undelayed = 0, served = 0, queued = 0, full = 0;
    for (const auto& a : burst) {
        undelayed += a.undelayed();
        served += a.served();
        queued += a.queued();
        full += a.refused == throttle_refusal::busy_queue_full;
    }
    // The checks of the address in flight count: its 10 free failures and the one after which
    // the delay starts go ahead, one delayed check is served, address_queue_max wait their
    // turn, the rest are refused at once.
    const auto queue_max = static_cast<int>(f.cfg.throttle.address_queue_max);
    BOOST_TEST(undelayed == 11);
    BOOST_TEST(served == 1);
    BOOST_TEST(queued == queue_max);
    BOOST_TEST(full == 40 - 11 - 1 - queue_max);
    BOOST_TEST(gate.queued() == static_cast<std::size_t>(queue_max));
    BOOST_TEST_REQUIRE(burst[11].served());
    // Another delayed attempt of the address for the account being served is refused, not queued.
    const auto same = arrive(c, gate, f.store, {"user11", "guess", "192.0.2.1", "", ""}, f.now);
    BOOST_TEST((same.refused == throttle_refusal::busy_same_account));
    // The served one done, the next in arrival order is served.
    burst[11] = arrival{};
    BOOST_TEST(burst[12].served());
    BOOST_TEST(!burst[13].served());
}

BOOST_AUTO_TEST_CASE(on_a_shared_address_the_owners_device_goes_ahead_and_another_customer_queues) {
    flow_fixture f;
    f.cfg.throttle.address_free_failures = 0;
    attempt_gate gate;
    const auto c = f.ctx();
    const std::string shared = "198.51.100.200";  // a carrier NAT
    f.log_in("someone", "guess", shared);
    // An attacker's delayed guess at taro is served (waiting out its delay).
    auto attacker = arrive(c, gate, f.store, {"taro", "guess", shared, "", ""}, f.now);
    BOOST_TEST_REQUIRE(attacker.served());
    // Taro's own browser, from the same address, holds a device token: no delay, no pass, no queue.
    const auto device = f.device_of("taro");
    auto owner = arrive(c, gate, f.store, {"taro", password, shared, device, ""}, f.now);
    BOOST_TEST(!owner.refused.has_value());
    BOOST_TEST(owner.step->delay().count() == 0);
    BOOST_TEST(!owner.pass.has_value());
    BOOST_TEST(owner.step->verified(f.hasher.verify(owner.step->stored_hash(), password)));
    BOOST_TEST((owner.step->finish(commit(f.store, *owner.step)).result == password_result::code_sent));
    // Hanako, from there too, without one: she waits her turn behind the attacker, not refused.
    auto other = arrive(c, gate, f.store, {"hanako", password, shared, "", ""}, f.now);
    BOOST_TEST(!other.refused.has_value());
    BOOST_TEST(other.queued());
    { auto done = std::move(attacker); }
    BOOST_TEST(other.served());
}

BOOST_AUTO_TEST_CASE(an_attackers_burst_at_an_account_does_not_delay_its_owners_device) {
    flow_fixture f;
    attempt_gate gate;
    const auto c = f.ctx();
    std::vector<arrival> burst;
    for (int i = 0; i < 12; ++i)
        burst.push_back(arrive(c, gate, f.store, {"taro", "guess", "203.0.113." + std::to_string(i), "", ""}, f.now));
    const auto device = f.device_of("taro");
    const auto owner = arrive(c, gate, f.store, {"taro", password, "192.0.2.9", device, ""}, f.now);
    BOOST_TEST(owner.undelayed());
    // ...while a stranger's next one meets the delay the 12 in flight set.
    const auto stranger = arrive(c, gate, f.store, {"taro", "guess", "203.0.113.99", "", ""}, f.now);
    BOOST_TEST(!stranger.undelayed());
}

BOOST_AUTO_TEST_CASE(from_many_threads_only_one_holds_a_pair_at_a_time) {
    attempt_gate gate;
    std::atomic<int> holding{0};
    std::atomic<int> most{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                auto admission = gate.admit({"pair/taro/192.0.2.1", "acct/taro", 3, "addr/192.0.2.1", 4});
                if (!admission.admitted || !admission.admitted->served()) continue;
                const int now_holding = ++holding;
                int seen = most.load();
                while (now_holding > seen && !most.compare_exchange_weak(seen, now_holding)) {
                }
                --holding;
            }
        });
    }
    for (auto& t : threads) t.join();
    BOOST_TEST(most.load() == 1);
    BOOST_TEST(gate.served() == 0u);
    BOOST_TEST(gate.queued() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(code_step_rules, flow_fixture)

BOOST_AUTO_TEST_CASE(the_right_code_authenticates_under_a_new_session_id) {
    const auto first = log_in("taro", password).outcome;
    const auto pending_hash = session_of(first.session_id).hash;
    now += 60;
    const auto out = enter_code(first.session_id, code_in(store.outbox.back()));
    BOOST_TEST((out.result == code_result::accepted));
    BOOST_TEST(out.session_id != first.session_id);
    BOOST_TEST(!store.sessions.contains(pending_hash));
    const auto session = session_of(out.session_id);
    BOOST_TEST((session.record.state == session_state::authenticated));
    BOOST_TEST(session.record.last_seen == now);
    BOOST_TEST(verify_token(secret, device_purpose, out.device_token, now).value_or("") ==
               device_token_payload(account_subject(portal.id, "taro"), stored_account("taro").credential_epoch));
    // Single use.
    BOOST_TEST(store.codes.empty());
}

BOOST_AUTO_TEST_CASE(full_width_digits_and_blanks_are_accepted_anything_else_is_a_format_error) {
    const auto first = log_in("taro", password).outcome;
    const auto digits = code_in(store.outbox.back());
    for (const auto& typed : std::vector<std::string>{"12345", "1234567", "12a456", "12 3456", "", "\xff\xff\xff\xff\xff\xff"}) {
        BOOST_TEST_CONTEXT(typed) {
            BOOST_TEST((enter_code(first.session_id, typed).result == code_result::bad_format));
        }
    }
    BOOST_TEST(store.find_code(portal.id, "taro")->attempts_left == 5u);  // no attempt used
    std::string full_width = "\xE3\x80\x80 ";                              // ideographic space first
    for (const char c : digits) full_width += std::string("\xEF\xBC") + static_cast<char>(0x90 + (c - '0'));
    BOOST_TEST((enter_code(first.session_id, full_width + " ").result == code_result::accepted));
}

BOOST_AUTO_TEST_CASE(wrong_codes_use_attempts_and_the_last_one_kills_code_and_session) {
    const auto first = log_in("taro", password).outcome;
    const auto wrong = wrong_code(code_in(store.outbox.back()));
    for (std::uint32_t left = 4; left >= 1; --left) {
        const auto out = enter_code(first.session_id, wrong);
        BOOST_TEST((out.result == code_result::wrong));
        BOOST_TEST(out.attempts_left == left);
        BOOST_TEST(store.find_code(portal.id, "taro")->attempts_left == left);
    }
    BOOST_TEST((enter_code(first.session_id, wrong).result == code_result::dead));
    BOOST_TEST(store.codes.empty());
    BOOST_TEST(store.sessions.empty());  // back to the password
}

BOOST_AUTO_TEST_CASE(an_expired_code_is_refused_and_removed) {
    const auto first = log_in("taro", password).outcome;
    const auto digits = code_in(store.outbox.back());
    now += cfg.code.lifetime.count();
    const auto out = enter_code(first.session_id, digits);
    BOOST_TEST((out.result == code_result::expired));
    BOOST_TEST(out.minutes == "20");
    BOOST_TEST(store.codes.empty());
}

BOOST_AUTO_TEST_CASE(a_newer_login_kills_the_earlier_code) {
    const auto first = log_in("taro", password).outcome;
    const auto first_code = code_in(store.outbox.back());
    const auto second = log_in("taro", password).outcome;
    const auto second_code = code_in(store.outbox.back());
    BOOST_TEST((enter_code(first.session_id, first_code).result == code_result::expired));
    if (second_code != first_code)
        BOOST_TEST((enter_code(second.session_id, first_code).result == code_result::wrong));
    BOOST_TEST((enter_code(second.session_id, second_code).result == code_result::accepted));
}

BOOST_AUTO_TEST_CASE(the_same_digits_do_not_verify_for_another_account) {
    const auto taro = log_in("taro", password).outcome;
    const auto taro_code = code_in(store.outbox.back());
    add_account("jiro", "jiro@example.jp", "09000000000");
    const auto jiro = log_in("jiro", password).outcome;
    // Copy taro's stored MAC onto jiro's code: the MAC binds the account, so it does not verify.
    auto jiro_code = *store.find_code(portal.id, "jiro");
    jiro_code.mac = store.find_code(portal.id, "taro")->mac;
    store.save_code(portal.id, "jiro", jiro_code);
    BOOST_TEST((enter_code(jiro.session_id, taro_code).result == code_result::wrong));
    BOOST_TEST((enter_code(taro.session_id, taro_code).result == code_result::accepted));
}

BOOST_AUTO_TEST_CASE(a_failed_write_changes_nothing_and_says_unavailable) {
    const auto first = log_in("taro", password).outcome;
    const auto before = store.find_code(portal.id, "taro")->attempts_left;
    const auto c = ctx();
    const auto session = session_of(first.session_id);
    code_step step(c, session, wrong_code(code_in(store.outbox.back())), "192.0.2.1", now);
    BOOST_TEST((step.finish(std::make_error_code(std::errc::no_space_on_device)).result == code_result::unavailable));
    BOOST_TEST(store.find_code(portal.id, "taro")->attempts_left == before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(address_form_rules, flow_fixture)

BOOST_AUTO_TEST_CASE(the_right_phone_sends_a_code_to_the_new_address_which_counts_only_once_verified) {
    const auto first = log_in("hanako", password).outcome;
    const auto out = use_address_form(first.session_id, "hanako@example.jp", "03-1234-5678");
    BOOST_TEST((out.result == address_result::code_sent));
    BOOST_TEST(out.masked_email == "h***@example.jp");
    BOOST_TEST(*out.phone == "0312345678");
    BOOST_TEST(stored_account("hanako").email.empty());  // not yet
    BOOST_TEST(store.outbox.back().rcpt_to == std::vector<std::string>{"hanako@example.jp"});
    BOOST_TEST((store.find_code(portal.id, "hanako")->purpose == code_purpose::address_change));

    const auto verified = enter_code(first.session_id, code_in(store.outbox.back()));
    BOOST_TEST((verified.result == code_result::accepted));
    BOOST_TEST(stored_account("hanako").email == "hanako@example.jp");
    BOOST_TEST(!verified.mail_queued);  // there was no old address to tell
    BOOST_TEST(store.outbox.size() == 1u);
}

BOOST_AUTO_TEST_CASE(full_width_and_spaced_phone_numbers_are_normalised) {
    const auto first = log_in("hanako", password).outcome;
    const std::string full_width = "\xEF\xBC\x90\xEF\xBC\x93 1234 5678";  // ０３ 1234 5678
    BOOST_TEST((use_address_form(first.session_id, "hanako@example.jp", full_width).result == address_result::code_sent));
}

BOOST_AUTO_TEST_CASE(the_third_wrong_phone_locks_the_form_until_unlocked) {
    const auto first = log_in("hanako", password).outcome;
    for (std::uint32_t strike = 1; strike <= 2; ++strike) {
        const auto out = use_address_form(first.session_id, "hanako@example.jp", "0399999999");
        BOOST_TEST((out.result == address_result::wrong_phone));
        BOOST_TEST(out.strikes == strike);
        BOOST_TEST(stored_account("hanako").phone_strikes == strike);
        BOOST_TEST(!stored_account("hanako").address_form_locked);
    }
    const auto third = use_address_form(first.session_id, "hanako@example.jp", "0399999999");
    BOOST_TEST((third.result == address_result::locked));
    BOOST_TEST(third.strikes == 3u);
    BOOST_TEST(stored_account("hanako").address_form_locked);
    BOOST_TEST(address_form_locked(ctx(), store, session_of(first.session_id)));
    // Locked means locked: the right number does not help, and nothing is sent.
    BOOST_TEST((use_address_form(first.session_id, "hanako@example.jp", "0312345678").result == address_result::locked));
    BOOST_TEST(store.outbox.empty());
    BOOST_TEST(stored_account("hanako").phone_strikes == 3u);

    // What `nidan user unlock` does, then the form works again.
    auto a = stored_account("hanako");
    a.address_form_locked = false;
    a.phone_strikes = 0;
    store.save_account(a);
    BOOST_TEST((use_address_form(first.session_id, "hanako@example.jp", "0312345678").result == address_result::code_sent));
}

BOOST_AUTO_TEST_CASE(a_right_phone_clears_earlier_strikes) {
    const auto first = log_in("hanako", password).outcome;
    use_address_form(first.session_id, "hanako@example.jp", "0399999999");
    use_address_form(first.session_id, "hanako@example.jp", "0399999999");
    BOOST_TEST((use_address_form(first.session_id, "hanako@example.jp", "0312345678").result == address_result::code_sent));
    BOOST_TEST(stored_account("hanako").phone_strikes == 0u);
}

BOOST_AUTO_TEST_CASE(bad_addresses_and_numbers_store_nothing) {
    const auto first = log_in("hanako", password).outcome;
    const auto before = store.accounts;
    const auto codes = store.codes.size();
    for (const auto& email : std::vector<std::string>{"", "no-at-sign", "a b@example.jp", std::string(250, 'a') + "@example.jp",
                                                     "taro@", "\xff@example.jp"}) {
        BOOST_TEST_CONTEXT(email) {
            const auto out = use_address_form(first.session_id, email, "0312345678");
            BOOST_TEST((out.result == address_result::bad_email));
        }
    }
    for (const auto& phone : std::vector<std::string>{"", "03-1234-567a", "12", std::string(40, '1'), "+81 3 1234 5678x"}) {
        BOOST_TEST_CONTEXT(phone) {
            BOOST_TEST((use_address_form(first.session_id, "hanako@example.jp", phone).result == address_result::bad_phone));
        }
    }
    BOOST_TEST(store.accounts.size() == before.size());
    BOOST_TEST(stored_account("hanako").phone_strikes == 0u);
    BOOST_TEST(store.codes.size() == codes);
    BOOST_TEST(store.outbox.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(account_page_rules, flow_fixture)

BOOST_AUTO_TEST_CASE(an_address_change_needs_the_password_tells_the_old_address_at_once_and_waits_its_hold) {
    const auto session_id = logged_in("taro");
    const auto mails_before = store.outbox.size();
    BOOST_TEST((change_email(session_id, "new-taro@example.jp", "not my password") == email_change_result::wrong_password));
    BOOST_TEST(store.outbox.size() == mails_before);
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 1u);

    BOOST_TEST((change_email(session_id, "new-taro@example.jp") == email_change_result::code_sent));
    BOOST_TEST(stored_account("taro").email == "taro@example.jp");
    // The code to the new address, and at once the notice to the registered one.
    BOOST_TEST_REQUIRE(store.outbox.size() == mails_before + 2);
    const auto code_mail = store.outbox[mails_before];
    const auto notice = store.outbox[mails_before + 1];
    BOOST_TEST(code_mail.rcpt_to == std::vector<std::string>{"new-taro@example.jp"});
    BOOST_TEST(notice.kind == "address_notice");
    BOOST_TEST(notice.rcpt_to == std::vector<std::string>{"taro@example.jp"});
    BOOST_TEST((notice.priority == mail_priority::notice));

    const auto out = enter_code(session_id, code_in(code_mail));
    BOOST_TEST((out.result == code_result::accepted));
    BOOST_TEST(out.address_held_until == now + 72 * 3600);
    // The session stays authenticated (under a new id); the address waits its hold.
    BOOST_TEST((session_of(out.session_id).record.state == session_state::authenticated));
    BOOST_TEST(stored_account("taro").email == "taro@example.jp");
    BOOST_TEST(stored_account("taro").pending_email == "new-taro@example.jp");
    BOOST_TEST((change_email(out.session_id, "not an address") == email_change_result::bad_email));
    // A login during the hold mails the registered address; after it, the new one.
    BOOST_TEST(log_in("taro", password).outcome.masked_email == "t***@example.jp");
    now += 72 * 3600;
    BOOST_TEST(log_in("taro", password).outcome.masked_email == "n***@example.jp");
    BOOST_TEST(store.outbox.back().rcpt_to == std::vector<std::string>{"new-taro@example.jp"});
    BOOST_TEST(stored_account("taro").email == "new-taro@example.jp");
    BOOST_TEST(stored_account("taro").pending_email.empty());
}

BOOST_AUTO_TEST_CASE(without_a_hold_the_address_changes_when_its_code_is_verified) {
    cfg.address_change.hold = std::chrono::hours{0};
    const auto session_id = logged_in("taro");
    BOOST_TEST((change_email(session_id, "new-taro@example.jp") == email_change_result::code_sent));
    const auto code_mail = store.outbox[store.outbox.size() - 2];
    BOOST_TEST(store.outbox.back().kind == "address_notice");
    const auto out = enter_code(session_id, code_in(code_mail));
    BOOST_TEST((out.result == code_result::accepted));
    BOOST_TEST(out.address_held_until == 0);
    BOOST_TEST(stored_account("taro").email == "new-taro@example.jp");
}

BOOST_AUTO_TEST_CASE(the_cancel_link_undoes_a_change_once_and_then_does_nothing_more) {
    const auto thief = logged_in("taro");
    BOOST_TEST((change_email(thief, "thief@example.net") == email_change_result::code_sent));
    const auto token = cancel_token_in(store.outbox.back());
    const auto epoch = stored_account("taro").credential_epoch;
    BOOST_TEST((cancel(token) == address_cancel_result::cancelled));
    BOOST_TEST(stored_account("taro").address_form_locked);
    BOOST_TEST(stored_account("taro").credential_epoch != epoch);
    BOOST_TEST(!store.find_code(portal.id, "taro").has_value());  // the code to the new address died
    BOOST_TEST(!find_session(ctx(), store, thief, now).has_value());

    // The owner logs in again; the link used a second time leaves that session alone.
    const auto owner = logged_in("taro");
    const auto before = stored_account("taro");
    BOOST_TEST((cancel(token) == address_cancel_result::already_done));
    BOOST_TEST(find_session(ctx(), store, owner, now).has_value());
    BOOST_TEST(stored_account("taro").credential_epoch == before.credential_epoch);
    BOOST_TEST(stored_account("taro").updated_at == before.updated_at);

    // Once support has unlocked the form, a first use of another change's link acts again, even
    // when that change's code died unverified: the notice promised the lock.
    auto unlocked = stored_account("taro");
    unlocked.address_form_locked = false;
    store.save_account(unlocked);
    BOOST_TEST((change_email(owner, "other@example.net") == email_change_result::code_sent));
    const auto second_token = cancel_token_in(store.outbox.back());
    store.drop_code(portal.id, "taro");
    BOOST_TEST((cancel(second_token) == address_cancel_result::cancelled));
    BOOST_TEST(stored_account("taro").address_form_locked);
    BOOST_TEST(!find_session(ctx(), store, owner, now).has_value());
    BOOST_TEST((cancel("not a token") == address_cancel_result::invalid_link));
}

BOOST_AUTO_TEST_CASE(a_password_change_needs_the_current_password_and_a_long_enough_new_one) {
    const auto session = session_of(logged_in("taro"));
    const auto c = ctx();
    std::chrono::milliseconds last_delay{0};
    const auto run = [&](const std::string& current, const std::string& replacement) {
        password_change_step step(c, session, current, replacement, "192.0.2.1", now);
        std::error_code ec;
        if (step.acceptable()) {
            auto& check = step.check();
            check.read(store);
            last_delay = check.delay();
            if (check.needs_check() && check.over_budget()) {
                check.refuse_busy(throttle_refusal::account_budget);
            } else if (check.needs_check()) {
                if (check.verified(hasher.verify(check.stored_hash(), check.typed())))
                    step.set_new_hash(hasher.hash(step.replacement()));
                ec = commit(store, step);
            }
        }
        return step.finish(ec);
    };
    const auto before = stored_account("taro").password_hash;
    BOOST_TEST((run(password, "short") == password_change_result::bad_password));
    BOOST_TEST((run("wrong current", "a long new password") == password_change_result::wrong_password));
    BOOST_TEST(stored_account("taro").password_hash == before);
    BOOST_TEST((run(password, "a long new password") == password_change_result::changed));
    BOOST_TEST((hasher.verify(stored_account("taro").password_hash, "a long new password") == password_hasher::verdict::match));

    // Wrong current passwords count like failed logins: a stolen session does not guess at full speed.
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 1u);
    for (int i = 0; i < 6; ++i) run("guess", "another long password");
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 7u);
    BOOST_TEST(failures(failures_per_address, "192.0.2.1") == 7u);
    run("guess", "another long password");
    BOOST_TEST(last_delay.count() == 2000);
    // A refused new password is refused before any check: nothing counted.
    run("guess", "short");
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 8u);
    // So is an empty or oversized current password: no guess at the stored one, no hash run.
    BOOST_TEST((run("", "another long password") == password_change_result::wrong_password));
    BOOST_TEST((run(std::string(password_config::max_length + 1, 'p'), "another long password") ==
                password_change_result::wrong_password));
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 8u);
    // And the account's budget holds here too: refused unchecked, uncounted.
    cfg.throttle.account_budget = 8;
    BOOST_TEST((run(password, "yet another long password") == password_change_result::busy));
    BOOST_TEST(failures(failures_per_account, account_subject(portal.id, "taro")) == 8u);
    BOOST_TEST((hasher.verify(stored_account("taro").password_hash, "a long new password") == password_hasher::verdict::match));
}

BOOST_AUTO_TEST_CASE(logout_destroys_the_session_and_touch_moves_the_idle_expiry_at_most_once_a_minute) {
    const auto session_id = logged_in("taro");
    const auto c = ctx();
    now += 30;
    touch_step early(c, session_of(session_id), now);
    BOOST_TEST(!early.due());
    now += 60;
    touch_step later(c, session_of(session_id), now);
    BOOST_TEST(later.due());
    later.finish(commit(store, later));
    BOOST_TEST(session_of(session_id).record.idle_expires_at == now + cfg.session.idle_timeout.count());
    // Idle past the timeout: gone.
    now += cfg.session.idle_timeout.count();
    BOOST_TEST(!find_session(c, store, session_id, now).has_value());
    now -= cfg.session.idle_timeout.count();

    logout_step out(c, session_of(session_id), "192.0.2.1");
    BOOST_TEST(out.finish(commit(store, out)));
    BOOST_TEST(!find_session(c, store, session_id, now).has_value());
}

BOOST_AUTO_TEST_CASE(auth_verify_finds_only_authenticated_sessions_of_any_portal) {
    const auto pending = log_in("hanako", password).outcome.session_id;
    const auto done = logged_in("taro");
    BOOST_TEST(!authenticated_session(store, pending, now).has_value());
    const auto found = authenticated_session(store, done, now);
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST(found->portal == portal.id);
    BOOST_TEST(found->selfcare_id == "taro");
    BOOST_TEST(!authenticated_session(store, done + "x", now).has_value());
    BOOST_TEST(!authenticated_session(store, "", now).has_value());
    BOOST_TEST(!authenticated_session(store, std::string(129, 'a'), now).has_value());
    BOOST_TEST(!authenticated_session(store, done, now + cfg.session.idle_timeout.count()).has_value());
}

BOOST_AUTO_TEST_CASE(a_logout_is_not_undone_by_a_touch_or_a_code_read_before_it) {
    const auto session_id = logged_in("taro");
    const auto c = ctx();
    now += 120;
    touch_step touch(c, session_of(session_id), now);  // read before the logout...
    BOOST_TEST_REQUIRE(touch.due());
    logout_step out(c, session_of(session_id), "192.0.2.1");
    BOOST_TEST(out.finish(commit(store, out)));
    touch.finish(commit(store, touch));  // ...written after it
    BOOST_TEST(!find_session(c, store, session_id, now).has_value());

    const auto pending = log_in("taro", password).outcome.session_id;
    const auto digits = code_in(store.outbox.back());
    const auto pending_session = session_of(pending);
    logout_step end(c, pending_session, "192.0.2.1");
    BOOST_TEST(end.finish(commit(store, end)));
    code_step late(c, pending_session, digits, "192.0.2.1", now);
    BOOST_TEST((late.finish(commit(store, late)).result == code_result::expired));
    BOOST_TEST(store.sessions.empty());
    BOOST_TEST(store.codes.empty());
}

BOOST_AUTO_TEST_CASE(a_session_of_another_portal_is_not_found) {
    const auto session_id = logged_in("taro");
    auto other = cfg.portals.at(1);
    const context c{cfg, other, secret, mailer};
    BOOST_TEST(!find_session(c, store, session_id, now).has_value());
    BOOST_TEST(!find_session(ctx(), store, std::string(200, 'x'), now).has_value());
    BOOST_TEST(!find_session(ctx(), store, "", now).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// What support or the customer revokes (a new credential epoch, core/account/credentials.hpp) ends the
// sessions, pending codes and device tokens issued before, wherever they are presented.
BOOST_FIXTURE_TEST_SUITE(revocation_rules, flow_fixture)

void revoke(memory_records& store, const std::string& portal, const std::string& id) {
    auto a = *store.find_account(portal, id);
    revoke_credentials(a);
    store.save_account(a);
}

BOOST_AUTO_TEST_CASE(a_new_epoch_ends_sessions_and_pending_codes) {
    const auto c = ctx();
    const auto authenticated = logged_in("taro");
    const auto pending = log_in("taro", password).outcome;
    BOOST_TEST_REQUIRE((pending.result == password_result::code_sent));
    const auto code = code_in(store.outbox.back());
    const auto pending_session = session_of(pending.session_id);
    BOOST_TEST(authenticated_session(store, authenticated, now).has_value());

    revoke(store, portal.id, "taro");
    BOOST_TEST(!find_session(c, store, authenticated, now).has_value());
    BOOST_TEST(!authenticated_session(store, authenticated, now).has_value());
    BOOST_TEST(!find_session(c, store, pending.session_id, now).has_value());
    // The code step, reached with the session read before the revocation, does not log in.
    code_step step(c, pending_session, code, "192.0.2.1", now);
    const auto out = step.finish(commit(store, step));
    BOOST_TEST((out.result == code_result::expired));
    BOOST_TEST(out.session_id.empty());
    BOOST_TEST(store.codes.empty());
}

BOOST_AUTO_TEST_CASE(an_account_deleted_and_created_again_does_not_take_over_old_sessions) {
    const auto c = ctx();
    const auto old_session = logged_in("taro");
    store.accounts.erase(account_subject(portal.id, "taro"));
    BOOST_TEST(!authenticated_session(store, old_session, now).has_value());
    add_account("taro", "someone-else@example.jp", "09099998888");
    BOOST_TEST(!authenticated_session(store, old_session, now).has_value());
    BOOST_TEST(!find_session(c, store, old_session, now).has_value());
}

BOOST_AUTO_TEST_CASE(support_lock_is_not_passed_by_the_device_token_the_failures_lock_is) {
    const auto device = device_of("taro");
    auto a = stored_account("taro");
    a.password_locked = true;
    store.save_account(a);
    BOOST_TEST((log_in("taro", password, "192.0.2.9", device).outcome.result == password_result::code_sent));
    BOOST_TEST((log_in("taro", password, "192.0.2.9").outcome.result == password_result::locked));

    a = stored_account("taro");
    a.password_locked = false;
    a.operator_locked = true;
    store.save_account(a);
    const auto refused = log_in("taro", password, "192.0.2.9", device).outcome;
    BOOST_TEST((refused.result == password_result::locked));
    BOOST_TEST(refused.locked_by_support);
    BOOST_TEST(refused.session_id.empty());
}

BOOST_AUTO_TEST_CASE(a_reset_while_the_login_waited_is_not_undone) {
    const auto c = ctx();
    password_step step(c, {"taro", password, "192.0.2.1", "", ""}, now);
    step.read(store);
    BOOST_TEST_REQUIRE((hasher.verify(step.stored_hash(), step.password()) != password_hasher::verdict::mismatch));
    // An operator resets the password while this login waits out its delay or its hash.
    auto a = stored_account("taro");
    a.password_hash = hasher.hash("the operator's new password");
    revoke_credentials(a);
    store.save_account(a);
    const auto after_reset = a.password_hash;

    BOOST_TEST_REQUIRE(step.verified(password_hasher::verdict::match_needs_rehash));
    step.set_rehash(hasher.hash(step.password()));
    const auto out = step.finish(commit(store, step));
    BOOST_TEST((out.result == password_result::invalid_credentials));
    BOOST_TEST(out.session_id.empty());
    BOOST_TEST(stored_account("taro").password_hash == after_reset);
    BOOST_TEST(store.sessions.empty());
    BOOST_TEST(store.codes.empty());
}

BOOST_AUTO_TEST_CASE(a_password_change_ends_the_other_sessions_and_keeps_its_own) {
    const auto c = ctx();
    const auto mine = logged_in("taro");
    const auto other = logged_in("taro");
    const auto old_device = device_of("taro");
    const auto session = session_of(mine);
    password_change_step step(c, session, password, "a brand new passphrase", "192.0.2.1", now);
    BOOST_TEST_REQUIRE(step.acceptable());
    step.check().read(store);
    BOOST_TEST_REQUIRE(step.check().verified(hasher.verify(step.check().stored_hash(), step.check().typed())));
    step.set_new_hash(hasher.hash(step.replacement()));
    BOOST_TEST((step.finish(commit(store, step)) == password_change_result::changed));

    BOOST_TEST(find_session(c, store, mine, now).has_value());
    BOOST_TEST(authenticated_session(store, mine, now).has_value());
    BOOST_TEST(!find_session(c, store, other, now).has_value());
    BOOST_TEST(!authenticated_session(store, other, now).has_value());
    // The changing browser's new device token works, the old one no longer does.
    BOOST_TEST(is_device_of(c, stored_account("taro"), step.device_token(), now));
    BOOST_TEST(!is_device_of(c, stored_account("taro"), old_device, now));
}

BOOST_AUTO_TEST_CASE(a_password_change_loses_to_a_reset_made_while_it_was_checked) {
    const auto c = ctx();
    const auto session = session_of(logged_in("taro"));
    password_change_step step(c, session, password, "a brand new passphrase", "192.0.2.1", now);
    step.check().read(store);
    auto a = stored_account("taro");
    a.password_hash = hasher.hash("the operator's new password");
    store.save_account(a);
    BOOST_TEST_REQUIRE(step.check().verified(hasher.verify(step.check().stored_hash(), step.check().typed())));
    step.set_new_hash(hasher.hash(step.replacement()));
    BOOST_TEST((step.finish(commit(store, step)) == password_change_result::unavailable));
    BOOST_TEST(stored_account("taro").password_hash == a.password_hash);
}

BOOST_AUTO_TEST_CASE(an_unknown_id_is_logged_as_a_tag_never_as_typed) {
    const auto c = ctx();
    const auto tag = unknown_id_tag(c, "MySecretPassw0rd");
    BOOST_TEST(tag.size() == 12u);
    BOOST_TEST(tag == unknown_id_tag(c, "MySecretPassw0rd"));
    BOOST_TEST(tag != unknown_id_tag(c, "MySecretPassw0rD"));
}

BOOST_AUTO_TEST_SUITE_END()

// The audit trail of the login steps: which events, with which fields, and never a password, a
// code or a full phone number (core/base/log.hpp's promise), read back from a real audit file.
BOOST_FIXTURE_TEST_SUITE(audit_lines, flow_fixture)

namespace {

std::vector<std::string> lines_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The audit line of `event` that has every one of `fields` ("key=value"); "" when there is none.
std::string line_with(const std::vector<std::string>& lines, const std::string& event,
                      const std::vector<std::string>& fields) {
    for (const auto& line : lines) {
        if (line.find(" event=" + event + " ") == std::string::npos) continue;
        if (std::all_of(fields.begin(), fields.end(), [&](const std::string& f) { return line.find(" " + f) != std::string::npos; }))
            return line;
    }
    return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_step_writes_its_event_and_no_secret) {
    const auto dir = std::filesystem::temp_directory_path() / ("nidan-audit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    log::init({"info", dir / "app.log", dir / "audit.log", false});

    const auto wrong = log_in("taro", "Wrong-Guess 1", "192.0.2.9");
    BOOST_TEST((wrong.outcome.result == password_result::invalid_credentials));
    log_in("TypedPasswordAsId", password, "192.0.2.9");
    const auto first = log_in("taro", password).outcome;
    BOOST_TEST_REQUIRE((first.result == password_result::code_sent));
    const auto code = code_in(store.outbox.back());
    BOOST_TEST((enter_code(first.session_id, wrong_code(code)).result == code_result::wrong));
    const auto second = enter_code(first.session_id, code);
    BOOST_TEST_REQUIRE((second.result == code_result::accepted));
    // The address form of an account without an address: a wrong number, then the right one.
    const auto hanako = log_in("hanako", password).outcome;
    BOOST_TEST_REQUIRE((hanako.result == password_result::address_required));
    BOOST_TEST((use_address_form(hanako.session_id, "hanako@example.jp", "0399999999").result == address_result::wrong_phone));
    BOOST_TEST((use_address_form(hanako.session_id, "hanako@example.jp", "0312345678").result == address_result::code_sent));
    log::flush();

    const auto lines = lines_of(dir / "audit.log");
    BOOST_TEST_REQUIRE(!lines.empty());
    BOOST_TEST(!line_with(lines, "login.failed", {"portal=" + portal.id, "id=taro", "client=192.0.2.9", "known_id=true"}).empty());
    // An ID that names no account is logged as a tag, not as typed (it is often a password).
    const auto unknown = line_with(lines, "login.failed", {"known_id=false"});
    BOOST_TEST(!unknown.empty());
    BOOST_TEST(unknown.find("TypedPasswordAsId") == std::string::npos, unknown);
    BOOST_TEST(!line_with(lines, "login.password_ok", {"portal=" + portal.id, "id=taro"}).empty());
    BOOST_TEST(!line_with(lines, "code.sent", {"id=taro", "to=t***@example.jp"}).empty());
    BOOST_TEST(!line_with(lines, "code.wrong", {"id=taro"}).empty());
    BOOST_TEST(!line_with(lines, "code.verified", {"id=taro"}).empty());
    BOOST_TEST(!line_with(lines, "address.phone_wrong", {"id=hanako"}).empty());
    BOOST_TEST(!line_with(lines, "address.phone_ok", {"id=hanako"}).empty());
    for (const auto& line : lines) {
        BOOST_TEST(line.find(" level=") != std::string::npos, line);
        for (const auto& held : std::vector<std::string>{password, "Wrong-Guess 1", code, wrong_code(code), "0312345678",
                                                         "0399999999", "09012345678", "hanako@example.jp", "taro@example.jp"})
            BOOST_TEST(line.find(held) == std::string::npos, "audit line holds a secret: " << line);
    }
    log::init({"info", {}, {}, false});
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
