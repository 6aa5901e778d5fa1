// The address-path takeover, against the real `nidan serve` and its aiosmtpd relay. The address
// form (the manual's メールアドレス登録・変更: a new address and the contact phone number) needs
// nothing but the ID, the password and a contact number, which is no secret; whoever has those
// gets a code at a mailbox of their own. The attack must not make that mailbox the account's:
//   - the registered address is told at once, before the code is entered, with a link that cancels;
//   - the attacker logs in with that code (as the manual says), but the new address only waits
//     (address_change.hold_hours) and later codes still go to the registered address;
//   - the owner's link (GET explains, POST with the page's form token acts) ends every session,
//     drops the change, locks the form; forged links and posts without the form token do nothing;
//   - the account page's own change asks for the current password;
//   - address_change.only_without_working_address keeps the form from accounts whose mail works.
// Every mail is read as the relay stored it; the stored account is read from the LMDB folder.
#define BOOST_TEST_MODULE address_takeover
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/catalog.hpp"
#include "portal_client.hpp"
#include "stored_state.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;

namespace {

const portal_account taro{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp", "09012345678",
                          "*******5678", false};
// An account without an address, and one whose address the relay refuses for good.
const portal_account jiro{"ip-phone", "/selfcare/SelfcareLogin.in", "jiro", "", "09087654321", "*******4321", false};
const portal_account hanako{"ip-phone", "/selfcare/SelfcareLogin.in", "hanako", "hanako@bounce.example.jp",
                            "0312345678", "******5678", false};
const std::string attacker_address = "mallory@attacker.example.net";
const std::string portal_base = "/portal/ip-phone";
const std::string cancel_path = portal_base + "/address/cancel";

// The texts of the shipped Japanese catalog (templates/lang/ja.toml), as the pages and mails show them.
// A sentence of a catalog text: the n-th of those ending in "。" (from 0).
std::string sentence(const std::string& text, std::size_t n) {
    const std::string stop = "。";
    std::size_t start = 0;
    for (std::size_t i = 0; i < n; ++i) start = text.find(stop, start) + stop.size();
    const auto end = text.find(stop, start);
    return text.substr(start, end == std::string::npos ? std::string::npos : end + stop.size() - start);
}
const std::string notice_subject =
    catalog_text_with("ja", "mail.address_notice_subject", {{"operator_name", catalog_text("ja", "operator.name")}});
const std::string notice_held = sentence(catalog_text("ja", "address_notice.effective_later"), 1);
const std::string notice_at_once = catalog_text("ja", "address_notice.effective_on_code");
const std::string notice_cancel = sentence(catalog_text("ja", "address_notice.unexpected_cancel"), 0);
const std::string code_to_registered = catalog_text("ja", "code.intro");
const std::string code_to_held = catalog_text_with("ja", "code.intro_held_address", {{"hold_hours", "72"}});
const std::string code_to_new = catalog_text("ja", "code.intro_new_address");
const std::string cancel_heading = "<h1>" + catalog_text("ja", "address_cancel.title") + "</h1>";
const std::string cancel_confirm = catalog_text("ja", "address_cancel.confirm_intro");
const std::string cancel_done = catalog_text("ja", "address_cancel.done");
const std::string cancel_invalid = catalog_text("ja", "address_cancel.invalid");
const std::string msg_cancel_locked = catalog_text("ja", "locked.address_cancelled");
const std::string msg_not_offered = catalog_text("ja", "locked.address_not_offered");
const std::string msg_contact_support = catalog_text("ja", "address_cancel.contact_us");
const std::string msg_wrong_password = catalog_text("ja", "account.wrong_current_password");

// The server listens on a port chosen before it starts, so that server.public_url (where the
// links in mails point) can name it.
class world : public login_world {
public:
    explicit world(const std::vector<std::string>& overrides = {},
                   const std::vector<world_account>& accounts = {taro.for_world()},
                   const std::vector<std::string>& relay_args = {})
        : world(free_port(), overrides, accounts, relay_args) {}

    std::string public_url() const { return "http://127.0.0.1:" + std::to_string(port()); }
    std::string show(const portal_account& a) const {
        const auto shown = user({"show", "--portal", a.portal, "--id", a.id});
        BOOST_TEST_REQUIRE(shown.exit_code == 0, shown.err);
        return shown.out;
    }
    long long metric(const std::string& name) {
        const auto reply = get(port(), "/metrics");
        BOOST_TEST_REQUIRE(reply.has_value());
        return metric_value(reply->body, name);
    }

private:
    world(unsigned short port, std::vector<std::string> overrides, const std::vector<world_account>& accounts,
          const std::vector<std::string>& relay_args)
        : login_world(accounts, with_url(port, std::move(overrides)), relay_args) {}
    static std::vector<std::string> with_url(unsigned short port, std::vector<std::string> overrides) {
        const auto at = "127.0.0.1:" + std::to_string(port);
        overrides.insert(overrides.begin(), {"server.listen=" + at, "server.public_url=http://" + at});
        return overrides;
    }
};

const std::string cancelled_metric = "nidan_address_cancel_total{result=\"cancelled\"}";
const std::string invalid_link_metric = "nidan_address_cancel_total{result=\"invalid_link\"}";

nidan::account stored_account(const data_folder& data, const portal_account& a) {
    auto acct = data.account(a.portal, a.id);
    BOOST_TEST_REQUIRE(acct.has_value());
    return *acct;
}

// The form token of the page at `path` (GET), which must answer `status`.
std::string page_csrf(browser& b, const std::string& path, int status = 200) {
    const auto page = b.get(path);
    BOOST_TEST_REQUIRE(page.status == status, path << ": " << page.status << " " << page.header("location"));
    const auto csrf = input_value(page.body, "csrf").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());
    return csrf;
}

// The address form of a code-pending session: `email` and the contact number. Returns the reply.
http_reply submit_address(browser& b, const std::string& csrf, const std::string& email, const std::string& phone) {
    return b.post_form(portal_base + "/address", {{"csrf", csrf}, {"email", email}, {"phone", phone}});
}

void check_nothing_stored(const data_folder& data, const stored_state& before) {
    const auto changes = changes_between(before, data.snapshot());
    BOOST_TEST(changes.empty(), "the stored state changed:" << as_lines(changes));
}

// The outbox is empty, so that a snapshot sees only what the next request does (a mail it
// queues shows as a new outbox sequence number even once delivered).
void settle(const data_folder& data) { BOOST_TEST_REQUIRE(data.outbox_drained(10s), "the outbox does not drain"); }

struct attack {
    browser thief;
    decoded_mail notice;     // what the registered address received
    std::string cancel_url;  // the link in it
    std::string code;        // what the attacker's mailbox received
};

// The link in the notice; "" when there is none.
std::string cancel_link_in(const std::string& body, const std::string& public_url) {
    const auto at = body.find(public_url + cancel_path + "?t=");
    if (at == std::string::npos) return {};
    return body.substr(at, body.find_first_of(" \r\n", at) - at);
}

// The attacker knows taro's ID, password and contact phone number. The password step mails a code
// to the registered address (which the attacker cannot read); the address form then sends one to
// the attacker's mailbox. Returns once both that code and the notice have arrived; the code is not
// entered yet.
attack start_attack(world& w) {
    attack a{browser(w.port()), {}, {}, {}};
    log_in_to_code(a.thief, taro);
    BOOST_TEST_REQUIRE(w.next_code(taro.email).code.size() == 6u);
    const auto csrf = page_csrf(a.thief, portal_base + "/address");
    const auto sent = submit_address(a.thief, csrf, attacker_address, taro.phone);
    BOOST_TEST_REQUIRE(sent.status == 303, sent.body);
    BOOST_TEST_REQUIRE(sent.header("location") == taro.code_path());
    // Read in this order: the notice is queued behind the code (codes go first), and
    // next_mail() leaves the code for next_code().
    a.notice = w.next_mail(taro.email, notice_subject);
    a.code = w.next_code(attacker_address).code;
    a.cancel_url = cancel_link_in(a.notice.body, w.public_url());
    BOOST_TEST_REQUIRE(!a.cancel_url.empty(), "no cancel link in:\n" << a.notice.body);
    return a;
}

// The attacker enters the code from their mailbox: logged in, as the manual promises.
std::string finish_attack(world& w, attack& a, const std::string& code_page_text) {
    const auto csrf = code_csrf(a.thief, taro);
    BOOST_TEST(contains(a.thief.get(taro.code_path()).body, code_page_text));
    const auto in = submit_code(a.thief, taro, csrf, a.code);
    BOOST_TEST_REQUIRE(in.status == 303, in.body);
    BOOST_TEST_REQUIRE(in.header("location") == taro.home_path());
    const auto session = a.thief.cookie(nidan::cookie_names::session).value_or("");
    BOOST_TEST_REQUIRE(get_with_session(w.port(), taro.verify_path(), session).status == 200);
    return session;
}

std::string path_of(const world& w, const std::string& url) { return url.substr(w.public_url().size()); }

// The owner opens the link and presses the button. Returns the page the POST answers.
http_reply owner_cancels(const world& w, const std::string& url) {
    browser owner(w.port());
    const auto page = owner.get(path_of(w, url));
    BOOST_TEST_REQUIRE(page.status == 200, page.body);
    BOOST_TEST_REQUIRE(contains(page.body, cancel_confirm));
    return owner.post_form(cancel_path, {{"csrf", input_value(page.body, "csrf").value_or("")},
                                         {"t", input_value(page.body, "t").value_or("")}});
}

// A new login of taro's (the attacker's again, or the owner's): the code goes to `expected`.
void next_login_mails(world& w, const std::string& expected) {
    browser b(w.port());
    log_in_to_code(b, taro);
    BOOST_TEST(w.next_code(expected).code.size() == 6u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_address_form_takeover_is_announced_at_once_and_held) {
    world w;
    const data_folder data(w.data_dir());
    auto a = start_attack(w);

    // Before the code is entered, the registered address has the notice with a link built from
    // server.public_url, and nothing about the account has changed.
    BOOST_TEST(a.notice.subject == notice_subject);
    BOOST_TEST(contains(a.notice.body, "セルフケアID「taro」の登録メールアドレスを変更するお手続きが、"), a.notice.body);
    BOOST_TEST(contains(a.notice.body, "変更後のメールアドレス: " + attacker_address));
    BOOST_TEST(contains(a.notice.body, notice_held));
    BOOST_TEST(!contains(a.notice.body, notice_at_once));
    BOOST_TEST(contains(a.notice.body, notice_cancel));
    BOOST_TEST(a.cancel_url.starts_with(w.public_url() + cancel_path + "?t="));
    BOOST_TEST(code_in(a.notice.body).empty(), "the notice carries a code");
    const auto pending_code = data.code(taro.portal, taro.id);
    BOOST_TEST_REQUIRE(pending_code.has_value());
    BOOST_TEST(pending_code->target_email == attacker_address);
    BOOST_TEST(stored_account(data, taro).email == taro.email);
    BOOST_TEST(stored_account(data, taro).pending_email.empty());

    // The code logs the attacker in (the manual's promise), but the registered address stays.
    const auto session = finish_attack(w, a, code_to_held);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto held = stored_account(data, taro);
    BOOST_TEST(held.email == taro.email);
    BOOST_TEST(held.pending_email == attacker_address);
    BOOST_TEST(held.pending_email_at > now + 72 * 3600 - 120);
    BOOST_TEST(held.pending_email_at <= now + 72 * 3600);
    const auto shown = w.show(taro);
    BOOST_TEST(contains(shown, "email: " + taro.email + "\n"), shown);
    BOOST_TEST(contains(shown, "pending_email: " + attacker_address + " from "), shown);
    const auto home = get_with_session(w.port(), taro.home_path(), session);
    BOOST_TEST(contains(home.body, "<dd>t***@example.jp<span class=\"hint\">変更手続き中: m***@attacker.example.net"), home.body);
    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=address.change_notice_sent portal=ip-phone id=taro"), log);
    BOOST_TEST(contains(log, "event=address.change_held portal=ip-phone id=taro"), log);
    BOOST_TEST(!contains(log, "event=address.changed "), log);

    // The next login's code goes to the registered address, and the code page says so.
    browser again(w.port());
    log_in_to_code(again, taro);
    BOOST_TEST(contains(again.get(taro.code_path()).body, code_to_registered));
    BOOST_TEST(w.next_code(taro.email).code.size() == 6u);
    BOOST_TEST(data.code(taro.portal, taro.id).value_or(nidan::storage::code_record{}).target_email == taro.email);
    settle(data);
    BOOST_TEST(w.mails_to(attacker_address).size() == 1u, "the attacker's mailbox got more than its one code");
}

BOOST_AUTO_TEST_CASE(the_owners_link_cancels_ends_every_session_and_locks_the_form) {
    world w;
    const data_folder data(w.data_dir());
    auto a = start_attack(w);
    const auto thief_session = finish_attack(w, a, code_to_held);
    settle(data);

    // GET only explains (mail scanners follow links): nothing changes.
    browser owner(w.port());
    auto before = data.snapshot();
    const auto page = owner.get(path_of(w, a.cancel_url));
    BOOST_TEST_REQUIRE(page.status == 200, page.body);
    BOOST_TEST(contains(page.body, cancel_heading));
    BOOST_TEST(contains(page.body, cancel_confirm));
    BOOST_TEST(contains(page.body, "<button type=\"submit\">変更を取り消す</button>"));
    const auto csrf = input_value(page.body, "csrf").value_or("");
    const auto token = input_value(page.body, "t").value_or("");
    BOOST_TEST_REQUIRE(!csrf.empty());
    BOOST_TEST_REQUIRE(a.cancel_url == w.public_url() + cancel_path + "?t=" + token);
    check_nothing_stored(data, before);
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), thief_session).status == 200);

    // Forged or tampered links, and posts without the page's form token, change nothing.
    auto changed = token;
    changed[changed.size() / 2] = changed[changed.size() / 2] == 'A' ? 'B' : 'A';
    struct row {
        std::string name;
        form_fields fields;
        int status;
    };
    const std::vector<row> rows{
        {"a made-up token", {{"csrf", csrf}, {"t", "forged-by-the-attacker"}}, 400},
        {"the token with one character changed", {{"csrf", csrf}, {"t", changed}}, 400},
        {"the token cut short", {{"csrf", csrf}, {"t", token.substr(0, token.size() - 4)}}, 400},
        {"no token", {{"csrf", csrf}}, 400},
        {"no form token", {{"t", token}}, 403},
        {"an empty form token", {{"csrf", ""}, {"t", token}}, 403},
        {"a wrong form token", {{"csrf", csrf + "x"}, {"t", token}}, 403},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.name) {
            before = data.snapshot();
            const auto refused = owner.post_form(cancel_path, r.fields);
            BOOST_TEST(refused.status == r.status);
            // A refused form token shows the confirmation again; a bad link says so.
            BOOST_TEST(contains(refused.body, r.status == 400 ? cancel_invalid : cancel_confirm), refused.body);
            BOOST_TEST(!contains(refused.body, cancel_done));
            check_nothing_stored(data, before);
            BOOST_TEST(get_with_session(w.port(), taro.verify_path(), thief_session).status == 200);
        }
    }
    // Another browser's post (no form cookie) with the owner's form token.
    before = data.snapshot();
    browser elsewhere(w.port());
    BOOST_TEST(elsewhere.post_form(cancel_path, {{"csrf", csrf}, {"t", token}}).status == 403);
    check_nothing_stored(data, before);
    BOOST_TEST(get(w.port(), cancel_path + "?t=" + changed)->status == 400);
    BOOST_TEST(w.metric(invalid_link_metric) == 4);
    BOOST_TEST(w.metric(cancelled_metric) == 0);

    // The owner's post cancels (with the form token of a fresh page: a refused post renews it).
    const auto epoch = stored_account(data, taro).credential_epoch;
    const auto done = owner.post_form(cancel_path, {{"csrf", page_csrf(owner, path_of(w, a.cancel_url))}, {"t", token}});
    BOOST_TEST_REQUIRE(done.status == 200, done.body);
    BOOST_TEST(contains(done.body, cancel_done), done.body);
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), thief_session).status == 401);
    BOOST_TEST(get_with_session(w.port(), taro.home_path(), thief_session).header("location") == taro.login_path);
    const auto cancelled = stored_account(data, taro);
    BOOST_TEST(cancelled.email == taro.email);
    BOOST_TEST(cancelled.pending_email.empty());
    BOOST_TEST(cancelled.pending_email_at == 0);
    BOOST_TEST(cancelled.address_form_locked);
    BOOST_TEST(cancelled.credential_epoch != epoch);
    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=address.change_cancelled portal=ip-phone id=taro client=127.0.0.1 "
                             "new=m***@attacker.example.net restored=false sessions=ended address_form=locked"),
               log);
    BOOST_TEST(w.metric(cancelled_metric) == 1);

    // The form stays locked: the attacker logs in again (the code goes to the owner) and tries.
    browser retry(w.port());
    log_in_to_code(retry, taro);
    BOOST_TEST(w.next_code(taro.email).code.size() == 6u);
    const auto retry_csrf = code_csrf(retry, taro);
    const auto locked = retry.get(portal_base + "/address");
    BOOST_TEST(locked.status == 403);
    BOOST_TEST(alert_of(locked.body) == msg_cancel_locked);
    BOOST_TEST(contains(locked.body, msg_contact_support));
    settle(data);
    before = data.snapshot();
    const auto refused = submit_address(retry, retry_csrf, attacker_address, taro.phone);
    BOOST_TEST(refused.status == 403);
    BOOST_TEST(alert_of(refused.body) == msg_cancel_locked);
    check_nothing_stored(data, before);  // no code, no notice, no strike

    // A second use of the link does nothing more: the owner, logged in since, stays logged in.
    browser mine(w.port());
    const auto my_session = log_in(w, mine, taro);
    settle(data);
    before = data.snapshot();
    const auto again = owner_cancels(w, a.cancel_url);
    BOOST_TEST(again.status == 200, again.body);
    BOOST_TEST(contains(again.body, cancel_done));
    check_nothing_stored(data, before);
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), my_session).status == 200);
    BOOST_TEST(w.metric(cancelled_metric) == 1);
    BOOST_TEST(count_of(w.server().log_text(), "event=address.change_cancelled ") == 1u);
}

BOOST_AUTO_TEST_CASE(without_a_hold_the_code_replaces_the_address_and_the_notice_still_goes_out) {
    // hold_hours is whole hours; 0 is today's behaviour without a hold.
    world w({"address_change.hold_hours=0"});
    const data_folder data(w.data_dir());
    auto a = start_attack(w);
    BOOST_TEST(contains(a.notice.body, notice_at_once), a.notice.body);
    BOOST_TEST(!contains(a.notice.body, notice_held));
    BOOST_TEST(contains(a.notice.body, notice_cancel));
    BOOST_TEST(stored_account(data, taro).email == taro.email);

    finish_attack(w, a, code_to_new);
    const auto changed = stored_account(data, taro);
    BOOST_TEST(changed.email == attacker_address);
    BOOST_TEST(changed.pending_email.empty());
    BOOST_TEST(contains(w.server().log_text(), "event=address.changed portal=ip-phone id=taro"));
    next_login_mails(w, attacker_address);

    // The owner's link still undoes it: the old address is back.
    const auto done = owner_cancels(w, a.cancel_url);
    BOOST_TEST(done.status == 200, done.body);
    BOOST_TEST(contains(done.body, cancel_done));
    const auto restored = stored_account(data, taro);
    BOOST_TEST(restored.email == taro.email);
    BOOST_TEST(restored.address_form_locked);
    BOOST_TEST(contains(w.server().log_text(), "restored=true sessions=ended address_form=locked"));
    next_login_mails(w, taro.email);
}

BOOST_AUTO_TEST_CASE(a_held_address_becomes_the_registered_one_once_its_hold_has_passed) {
    world w;
    data_folder data(w.data_dir());
    auto a = start_attack(w);
    finish_attack(w, a, code_to_held);
    BOOST_TEST_REQUIRE(stored_account(data, taro).pending_email == attacker_address);

    // Hours cannot be waited for: the stored end of the hold is moved to a second ago.
    BOOST_TEST_REQUIRE(data.edit_account(taro.portal, taro.id, [](nidan::account& acct) {
        acct.pending_email_at = static_cast<std::int64_t>(std::time(nullptr)) - 1;
    }));
    const auto shown = w.show(taro);
    BOOST_TEST(contains(shown, "email: " + attacker_address + "\n"), shown);
    BOOST_TEST(contains(shown, "pending_email: (none)\n"), shown);
    next_login_mails(w, attacker_address);
    const auto settled = stored_account(data, taro);
    BOOST_TEST(settled.email == attacker_address);
    BOOST_TEST(settled.pending_email.empty());

    // Within a week after the hold the owner's link still puts the old address back.
    const auto done = owner_cancels(w, a.cancel_url);
    BOOST_TEST(done.status == 200, done.body);
    BOOST_TEST(stored_account(data, taro).email == taro.email);
    BOOST_TEST(contains(w.server().log_text(), "restored=true"));
    next_login_mails(w, taro.email);
}

BOOST_AUTO_TEST_CASE(the_account_pages_address_change_needs_the_current_password) {
    world w;
    const data_folder data(w.data_dir());
    browser b(w.port());
    log_in(w, b, taro);
    const auto csrf = page_csrf(b, taro.home_path());
    const std::string new_address = "taro.new@example.jp";
    settle(data);

    struct row {
        std::string name;
        form_fields fields;
        bool counted;  // a password that was checked and failed counts as a login's failure would
    };
    const std::vector<row> rows{
        {"no current password field", {{"csrf", csrf}, {"new_email", new_address}}, false},
        {"an empty current password", {{"csrf", csrf}, {"new_email", new_address}, {"email_current_password", ""}}, false},
        {"a wrong current password",
         {{"csrf", csrf}, {"new_email", new_address}, {"email_current_password", account_password + "x"}}, true},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.name) {
            const auto before = data.snapshot();
            const auto refused = b.post_form(portal_base + "/email", r.fields);
            const auto changes = changes_between(before, data.snapshot());
            BOOST_TEST(refused.status == 401);
            BOOST_TEST(alert_of(refused.body) == msg_wrong_password);
            BOOST_TEST(input_value(refused.body, "new_email").value_or("") == new_address);
            // No code, no mail (a queued one would show as a new outbox sequence number); a wrong
            // password adds the account's and the address's failure counters and their expiry.
            BOOST_TEST(changes.size() == (r.counted ? 4u : 0u), as_lines(changes));
            for (const auto& change : changes) {
                BOOST_TEST_CONTEXT(change) {
                    BOOST_TEST((change.starts_with("counters[pw_acct") || change.starts_with("counters[pw_addr") ||
                                change.starts_with("expiry[at ")));
                }
            }
            BOOST_TEST(!data.code(taro.portal, taro.id).has_value());
        }
    }
    BOOST_TEST(count_of(w.server().log_text(), "event=account.email_change_refused portal=ip-phone id=taro") == 3u);
    BOOST_TEST(w.mails_to(new_address).empty());

    // With it, the code goes to the new address and the notice to the registered one.
    const auto sent = b.post_form(portal_base + "/email",
                                  {{"csrf", csrf}, {"new_email", new_address}, {"email_current_password", account_password}});
    BOOST_TEST_REQUIRE(sent.status == 303, sent.body);
    BOOST_TEST(sent.header("location") == taro.code_path());
    const auto notice = w.next_mail(taro.email, notice_subject);
    BOOST_TEST(contains(notice.body, "変更後のメールアドレス: " + new_address));
    BOOST_TEST(!cancel_link_in(notice.body, w.public_url()).empty(), notice.body);
    const auto code = w.next_code(new_address).code;
    const auto code_page = b.get(taro.code_path());
    BOOST_TEST(contains(code_page.body, code_to_held));
    const auto in = submit_code(b, taro, input_value(code_page.body, "csrf").value_or(""), code);
    BOOST_TEST(in.status == 303, in.body);
    const auto held = stored_account(data, taro);
    BOOST_TEST(held.email == taro.email);
    BOOST_TEST(held.pending_email == new_address);
}

BOOST_AUTO_TEST_CASE(only_without_working_address_offers_the_form_to_accounts_without_working_mail) {
    world w({"address_change.only_without_working_address=true"},
            {taro.for_world(), jiro.for_world(), hanako.for_world()}, {"--reject-rcpt", hanako.email});
    const data_folder data(w.data_dir());
    const std::string address_link = "<p class=\"address-link\">";

    // taro's mail works: no link on the code page, and the form says to contact support.
    browser thief(w.port());
    log_in_to_code(thief, taro);
    BOOST_TEST(w.next_code(taro.email).code.size() == 6u);
    const auto code_page = thief.get(taro.code_path());
    BOOST_TEST(!contains(code_page.body, address_link), code_page.body);
    const auto csrf = input_value(code_page.body, "csrf").value_or("");
    const auto form = thief.get(portal_base + "/address");
    BOOST_TEST(form.status == 403);
    BOOST_TEST(alert_of(form.body) == msg_not_offered);
    BOOST_TEST(contains(form.body, msg_contact_support));
    settle(data);
    const auto before = data.snapshot();
    const auto refused = submit_address(thief, csrf, attacker_address, taro.phone);
    BOOST_TEST(refused.status == 403);
    BOOST_TEST(alert_of(refused.body) == msg_not_offered);
    check_nothing_stored(data, before);  // no code, no notice
    BOOST_TEST(contains(w.server().log_text(), "event=address.form_not_offered portal=ip-phone id=taro"));

    // jiro has no address: the password leads to the form, and the new address, with nobody to
    // warn, is registered on its code.
    browser j(w.port());
    const auto login_csrf = open_login(j, jiro);
    const auto first = submit_login(j, jiro, login_csrf, jiro.id, account_password);
    BOOST_TEST_REQUIRE(first.header("location") == portal_base + "/address");
    const auto jiro_address = "jiro@example.jp";
    const auto jiro_sent = submit_address(j, page_csrf(j, portal_base + "/address"), jiro_address, jiro.phone);
    BOOST_TEST_REQUIRE(jiro_sent.status == 303, jiro_sent.body);
    const auto jiro_code = w.next_code(jiro_address).code;
    BOOST_TEST(submit_code(j, jiro, code_csrf(j, jiro), jiro_code).status == 303);
    BOOST_TEST(stored_account(data, jiro).email == jiro_address);
    BOOST_TEST(stored_account(data, jiro).pending_email.empty());

    // hanako's code mail bounced (the relay refused the recipient for good, so it is on the
    // outbox's failed list): now the form is offered.
    browser h(w.port());
    log_in_to_code(h, hanako);
    BOOST_TEST_REQUIRE(eventually([&] { return w.metric("nidan_outbox_failed") == 1; }, 15s),
                       "the bounce was not recorded\n" << w.relay().output());
    BOOST_TEST(w.relay().count_events("reply RCPT 550 5.1.1 no such user") == 1u);
    BOOST_TEST(contains(h.get(hanako.code_path()).body, address_link));
    const auto hanako_address = "hanako@example.jp";
    const auto hanako_sent = submit_address(h, page_csrf(h, portal_base + "/address"), hanako_address, hanako.phone);
    BOOST_TEST_REQUIRE(hanako_sent.status == 303, hanako_sent.body);
    const auto hanako_code = w.next_code(hanako_address).code;
    BOOST_TEST(submit_code(h, hanako, code_csrf(h, hanako), hanako_code).status == 303);
    // The bounced address is still told (and bounces again); the new one waits out the hold.
    BOOST_TEST(stored_account(data, hanako).pending_email == hanako_address);
}

BOOST_AUTO_TEST_CASE(support_lock_drops_a_held_change_that_the_owner_reports) {
    // The owner calls instead of using the link: support's lock must stop the change as well.
    world w;
    const data_folder data(w.data_dir());
    auto a = start_attack(w);
    const auto thief_session = finish_attack(w, a, code_to_held);
    const auto locked = w.user({"lock", "--portal", taro.portal, "--id", taro.id});
    BOOST_TEST_REQUIRE(locked.exit_code == 0, locked.err);
    BOOST_TEST(contains(locked.out, "held address change to " + attacker_address + " dropped"), locked.out);
    BOOST_TEST(get_with_session(w.port(), taro.verify_path(), thief_session).status == 401);
    const auto after = stored_account(data, taro);
    BOOST_TEST(after.email == taro.email);
    BOOST_TEST(after.pending_email.empty());
    BOOST_TEST(after.pending_email_at == 0);
    const auto unlocked = w.user({"unlock", "--portal", taro.portal, "--id", taro.id});
    BOOST_TEST_REQUIRE(unlocked.exit_code == 0, unlocked.err);
    BOOST_TEST(stored_account(data, taro).pending_email.empty());
    next_login_mails(w, taro.email);
}
