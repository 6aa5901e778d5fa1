// The transport and file hardening against the real `nidan serve` on 127.0.0.1: HSTS under TLS
// and behind_tls, Secure __Host- cookies and the https-only Origin check there, plain HTTP off
// loopback refused at startup, the per-client connection cap (and its trusted-proxy exemption),
// the 0640 log files and the start's warnings about exposed files, storage.secret_file (created
// 0600, the key out of LMDB, device cookies across a restart and on a copy of the data folder
// without it, bad files refused), and plain /auth/verify off by default.
#define BOOST_TEST_MODULE transport_security
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nidan_test/browser.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/mail.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"
#include "portal_client.hpp"
#include "stored_state.hpp"
#include "tls_client.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const portal_account ip_phone{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp",
                              "09012345678", "*******5678", false};


unsigned mode_of(const fs::path& file) {
    struct stat st{};
    BOOST_TEST_REQUIRE(::stat(file.c_str(), &st) == 0, "cannot stat " << file);
    return static_cast<unsigned>(st.st_mode & 07777);
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& file, const std::string& bytes, fs::perms mode) {
    std::ofstream(file, std::ios::binary) << bytes;
    fs::permissions(file, mode, fs::perm_options::replace);
}

// `nidan serve` with the shipped configuration on 127.0.0.1:0 (unless `sets` says otherwise),
// expected to refuse to start.
command_result serve_refused(const fs::path& data, const std::vector<std::string>& sets) {
    std::vector<std::string> args{"serve", "--config", source_dir() + "/conf/nidan.toml",
                                  "--set", "storage.data_dir=" + data.string(), "--set", "server.listen=127.0.0.1:0",
                                  "--set", "server.templates_dir=" + source_dir() + "/templates",
                                  "--set", "server.static_dir=" + source_dir() + "/static"};
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    return run_nidan(args, "", 30s);
}

std::string hsts_of(unsigned short port, const std::string& path) {
    const auto reply = get(port, path);
    BOOST_TEST_REQUIRE(reply.has_value());
    return reply->header("strict-transport-security");
}

// A keep-alive GET /healthz on `c`; true when it is answered 200.
bool healthz_on(connection& c) {
    c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto reply = c.read_reply();
    return reply && reply->status == 200;
}

// The --set that turns on storage.secret_file at `file`.
std::string secret_at(const fs::path& file) { return "storage.secret_file=" + file.string(); }

bool server_secret_in_lmdb(const std::string& data_dir) {
    const auto state = data_folder(data_dir).snapshot();
    const auto& meta = state.tables.at("meta");
    return meta.count(std::string(nidan::storage::meta_server_secret)) != 0;
}

// A password step from a browser that holds only the device cookie `device` (secure names:
// behind_tls or TLS would call it __Host-nidan_device; these servers are plain loopback).
http_reply password_step_with_device(unsigned short port, const std::string& device) {
    browser b(port);
    b.set_cookie(nidan::cookie_names::device, device);
    return submit_login(b, ip_phone, open_login(b, ip_phone), ip_phone.id, account_password);
}

const std::string known_device_line = "event=login.password_ok portal=ip-phone id=taro client=127.0.0.1 rehashed=false known_device=";

}  // namespace

BOOST_AUTO_TEST_CASE(hsts_is_sent_under_tls_and_behind_tls_only) {
    temp_dir dir;
    {
        certificate cert(dir);
        server_process server((dir / "tls-data").string(), cert.settings());
        tls_browser b(cert, server.port());
        BOOST_TEST(b.get("/healthz").header("strict-transport-security") == "max-age=31536000");
        // Every response, error pages included.
        const auto missing = b.get("/no-such-page");
        BOOST_TEST(missing.status == 404);
        BOOST_TEST(missing.header("strict-transport-security") == "max-age=31536000");
    }
    {
        server_process server((dir / "proxied").string(), {"server.behind_tls=true", "server.hsts_max_age_s=600"});
        BOOST_TEST(hsts_of(server.port(), "/healthz") == "max-age=600");
        BOOST_TEST(hsts_of(server.port(), ip_phone.login_path) == "max-age=600");
        BOOST_TEST(hsts_of(server.port(), "/no-such-page") == "max-age=600");
    }
    {
        server_process server((dir / "proxied-off").string(), {"server.behind_tls=true", "server.hsts_max_age_s=0"});
        const auto reply = get(server.port(), "/healthz");
        BOOST_TEST_REQUIRE(reply.has_value());
        BOOST_TEST(reply->status == 200);
        BOOST_TEST(reply->headers.count("strict-transport-security") == 0u);
    }
    {
        server_process server((dir / "plain").string());
        const auto reply = get(server.port(), ip_phone.login_path);
        BOOST_TEST_REQUIRE(reply.has_value());
        BOOST_TEST(reply->status == 200);
        BOOST_TEST(reply->headers.count("strict-transport-security") == 0u);
    }
}

BOOST_AUTO_TEST_CASE(cookies_are_secure_host_cookies_behind_tls) {
    login_world w({ip_phone.for_world()}, {"server.behind_tls=true"});
    browser b(w.port());
    const auto page = b.get(ip_phone.login_path);
    BOOST_TEST_REQUIRE(page.status == 200);
    BOOST_TEST(!set_cookie_named(page, nidan::cookie_names::login_form).has_value());
    const auto login_cookie = set_cookie_named(page, "__Host-nidan_login");
    BOOST_TEST_REQUIRE(login_cookie.has_value());
    BOOST_TEST(login_cookie->has("secure"));
    BOOST_TEST(login_cookie->attribute("path") == "/");
    BOOST_TEST(!login_cookie->has("domain"));  // __Host- forbids it; browsers drop such a cookie

    const auto csrf = input_value(page.body, "csrf").value_or("");
    const auto posted = submit_login(b, ip_phone, csrf, ip_phone.id, account_password);
    BOOST_TEST_REQUIRE(posted.status == 303, posted.body);
    const auto pending = set_cookie_named(posted, "__Host-nidan_session");
    BOOST_TEST_REQUIRE(pending.has_value());
    BOOST_TEST(pending->has("secure"));
    BOOST_TEST(pending->has("httponly"));

    const auto code = w.next_code(ip_phone.email);
    const auto done = submit_code(b, ip_phone, code_csrf(b, ip_phone), code.code);
    BOOST_TEST_REQUIRE(done.status == 303, done.body);
    BOOST_TEST(done.header("location") == ip_phone.home_path());
    for (const std::string name : {"__Host-nidan_session", "__Host-nidan_device"}) {
        const auto c = set_cookie_named(done, name);
        BOOST_TEST_REQUIRE(c.has_value(), name);
        BOOST_TEST(c->has("secure"), name);
        BOOST_TEST(c->attribute("path") == "/", name);
    }
    for (const std::string bare : {nidan::cookie_names::session, nidan::cookie_names::device, nidan::cookie_names::login_form})
        BOOST_TEST(!b.cookie(bare).has_value(), bare);
    BOOST_TEST(b.get(ip_phone.verify_path()).status == 200);
    BOOST_TEST(b.get(ip_phone.home_path()).status == 200);

    // The session counts only under its __Host- name: the bare name (which a subdomain or a
    // plain-http page could plant) is not read.
    const auto session = b.cookie("__Host-nidan_session").value_or("");
    browser bare(w.port());
    bare.set_cookie(nidan::cookie_names::session, session);
    BOOST_TEST(bare.get(ip_phone.verify_path()).status == 401);
}

BOOST_AUTO_TEST_CASE(a_login_over_tls_uses_secure_host_cookies) {
    temp_dir keys;
    certificate cert(keys);
    login_world w({ip_phone.for_world()}, cert.settings());
    tls_browser b(cert, w.port());
    const auto page = b.get(ip_phone.login_path);
    const auto login_cookie = set_cookie_named(page, "__Host-nidan_login");
    BOOST_TEST_REQUIRE(login_cookie.has_value());
    BOOST_TEST(login_cookie->has("secure"));

    const auto session = log_in(w, b, ip_phone);
    BOOST_TEST(!session.empty());
    BOOST_TEST(b.cookie("__Host-nidan_session").value_or("") == session);
    BOOST_TEST(b.cookie("__Host-nidan_device").has_value());
    BOOST_TEST(!b.cookie(nidan::cookie_names::session).has_value());
    const auto verified = b.get(ip_phone.verify_path());
    BOOST_TEST(verified.status == 200);
    BOOST_TEST(verified.header("x-nidan-selfcare-id") == ip_phone.id);
}

BOOST_AUTO_TEST_CASE(plain_loopback_cookies_are_not_secure) {
    temp_dir dir;
    server_process server((dir / "data").string());
    browser b(server.port());
    const auto page = b.get(ip_phone.login_path);
    BOOST_TEST_REQUIRE(page.status == 200);
    BOOST_TEST(!set_cookie_named(page, "__Host-nidan_login").has_value());
    const auto login_cookie = set_cookie_named(page, nidan::cookie_names::login_form);
    BOOST_TEST_REQUIRE(login_cookie.has_value());
    // A browser drops a Secure cookie set over http://, and nobody could log in.
    BOOST_TEST(!login_cookie->has("secure"));
}

BOOST_AUTO_TEST_CASE(behind_tls_an_http_origin_is_refused_and_stores_nothing) {
    login_world w({ip_phone.for_world()}, {"server.behind_tls=true"});
    const auto host = "127.0.0.1:" + std::to_string(w.port());
    const data_folder data(w.data_dir());
    browser b(w.port());
    const auto csrf = open_login(b, ip_phone);

    const auto before = data.snapshot();
    const auto refused = submit_login(b, ip_phone, csrf, ip_phone.id, account_password, {{"Origin", "http://" + host}});
    BOOST_TEST(refused.status == 403);
    BOOST_TEST(!b.cookie("__Host-nidan_session").has_value());
    const auto changes = changes_between(before, data.snapshot());
    BOOST_TEST(changes.empty(), "the refused login stored:" << as_lines(changes));
    BOOST_TEST(w.no_mail_for(300ms));

    const auto accepted = submit_login(b, ip_phone, csrf, ip_phone.id, account_password, {{"Origin", "https://" + host}});
    BOOST_TEST(accepted.status == 303, accepted.body);
    BOOST_TEST(accepted.header("location") == ip_phone.code_path());
    BOOST_TEST(w.next_code(ip_phone.email).code.size() == 6u);
}

BOOST_AUTO_TEST_CASE(plain_http_off_loopback_is_refused_at_startup) {
    // The check is the configuration's, before anything binds: nothing listens on 0.0.0.0.
    temp_dir dir;
    for (const std::string listen : {"server.listen=0.0.0.0:0", "server.listen=[::]:0"}) {
        BOOST_TEST_CONTEXT(listen) {
            const auto result = serve_refused(dir / "data", {listen});
            BOOST_TEST(result.exit_code == 2);  // a configuration error
            BOOST_TEST(contains(result.err, "server.allow_plain_http"), result.err);
            BOOST_TEST(contains(result.err, "server.behind_tls"), result.err);
            BOOST_TEST(!contains(result.out, "listening on"), result.out);
        }
    }
    // (server.allow_plain_http = true and behind_tls = true are accepted for 0.0.0.0 by the
    // config unit test plain_http_on_the_network_needs_tls_or_permission; they are not started
    // here, since that would listen on every interface.)
}

BOOST_AUTO_TEST_CASE(one_client_is_capped_others_still_get_in) {
    temp_dir dir;
    server_process server((dir / "data").string(), {"server.max_connections_per_client=4"});
    std::vector<std::unique_ptr<connection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<connection>(server.port()));
        BOOST_TEST_REQUIRE(healthz_on(*held.back()), "connection " << i);
    }
    {
        connection fifth(server.port(), 5s);
        const auto reply = fifth.read_reply();
        BOOST_TEST_REQUIRE(reply.has_value());
        BOOST_TEST(reply->status == 503);
        BOOST_TEST(reply->header("connection") == "close");
        BOOST_TEST(fifth.closed_by_peer(5s));
    }
    // The four held connections still work.
    for (auto& c : held) BOOST_TEST(healthz_on(*c));

    try {
        connection other(server.port(), 10s, "127.0.0.2");
        other.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        const auto metrics = other.read_reply();
        BOOST_TEST_REQUIRE(metrics.has_value());
        BOOST_TEST(metrics->status == 200);
        BOOST_TEST(metric_value(metrics->body, "nidan_http_connections_refused_per_client_total") == 1, metrics->body);
        BOOST_TEST(metric_value(metrics->body, "nidan_http_connections_refused_total") == 0);
        BOOST_TEST(metric_value(metrics->body, "nidan_http_connections_open") == 5);
    } catch (const source_unavailable& e) {
        BOOST_TEST_MESSAGE("skipped the second client: " << e.what());
    }
    BOOST_TEST(contains(server.log_text(), "event=connection.refused"), server.log_text());
    BOOST_TEST(contains(server.log_text(), "client=127.0.0.1"));

    // Closing one lets a new one in (once the server has seen the close).
    held.pop_back();
    const bool admitted = eventually(
        [&] {
            try {
                connection again(server.port(), 5s);
                return healthz_on(again);
            } catch (const std::runtime_error&) {
                return false;  // refused and reset before the request went out
            }
        },
        10s, 50ms);
    BOOST_TEST(admitted);
}

BOOST_AUTO_TEST_CASE(a_trusted_proxy_is_not_capped_per_client) {
    temp_dir dir;
    server_process server((dir / "data").string(),
                          {"server.max_connections_per_client=4", "server.trusted_proxies=127.0.0.1"});
    std::vector<std::unique_ptr<connection>> held;
    for (int i = 0; i < 7; ++i) {
        held.push_back(std::make_unique<connection>(server.port()));
        BOOST_TEST_REQUIRE(healthz_on(*held.back()), "connection " << i);
    }
    held.back()->send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto metrics = held.back()->read_reply();
    BOOST_TEST_REQUIRE(metrics.has_value());
    BOOST_TEST(metric_value(metrics->body, "nidan_http_connections_refused_per_client_total") == 0);
    BOOST_TEST(metric_value(metrics->body, "nidan_http_connections_open") == 7);
    // Other clients are still capped.
    try {
        std::vector<std::unique_ptr<connection>> other;
        for (int i = 0; i < 4; ++i) {
            other.push_back(std::make_unique<connection>(server.port(), 10s, "127.0.0.2"));
            BOOST_TEST_REQUIRE(healthz_on(*other.back()), "127.0.0.2 connection " << i);
        }
        connection fifth(server.port(), 5s, "127.0.0.2");
        const auto reply = fifth.read_reply();
        BOOST_TEST_REQUIRE(reply.has_value());
        BOOST_TEST(reply->status == 503);
    } catch (const source_unavailable& e) {
        BOOST_TEST_MESSAGE("skipped the second client: " << e.what());
    }
}

// A dual-stack socket names an IPv4 peer ::ffff:127.0.0.1; the IPv4 entry of trusted_proxies
// must still match it. (An IPv6 socket bound to the mapped loopback address accepts only
// 127.0.0.1, so this listens nowhere else.)
BOOST_AUTO_TEST_CASE(a_trusted_proxy_seen_through_a_dual_stack_socket_is_not_capped) {
    temp_dir dir;
    server_process server((dir / "data").string(), {"server.listen=[::ffff:127.0.0.1]:0",
                                                    "server.max_connections_per_client=2",
                                                    "server.trusted_proxies=127.0.0.1"});
    std::vector<std::unique_ptr<connection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<connection>(server.port()));
        BOOST_TEST_REQUIRE(healthz_on(*held.back()), "connection " << i << "\n" << server.log_text());
    }
}

BOOST_AUTO_TEST_CASE(log_files_are_0640_and_exposed_files_are_warned_about) {
    temp_dir dir;
    const auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
    const auto data = dir / "data";
    fs::create_directories(data);
    fs::permissions(data, fs::perms::all, fs::perm_options::replace);  // 0777
    const auto password_file = dir / "smtp-password";
    write_file(password_file, "relay-secret\n", owner_rw | fs::perms::group_read | fs::perms::others_read);  // 0644
    const auto log_file = dir / "nidan.log";
    const auto audit_file = dir / "audit.log";
    {
        server_process server(data.string(), {"log.file=" + log_file.string(), "log.audit_file=" + audit_file.string(),
                                              "smtp.username=nidan", "smtp.password_file=" + password_file.string(),
                                              "smtp.allow_auth_without_tls=true"});
        BOOST_TEST(mode_of(log_file) == 0640u);
        BOOST_TEST(mode_of(audit_file) == 0640u);
        server.signal(SIGTERM);
        BOOST_TEST(server.wait_exit(20s).value_or(-1) == 0);
    }
    const auto log = read_file(log_file);
    BOOST_TEST(contains(log, "event=file.exposed what=storage.data_dir file=" + data.string() + " mode=0777"), log);
    BOOST_TEST(contains(log, "event=file.exposed what=smtp.password_file file=" + password_file.string() + " mode=0644"), log);
    BOOST_TEST(!contains(log, "what=log."), log);  // nidan made them 0640
    BOOST_TEST(!contains(log, "data.mdb"), log);   // LMDB's file is 0600
    BOOST_TEST(!contains(log, "relay-secret"));

    // A log file that already exists keeps its mode, and a 0644 one is warned about.
    const auto shared_log = dir / "shared.log";
    write_file(shared_log, "", owner_rw | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(data, fs::perms::owner_all, fs::perm_options::replace);
    {
        server_process server(data.string(), {"log.file=" + shared_log.string()});
        server.signal(SIGTERM);
        BOOST_TEST(server.wait_exit(20s).value_or(-1) == 0);
    }
    BOOST_TEST(mode_of(shared_log) == 0644u);
    const auto shared = read_file(shared_log);
    BOOST_TEST(contains(shared, "event=file.exposed what=log.file file=" + shared_log.string() + " mode=0644"), shared);
    BOOST_TEST(!contains(shared, "what=storage.data_dir"), shared);

    // The TLS private key, when others can read it.
    certificate cert(dir);
    fs::permissions(cert.key, owner_rw | fs::perms::group_read | fs::perms::others_read, fs::perm_options::replace);
    server_process tls_server((dir / "tls-data").string(), cert.settings());
    BOOST_TEST(contains(tls_server.log_text(), "event=file.exposed what=tls.key_file file=" + cert.key + " mode=0644"),
               tls_server.log_text());
}

BOOST_AUTO_TEST_CASE(secret_file_holds_the_key_outside_the_data_folder) {
    temp_dir keys;
    const auto secret = keys / "secret";
    login_world w({ip_phone.for_world()}, {secret_at(secret)});
    BOOST_TEST(mode_of(secret) == 0600u);
    BOOST_TEST(fs::file_size(secret) == 32u);
    BOOST_TEST(contains(w.server().log_text(), "event=secret.file_created file=" + secret.string() + " from_storage=no"),
               w.server().log_text());
    BOOST_TEST(!server_secret_in_lmdb(w.data_dir()));
    const auto key = read_file(secret);

    browser b(w.port());
    const auto session = log_in(w, b, ip_phone);
    const auto device = b.cookie(nidan::cookie_names::device).value_or("");
    BOOST_TEST_REQUIRE(!device.empty());

    // Restarted with the same file: the key is the same, the device cookie still counts.
    w.restart();
    BOOST_TEST(read_file(secret) == key);
    BOOST_TEST(!contains(w.server().log_text(), "secret.file_created"));
    BOOST_TEST(password_step_with_device(w.port(), device).status == 303);
    BOOST_TEST(contains(w.server().log_text(), known_device_line + "true"), w.server().log_text());
    BOOST_TEST(get_with_session(w.port(), ip_phone.verify_path(), session).status == 200);

    // A copy of the data folder without the file: a fresh key, so the device cookie is a
    // stranger's; sessions are stored as hashes of their ids, which need no key, and survive.
    w.stop();
    const auto copy = keys / "copied-data";
    fs::copy(w.data_dir(), copy, fs::copy_options::recursive);
    const auto fresh = keys / "fresh-secret";
    w.restart({secret_at(fresh)}, copy);
    BOOST_TEST(read_file(fresh) != key);
    BOOST_TEST(password_step_with_device(w.port(), device).status == 303);
    BOOST_TEST(contains(w.server().log_text(), known_device_line + "false"), w.server().log_text());
    BOOST_TEST(!contains(w.server().log_text(), known_device_line + "true"));
    BOOST_TEST(get_with_session(w.port(), ip_phone.verify_path(), session).status == 200);
}

BOOST_AUTO_TEST_CASE(a_key_in_lmdb_moves_to_the_secret_file_and_tokens_stay_valid) {
    temp_dir keys;
    login_world w({ip_phone.for_world()});
    browser b(w.port());
    log_in(w, b, ip_phone);
    const auto device = b.cookie(nidan::cookie_names::device).value_or("");
    BOOST_TEST_REQUIRE(!device.empty());
    w.stop();
    BOOST_TEST_REQUIRE(server_secret_in_lmdb(w.data_dir()));

    const auto secret = keys / "secret";
    w.restart({secret_at(secret)});
    const auto log = w.server().log_text();
    BOOST_TEST(contains(log, "event=secret.file_created file=" + secret.string() + " from_storage=yes"), log);
    BOOST_TEST(contains(log, "event=secret.moved_out_of_storage file=" + secret.string() + " tokens_kept=yes"), log);
    BOOST_TEST(mode_of(secret) == 0600u);
    BOOST_TEST(!server_secret_in_lmdb(w.data_dir()));
    BOOST_TEST(password_step_with_device(w.port(), device).status == 303);
    BOOST_TEST(contains(w.server().log_text(), known_device_line + "true"), w.server().log_text());
}

BOOST_AUTO_TEST_CASE(a_bad_secret_file_stops_startup) {
    temp_dir dir;
    const auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
    const auto good_key = std::string(32, 'k');
    const auto readable = dir / "readable";
    write_file(readable, good_key, owner_rw | fs::perms::group_read);  // 0640
    const auto short_file = dir / "short";
    write_file(short_file, std::string(16, 'k'), owner_rw);
    const auto empty_file = dir / "empty";
    write_file(empty_file, "", owner_rw);
    const auto folder = dir / "folder";
    fs::create_directory(folder);
    fs::permissions(folder, fs::perms::owner_all, fs::perm_options::replace);
    const auto good = dir / "good";
    write_file(good, good_key, owner_rw);
    const auto link = dir / "link";
    fs::create_symlink(good, link);
    const std::vector<std::pair<fs::path, std::string>> cases{
        {readable, "mode 0640"},        {short_file, "holds 16 bytes, not 32"}, {empty_file, "holds 0 bytes"},
        {folder, "not a regular file"}, {link, "cannot open"},                  {dir / "no-such" / "secret", "cannot create"}};
    for (const auto& [file, expected] : cases) {
        BOOST_TEST_CONTEXT(file) {
            const auto data = dir / ("data-" + file.filename().string());
            const auto result = serve_refused(data, {secret_at(file)});
            BOOST_TEST(result.exit_code == 1);
            BOOST_TEST(contains(result.err, "storage.secret_file"), result.err);
            BOOST_TEST(contains(result.err, expected), result.err);
            BOOST_TEST(!contains(result.out, "listening on"));
        }
    }
    // None was changed or replaced.
    BOOST_TEST(mode_of(readable) == 0640u);
    BOOST_TEST(fs::file_size(short_file) == 16u);
    BOOST_TEST(read_file(good) == good_key);
    BOOST_TEST(!fs::exists(dir / "no-such"));
}

BOOST_AUTO_TEST_CASE(plain_auth_verify_is_off_unless_configured) {
    {
        login_world w({ip_phone.for_world()});
        browser b(w.port());
        const auto session = log_in(w, b, ip_phone);
        BOOST_TEST(get_with_session(w.port(), "/auth/verify", session).status == 404);
        const auto scoped = get_with_session(w.port(), ip_phone.verify_path(), session);
        BOOST_TEST(scoped.status == 200);
        BOOST_TEST(scoped.header("x-nidan-portal") == ip_phone.portal);
        BOOST_TEST(get_with_session(w.port(), ip_phone.verify_path(), "").status == 401);
    }
    {
        login_world w({ip_phone.for_world()}, {"auth.verify_any_portal=true"});
        browser b(w.port());
        const auto session = log_in(w, b, ip_phone);
        const auto any = get_with_session(w.port(), "/auth/verify", session);
        BOOST_TEST(any.status == 200);
        BOOST_TEST(any.header("x-nidan-portal") == ip_phone.portal);
        BOOST_TEST(any.header("x-nidan-selfcare-id") == ip_phone.id);
        BOOST_TEST(get_with_session(w.port(), "/auth/verify", "").status == 401);
        BOOST_TEST(get_with_session(w.port(), ip_phone.verify_path(), session).status == 200);
    }
}
