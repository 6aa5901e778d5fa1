// Delivery of the outbox against real SMTP servers on 127.0.0.1: the aiosmtpd test relay
// (tests/support/smtp_relay.py, with TLS, AUTH and fault modes) and Postfix's smtp-sink. Mails
// are enqueued from this process into the running server's data folder, as the login flow
// would; the server notices them within its one-second poll. Retries are made to happen within
// seconds with smtp.retry_backoff_s=1.
#define BOOST_TEST_MODULE mail_delivery
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "nidan_test/catalog.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/mail_outbox.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/postgres_server.hpp"
#include "nidan_test/temp_dir.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string code_subject =
    catalog_text_with("ja", "mail.code_subject", {{"operator_name", catalog_text("ja", "operator.name")}});
const std::string from_header = catalog_text("ja", "mail.from_name") + " <no-reply@comm.rakuten.co.jp>";

// Short deadlines so that faults are noticed and retried within seconds.
std::vector<std::string> smtp_settings(unsigned short relay_port, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> settings{"smtp.relay=127.0.0.1:" + std::to_string(relay_port),
                                      "smtp.retry_backoff_s=1",
                                      "smtp.connect_timeout_ms=2000",
                                      "smtp.tls_timeout_ms=2000",
                                      "smtp.greeting_timeout_ms=500",
                                      "smtp.command_timeout_ms=2000",
                                      "smtp.data_timeout_ms=3000"};
    settings.insert(settings.end(), extra.begin(), extra.end());
    return settings;
}

// A test's folders: the server's data, and where relays keep what they receive.
struct mail_test_dirs {
    temp_dir dir;
    fs::path data = dir / "data";
    fs::path mails = dir / "mails";
    // NIDAN_TEST_BACKEND=postgres: a database for the folder (the server, the CLI and enqueue() use it).
    bool on_postgres = use_postgres_if_selected(data);
};

relay_options capture_relay(const fs::path& mails, unsigned short port = 0, std::vector<std::string> args = {}) {
    return {relay_kind::aiosmtpd, mails, port, std::move(args)};
}

// `nidan <args>` against the data folder, with the shipped configuration.
command_result nidan_cli(const fs::path& data, std::vector<std::string> args) {
    args.insert(args.end(), {"--config", source_dir() + "/conf/nidan.toml", "--set", "storage.data_dir=" + data.string()});
    return run_nidan(args, "", 30s);
}

std::string outbox_list(const fs::path& data, bool failed = false) {
    auto result = nidan_cli(data, failed ? std::vector<std::string>{"outbox", "list", "--failed"}
                                         : std::vector<std::string>{"outbox", "list"});
    BOOST_TEST_REQUIRE(result.exit_code == 0, "nidan outbox list: " << result.err);
    return result.out;
}

bool outbox_is_empty(const fs::path& data) {
    return eventually([&] { return outbox_list(data).starts_with("queued: 0, failed: 0\n"); }, 5s, 200ms);
}

long long metric(const server_process& server, const std::string& name) {
    auto reply = get(server.port(), "/metrics");
    BOOST_TEST_REQUIRE(reply.has_value());
    BOOST_TEST_REQUIRE(reply->status == 200);
    return metric_value(reply->body, name);
}

bool log_shows(server_process& server, const std::string& needle, std::size_t times = 1,
               std::chrono::milliseconds timeout = 8s) {
    return eventually([&] { return count_of(server.log_text(), needle) >= times; }, timeout);
}

// The first log line holding `event`, or "".
std::string log_line(server_process& server, const std::string& event) {
    std::istringstream in(server.log_text());
    for (std::string line; std::getline(in, line);)
        if (line.find(event) != std::string::npos) return line;
    return {};
}

// Checks a received code mail against what the server was asked to send.
void check_code_mail(const decoded_mail& mail, const nidan::config& cfg, const code_mail_input& sent) {
    const auto expected = expected_code_mail(cfg, sent);
    BOOST_TEST(mail.subject == code_subject);
    BOOST_TEST(mail.subject == expected.subject);
    BOOST_TEST(mail.body == expected.body);
    BOOST_TEST(mail.from == from_header);
    BOOST_TEST(mail.from_address == "no-reply@comm.rakuten.co.jp");
    BOOST_TEST(mail.to == sent.to);
    BOOST_TEST(mail.to_address == sent.to);
    BOOST_TEST(mail.header("Auto-Submitted") == "auto-generated");
    BOOST_TEST(!mail.header("Message-ID").empty());
}

const code_mail_input* find_by_recipient(const std::vector<code_mail_input>& sent, const std::string& to) {
    for (const auto& in : sent)
        if (in.to == to) return &in;
    return nullptr;
}

std::vector<code_mail_input> three_codes() {
    return {{"taro@example.jp", "111111"}, {"hanako@example.jp", "222222"}, {"jiro@example.jp", "333333"}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(queued_mails_reach_the_capture_relay) {
    mail_test_dirs t;
    relay_process relay(capture_relay(t.mails));
    server_process server(t.data.string(), smtp_settings(relay.port()));
    const auto cfg = shipped_config(t.data);
    const auto sent = three_codes();
    for (const auto& in : sent) enqueue_code_mail(t.data, in);

    const auto files = wait_for_mails(t.mails, 3, 5s);
    BOOST_TEST_REQUIRE(files.size() == 3u, "relay output:\n" << relay.output() << "server log:\n" << server.log_text());
    std::set<std::string> recipients;
    for (const auto& file : files) {
        const auto mail = decode_mail(file);
        const auto* in = find_by_recipient(sent, mail.to_address);
        BOOST_TEST_REQUIRE(in != nullptr, "unexpected recipient " << mail.to_address);
        recipients.insert(in->to);
        check_code_mail(mail, cfg, *in);
        BOOST_TEST(mail.raw_line_max <= 78u);
    }
    BOOST_TEST(recipients.size() == 3u);

    BOOST_TEST(outbox_is_empty(t.data));
    BOOST_TEST(eventually([&] { return metric(server, "nidan_mail_sent_total") == 3; }, 3s));
    // The pool keeps connections open between mails: at most one per worker here.
    const auto connections = metric(server, "nidan_smtp_connections_total");
    BOOST_TEST(connections >= 1);
    BOOST_TEST(connections < 3);
    BOOST_TEST(relay.count_events("connect") == static_cast<std::size_t>(connections));
    BOOST_TEST(metric(server, "nidan_outbox_queued") == 0);
}

BOOST_AUTO_TEST_CASE(queued_mails_reach_postfix_smtp_sink) {
    mail_test_dirs t;
    relay_process sink({relay_kind::smtp_sink, t.mails, 0, {}});
    server_process server(t.data.string(), smtp_settings(sink.port()));
    const auto cfg = shipped_config(t.data);
    const auto sent = three_codes();
    for (const auto& in : sent) enqueue_code_mail(t.data, in);

    // smtp-sink writes its dump file while the message streams in; the relay's 250 (counted by
    // the server) says it is complete.
    BOOST_TEST_REQUIRE(eventually([&] { return metric(server, "nidan_mail_sent_total") == 3; }, 5s),
                       "server log:\n" << server.log_text());
    const auto files = wait_for_mails(t.mails, 3, 2s, "");
    BOOST_TEST_REQUIRE(files.size() == 3u, "sink output:\n" << sink.output());
    for (const auto& file : files) {
        const auto mail = decode_mail(file);
        const auto* in = find_by_recipient(sent, mail.to_address);
        BOOST_TEST_REQUIRE(in != nullptr, "unexpected recipient " << mail.to_address);
        check_code_mail(mail, cfg, *in);
        // smtp-sink records the envelope it was given (the arguments of MAIL FROM: and RCPT TO:).
        BOOST_TEST(mail.header("X-Mail-Args").starts_with("<no-reply@comm.rakuten.co.jp>"), mail.header("X-Mail-Args"));
        BOOST_TEST(mail.header("X-Rcpt-Args") == "<" + in->to + ">");
        BOOST_TEST(mail.header("X-Helo-Args") == "localhost");
    }
    BOOST_TEST(outbox_is_empty(t.data));
}

BOOST_AUTO_TEST_CASE(a_relay_that_is_down_is_retried_until_it_is_up) {
    mail_test_dirs t;
    const auto port = free_port();
    server_process server(t.data.string(), smtp_settings(port));
    enqueue_code_mail(t.data);
    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.retry"), server.log_text());
    BOOST_TEST(log_line(server, "event=mail.retry").find("Connection refused") != std::string::npos);
    BOOST_TEST(mail_files(t.mails).empty());

    relay_process relay(capture_relay(t.mails, port));
    BOOST_TEST(wait_for_mails(t.mails, 1, 5s).size() == 1u);
    BOOST_TEST(log_shows(server, "event=mail.sent"));
    BOOST_TEST(outbox_is_empty(t.data));
    BOOST_TEST(metric(server, "nidan_smtp_connection_failures_total") >= 1);
    BOOST_TEST(metric(server, "nidan_mail_sent_total") == 1);
}

namespace {

// The relay answers with a temporary failure; the mail is retried and delivered once the relay
// is restarted without the fault.
void check_transient_fault(const std::vector<std::string>& fault, const std::string& reply) {
    mail_test_dirs t;
    auto faulty = std::make_unique<relay_process>(capture_relay(t.mails, 0, fault));
    const auto port = faulty->port();
    server_process server(t.data.string(), smtp_settings(port));
    enqueue_code_mail(t.data);

    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.retry", 2), server.log_text());
    const auto retry = log_line(server, "event=mail.retry");
    BOOST_TEST(retry.find(reply) != std::string::npos, retry);
    BOOST_TEST(server.log_text().find("attempts=2") != std::string::npos);
    BOOST_TEST(faulty->count_events("MAIL") >= 2u);
    BOOST_TEST(mail_files(t.mails).empty());

    faulty.reset();
    relay_process relay(capture_relay(t.mails, port));
    BOOST_TEST_REQUIRE(wait_for_mails(t.mails, 1, 6s).size() == 1u, server.log_text());
    BOOST_TEST(log_shows(server, "event=mail.sent"));
    BOOST_TEST(log_line(server, "event=mail.sent").find("attempts=1 ") == std::string::npos);
    BOOST_TEST(outbox_is_empty(t.data));
    BOOST_TEST(metric(server, "nidan_mail_retried_total") >= 2);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_421_is_retried) {
    check_transient_fault({"--reply-mail", "421 4.3.2 service shutting down"}, "421 4.3.2 service shutting down");
}

BOOST_AUTO_TEST_CASE(a_451_is_retried) {
    check_transient_fault({"--reply-data", "451 4.3.0 try later"}, "451 4.3.0 try later");
}

BOOST_AUTO_TEST_CASE(a_550_fails_the_mail_for_good) {
    mail_test_dirs t;
    relay_process relay(capture_relay(t.mails, 0, {"--reply-rcpt", "550 5.1.1 no such user"}));
    server_process server(t.data.string(), smtp_settings(relay.port()));
    const auto id = enqueue_code_mail(t.data, {"nobody@example.jp"});

    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.failed"), server.log_text());
    const auto failed = outbox_list(t.data, true);
    BOOST_TEST(failed.starts_with("queued: 0, failed: 1\n"), failed);
    BOOST_TEST(failed.find(std::to_string(id) + "\tlogin_code\tnobody@example.jp") != std::string::npos, failed);
    BOOST_TEST(failed.find("550 5.1.1 no such user") != std::string::npos, failed);

    // Longer than the retry backoff: a permanent failure is not tried again.
    std::this_thread::sleep_for(1500ms);
    BOOST_TEST(relay.count_events("RCPT") == 1u, relay.output());
    BOOST_TEST(mail_files(t.mails).empty());
    BOOST_TEST(count_of(server.log_text(), "event=mail.retry") == 0u);
    BOOST_TEST(metric(server, "nidan_mail_failed_total") == 1);
    BOOST_TEST(metric(server, "nidan_mail_retried_total") == 0);
    BOOST_TEST(metric(server, "nidan_outbox_failed") == 1);
}

BOOST_AUTO_TEST_CASE(a_relay_that_never_greets_times_out_and_is_retried) {
    mail_test_dirs t;
    auto stalled = std::make_unique<relay_process>(capture_relay(t.mails, 0, {"--stall"}));
    const auto port = stalled->port();
    server_process server(t.data.string(), smtp_settings(port));
    enqueue_code_mail(t.data);

    BOOST_TEST_REQUIRE(log_shows(server, "event=smtp.connect_failed"), server.log_text());
    const auto failure = log_line(server, "event=smtp.connect_failed");
    BOOST_TEST(failure.find("no reply from the relay in time") != std::string::npos, failure);
    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.retry"));
    BOOST_TEST(log_line(server, "event=mail.retry").find("in time") != std::string::npos);
    BOOST_TEST(stalled->count_events("connect") >= 1u);

    stalled.reset();
    relay_process relay(capture_relay(t.mails, port));
    BOOST_TEST(wait_for_mails(t.mails, 1, 6s).size() == 1u, server.log_text());
    BOOST_TEST(outbox_is_empty(t.data));
}

BOOST_AUTO_TEST_CASE(mails_survive_a_sigkill_and_arrive_once) {
    mail_test_dirs t;
    const auto port = free_port();
    std::vector<code_mail_input> sent;
    for (int i = 0; i < 5; ++i) sent.push_back({"user" + std::to_string(i) + "@example.jp", std::to_string(100000 + i)});
    {
        server_process server(t.data.string(), smtp_settings(port));
        const auto cfg = shipped_config(t.data);
        std::vector<nidan::storage::outbox_mail> mails;
        for (const auto& in : sent) mails.push_back(code_mail(cfg, in));
        enqueue(t.data, std::move(mails));
        BOOST_TEST_REQUIRE(log_shows(server, "event=mail.retry"), server.log_text());
        server.signal(SIGKILL);
        BOOST_TEST(server.wait_exit(5s).value_or(-1) == 128 + SIGKILL);
    }
    relay_process relay(capture_relay(t.mails, port));
    server_process server(t.data.string(), smtp_settings(port));

    // On a shared store a mail the killed node had leased waits for its lease to run out: the
    // longest SMTP transaction at these timeouts (19.5 s) plus 10 s.
    const auto patience = postgres_backend_selected() ? 45s : 8s;
    BOOST_TEST_REQUIRE(wait_for_mails(t.mails, 5, patience).size() == 5u, server.log_text());
    BOOST_TEST(outbox_is_empty(t.data));
    // Nothing comes twice, even after another retry interval.
    std::this_thread::sleep_for(1200ms);
    const auto files = mail_files(t.mails);
    BOOST_TEST(files.size() == 5u);
    std::set<std::string> ids, recipients;
    for (const auto& file : files) {
        const auto mail = decode_mail(file);
        ids.insert(mail.header("Message-ID"));
        recipients.insert(mail.to_address);
    }
    BOOST_TEST(ids.size() == 5u);
    BOOST_TEST(recipients.size() == 5u);
    BOOST_TEST(metric(server, "nidan_mail_sent_total") == 5);
}

BOOST_AUTO_TEST_CASE(an_expired_code_is_not_sent) {
    mail_test_dirs t;
    relay_process relay(capture_relay(t.mails));
    server_process server(t.data.string(), smtp_settings(relay.port()));
    const auto id = enqueue_code_mail(t.data, {"late@example.jp", "654321", "ip-phone", "ja", -5});

    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.expired"), server.log_text());
    const auto failed = outbox_list(t.data, true);
    BOOST_TEST(failed.starts_with("queued: 0, failed: 1\n"), failed);
    BOOST_TEST(failed.find(std::to_string(id) + "\tlogin_code\tlate@example.jp") != std::string::npos, failed);
    BOOST_TEST(failed.find("expired") != std::string::npos, failed);
    BOOST_TEST(metric(server, "nidan_mail_expired_total") == 1);
    BOOST_TEST(metric(server, "nidan_mail_sent_total") == 0);
    BOOST_TEST(relay.count_events("MAIL") == 0u);
    BOOST_TEST(mail_files(t.mails).empty());
}

// Queued right after the server starts, while its first look at the outbox may still wait for
// a storage connection: the look must judge what is due when it reads, not when it set out.
BOOST_AUTO_TEST_CASE(login_codes_go_before_notices) {
    mail_test_dirs t;
    const auto port = free_port();
    // Long enough to stop the server between the first tries and the retries.
    constexpr auto backoff = 4s;
    server_process server(t.data.string(), smtp_settings(port, {"smtp.pool_size=1", "smtp.retry_backoff_s=4"}));
    const auto cfg = shipped_config(t.data);
    // The notice is older and first in the queue: only its priority puts the code ahead.
    auto notice = notice_mail(cfg, "notice@example.jp");
    notice.due_at = unix_now_ms() - 60'000;
    enqueue(t.data, {std::move(notice), code_mail(cfg, {"code@example.jp"})});
    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.retry", 2), server.log_text());
    const auto failed_at = std::chrono::steady_clock::now();
    BOOST_TEST(log_line(server, "event=mail.retry").find("kind=login_code") != std::string::npos, server.log_text());
    BOOST_TEST(log_line(server, "event=mail.retry").find("next_try_in_s=4") != std::string::npos, server.log_text());

    // Held until the relay is up and both retries are due: otherwise a slow relay start can let
    // the code's retry fail once more and the notice's (due a moment later) succeed, which says
    // nothing about priority.
    server.signal(SIGSTOP);
    relay_process relay(capture_relay(t.mails, port));
    std::this_thread::sleep_until(failed_at + backoff + 1s);
    server.signal(SIGCONT);
    const auto files = wait_for_mails(t.mails, 2, 6s);
    BOOST_TEST_REQUIRE(files.size() == 2u, server.log_text());
    BOOST_TEST(decode_mail(files[0]).to_address == "code@example.jp");
    BOOST_TEST(decode_mail(files[1]).to_address == "notice@example.jp");
}

namespace {

command_result mail_test(unsigned short port, const std::vector<std::string>& settings) {
    std::vector<std::string> args{"mail", "test", "--to", "x@example.jp", "--config", source_dir() + "/conf/nidan.toml",
                                  "--set", "server.templates_dir=" + source_dir() + "/templates"};
    for (const auto& s : smtp_settings(port, settings)) args.insert(args.end(), {"--set", s});
    return run_nidan(args, "", 30s);
}

}  // namespace

BOOST_AUTO_TEST_CASE(mail_test_over_starttls_and_implicit_tls_with_auth) {
    mail_test_dirs t;
    const auto pki = make_test_pki(t.dir.path(), "good");
    const auto stranger = make_test_pki(t.dir.path(), "stranger");
    const auto password = t.dir / "password";
    const auto wrong_password = t.dir / "wrong-password";
    std::ofstream(password) << "s3cret pass\n";
    std::ofstream(wrong_password) << "guess\n";
    const std::vector<std::string> auth{"--auth", "mailer:s3cret pass"};
    const std::vector<std::string> client{"smtp.ca_file=" + pki.ca_cert.string(), "smtp.username=mailer",
                                          "smtp.password_file=" + password.string()};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };

    {
        relay_process relay(capture_relay(t.mails, 0, with({"--starttls", pki.relay_cert.string(), pki.relay_key.string()}, auth)));
        auto ok = mail_test(relay.port(), with({"smtp.tls=starttls"}, client));
        BOOST_TEST(ok.exit_code == 0, ok.out << ok.err);
        BOOST_TEST(ok.out.find("tls: TLSv1.") != std::string::npos, ok.out);
        BOOST_TEST(ok.out.find("certificate: verified") != std::string::npos, ok.out);
        BOOST_TEST(ok.out.find("s3cret") == std::string::npos);  // the transcript masks AUTH
        const auto files = wait_for_mails(t.mails, 1, 3s);
        BOOST_TEST_REQUIRE(files.size() == 1u);
        const auto mail = decode_mail(files.front());
        BOOST_TEST(mail.to_address == "x@example.jp");
        BOOST_TEST(mail.subject.find("テストメール") != std::string::npos, mail.subject);
        BOOST_TEST(relay.count_events("AUTH") == 1u);

        auto refused = mail_test(relay.port(), with({"smtp.tls=starttls", "smtp.password_file=" + wrong_password.string()},
                                                    {"smtp.ca_file=" + pki.ca_cert.string(), "smtp.username=mailer"}));
        BOOST_TEST(refused.exit_code == 1, refused.out << refused.err);
        BOOST_TEST((refused.out + refused.err).find("535") != std::string::npos, refused.out << refused.err);
        BOOST_TEST(mail_files(t.mails).size() == 1u);
    }
    {
        // A relay whose certificate chains to a CA we were not told to trust.
        relay_process impostor(capture_relay(t.mails, 0, with({"--starttls", stranger.relay_cert.string(), stranger.relay_key.string()}, auth)));
        auto refused = mail_test(impostor.port(), with({"smtp.tls=starttls"}, client));
        BOOST_TEST(refused.exit_code == 1, refused.out << refused.err);
        BOOST_TEST(refused.out.find("certificate: not verified") != std::string::npos, refused.out);
        BOOST_TEST(refused.err.find("certificate not verified") != std::string::npos, refused.err);
        BOOST_TEST(impostor.count_events("AUTH") == 0u);
        BOOST_TEST(impostor.count_events("MAIL") == 0u);
        BOOST_TEST(mail_files(t.mails).size() == 1u);
    }
    {
        relay_process relay(capture_relay(t.mails, 0, with({"--implicit-tls", pki.relay_cert.string(), pki.relay_key.string()}, auth)));
        auto ok = mail_test(relay.port(), with({"smtp.tls=tls"}, client));
        BOOST_TEST(ok.exit_code == 0, ok.out << ok.err);
        BOOST_TEST(ok.out.find("tls: TLSv1.") != std::string::npos, ok.out);
        BOOST_TEST(ok.out.find("certificate: verified") != std::string::npos, ok.out);
        BOOST_TEST(wait_for_mails(t.mails, 2, 3s).size() == 2u);
        BOOST_TEST(relay.count_events("AUTH") == 1u);
    }
}

BOOST_AUTO_TEST_CASE(outbox_retry_and_purge) {
    mail_test_dirs t;
    auto refusing = std::make_unique<relay_process>(capture_relay(t.mails, 0, {"--reply-rcpt", "550 5.1.1 no such user"}));
    const auto port = refusing->port();
    server_process server(t.data.string(), smtp_settings(port));
    const auto id = enqueue_code_mail(t.data, {"moved@example.jp"});
    BOOST_TEST_REQUIRE(log_shows(server, "event=mail.failed"), server.log_text());

    // The address was fixed at the relay: put the mail back.
    refusing.reset();
    relay_process relay(capture_relay(t.mails, port));
    auto retried = nidan_cli(t.data, {"outbox", "retry", std::to_string(id)});
    BOOST_TEST(retried.exit_code == 0, retried.err);
    BOOST_TEST(retried.out == "mail " + std::to_string(id) + " queued for delivery\n");
    const auto files = wait_for_mails(t.mails, 1, 5s);
    BOOST_TEST_REQUIRE(files.size() == 1u, server.log_text());
    BOOST_TEST(decode_mail(files.front()).to_address == "moved@example.jp");
    BOOST_TEST(outbox_is_empty(t.data));

    auto unknown = nidan_cli(t.data, {"outbox", "retry", "999999"});
    BOOST_TEST(unknown.exit_code == 1);

    // Two mails that expired before delivery, then purged.
    enqueue(t.data, {code_mail(shipped_config(t.data), {"a@example.jp", "111111", "ip-phone", "ja", -1}),
                     code_mail(shipped_config(t.data), {"b@example.jp", "222222", "ip-phone", "ja", -1})});
    BOOST_TEST_REQUIRE(eventually([&] { return outbox_list(t.data, true).starts_with("queued: 0, failed: 2\n"); }, 5s, 200ms));
    auto purged = nidan_cli(t.data, {"outbox", "purge", "--all"});
    BOOST_TEST(purged.exit_code == 0, purged.err);
    BOOST_TEST(purged.out == "purged 2 failed mails\n");
    BOOST_TEST(outbox_list(t.data, true) == "queued: 0, failed: 0\n");
}

BOOST_AUTO_TEST_CASE(a_pooled_connection_the_relay_dropped_costs_no_retry) {
    mail_test_dirs t;
    auto first = std::make_unique<relay_process>(capture_relay(t.mails));
    const auto port = first->port();
    // The default backoff: a retry would show as a 5 s delay.
    server_process server(t.data.string(), smtp_settings(port, {"smtp.retry_backoff_s=5"}));
    enqueue_code_mail(t.data, {"first@example.jp"});
    BOOST_TEST_REQUIRE(wait_for_mails(t.mails, 1, 5s).size() == 1u, server.log_text());

    // The relay restarts (or drops idle clients) while the server keeps the connection pooled.
    first.reset();
    relay_process second(capture_relay(t.mails, port));
    enqueue_code_mail(t.data, {"second@example.jp"});
    BOOST_TEST(wait_for_mails(t.mails, 2, 3s).size() == 2u, server.log_text());
    BOOST_TEST(count_of(server.log_text(), "event=mail.retry") == 0u, server.log_text());
}

BOOST_AUTO_TEST_CASE(the_server_delivers_over_starttls_and_reuses_the_connection) {
    mail_test_dirs t;
    const auto pki = make_test_pki(t.dir.path(), "pool");
    const auto password = t.dir / "password";
    std::ofstream(password) << "s3cret\n";
    relay_process relay(capture_relay(t.mails, 0, {"--starttls", pki.relay_cert.string(), pki.relay_key.string(),
                                                   "--auth", "mailer:s3cret"}));
    server_process server(t.data.string(),
                          smtp_settings(relay.port(), {"smtp.pool_size=1", "smtp.tls=starttls",
                                                       "smtp.ca_file=" + pki.ca_cert.string(), "smtp.username=mailer",
                                                       "smtp.password_file=" + password.string()}));
    // One after the other, so the second mail finds the first one's connection idle in the pool.
    enqueue_code_mail(t.data, {"one@example.jp"});
    BOOST_TEST_REQUIRE(wait_for_mails(t.mails, 1, 5s).size() == 1u, server.log_text());
    enqueue_code_mail(t.data, {"two@example.jp"});
    BOOST_TEST_REQUIRE(wait_for_mails(t.mails, 2, 5s).size() == 2u, server.log_text());
    BOOST_TEST(metric(server, "nidan_smtp_connections_total") == 1);
    BOOST_TEST(relay.count_events("connect") == 1u);
    BOOST_TEST(relay.count_events("AUTH") == 1u);
}
