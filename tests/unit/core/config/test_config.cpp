#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <toml++/toml.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nidan::config;
using nidan::config_error;
using nidan::config_override;
using nidan::load_config;
using nidan::storage_backend;

namespace {

// The key names are a public interface (operators' scripts use them), so they are spelled out
// here rather than taken from the implementation: renaming one must break this test.
const std::vector<std::string> all_keys{
    "server.listen",          "server.io_threads",       "server.max_connections",
    "server.max_header_bytes", "server.max_body_bytes",  "server.header_timeout_ms",
    "server.body_timeout_ms", "server.write_timeout_ms", "server.idle_timeout_ms",
    "server.shutdown_grace_ms", "server.static_dir",     "server.templates_dir",
    "server.static_max_age_s", "server.behind_tls",      "server.trusted_proxies",
    "server.public_url",      "server.hsts_max_age_s",  "server.allow_plain_http",
    "server.max_connections_per_client",
    "tls.enabled",            "tls.cert_file",           "tls.key_file",
    "storage.backend", "storage.postgres_url", "storage.postgres_password_file", "storage.postgres_pool_size",
    "storage.postgres_connect_timeout_ms", "storage.postgres_statement_timeout_ms",
    "storage.data_dir",       "storage.map_size_mib",    "storage.max_readers",
    "storage.durability",     "storage.sweep_interval_s", "storage.writer_max_batch",
    "storage.writer_max_queue", "storage.secret_file",   "hash.threads",          "hash.memory_kib",
    "hash.iterations",        "hash.max_queue", "hash.thread_nice", "hash.thread_scheduling", "hash.max_cost_factor",
    "hash.import_min_memory_kib", "hash.import_min_iterations", "smtp.relay",
    "smtp.tls",               "smtp.verify_certificate", "smtp.ca_file",
    "smtp.username",          "smtp.password_file",      "smtp.allow_auth_without_tls",
    "smtp.helo_name",         "smtp.pool_size",          "smtp.max_messages_per_connection",
    "smtp.connection_max_age_s", "smtp.idle_timeout_s",  "smtp.connect_timeout_ms",
    "smtp.tls_timeout_ms",    "smtp.greeting_timeout_ms", "smtp.command_timeout_ms",
    "smtp.data_timeout_ms",   "smtp.retry_backoff_s",    "smtp.max_attempts",
    "operator.language",      "operator.timezone",       "operator.mail_domain",
    "operator.support_phone", "operator.enquiry_url",    "mail.from_address",
    "code.length",            "code.lifetime_s",
    "code.max_attempts",      "code.mails_per_hour",     "session.idle_timeout_s",
    "session.absolute_lifetime_s", "password.min_length", "address.phone_strikes",
    "address_change.hold_hours", "address_change.only_without_working_address",
    "throttle.address_free_failures", "throttle.address_base_delay_ms", "throttle.address_max_delay_ms",
    "throttle.address_window_s", "throttle.account_free_failures", "throttle.account_base_delay_ms",
    "throttle.account_max_delay_ms", "throttle.account_window_s", "throttle.address_queue_max",
    "throttle.account_parallel_checks", "throttle.account_budget", "throttle.account_lock_after",
    "auth.verify_any_portal",
    "log.level",              "log.file",                "log.audit_file",
    "log.access_log",         "log.flush_interval_ms",
};

// The keys of a [[portal]] and of a [[portal.menu]] entry, spelled out for the same reason.
const std::vector<std::string> all_portal_keys{
    "portal.id",   "portal.login_path", "portal.language", "portal.home",
    "portal.manual_url", "portal.menu.id", "portal.menu.url",
};

fs::path shipped_config() { return fs::path(NIDAN_SOURCE_DIR) / "conf" / "nidan.toml"; }

// A private folder per test case, removed afterwards.
struct temp_dir {
    fs::path path;

    temp_dir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() / ("nidan_test_config_" + std::to_string(::getpid()) +
                                            "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    fs::path write(const std::string& name, const std::string& content) const {
        const fs::path file = path / name;
        std::ofstream(file, std::ios::binary) << content;
        return file;
    }
};

std::optional<config_error> caught(const std::function<void()>& action) {
    try {
        action();
    } catch (const config_error& e) {
        return e;
    }
    return std::nullopt;
}

std::vector<config_override> sets(const std::vector<std::string>& texts) {
    std::vector<config_override> out;
    for (const auto& t : texts) out.push_back(nidan::parse_override(t));
    return out;
}

// Loading `toml` must fail on `key`, with `fragment` somewhere in the message.
void expect_bad_file(const std::string& toml, const std::string& key,
                     const std::string& fragment = "") {
    BOOST_TEST_CONTEXT("file:\n" << toml) {
        temp_dir dir;
        const fs::path file = dir.write("bad.toml", toml);
        const auto e = caught([&] { load_config(file, {}); });
        BOOST_TEST_REQUIRE(e.has_value());
        BOOST_TEST(e->key() == key);
        BOOST_TEST(std::string(e->what()).find(fragment) != std::string::npos,
                   "message '" << e->what() << "' lacks '" << fragment << "'");
    }
}

void expect_bad_override(const std::string& text, const std::string& key,
                         const std::string& fragment = "") {
    BOOST_TEST_CONTEXT("--set " << text) {
        const auto e = caught([&] { load_config({}, sets({text})); });
        BOOST_TEST_REQUIRE(e.has_value());
        BOOST_TEST(e->key() == key);
        BOOST_TEST(std::string(e->what()).find(fragment) != std::string::npos,
                   "message '" << e->what() << "' lacks '" << fragment << "'");
    }
}

std::vector<std::int64_t> seconds_of(const std::vector<std::chrono::seconds>& list) {
    std::vector<std::int64_t> out;
    for (const auto d : list) out.push_back(d.count());
    return out;
}

// Field by field, so a failure names the field.
void check_same(const config& a, const config& b) {
    BOOST_TEST(a.server.listen.to_string() == b.server.listen.to_string());
    BOOST_TEST(a.server.io_threads == b.server.io_threads);
    BOOST_TEST(a.server.max_connections == b.server.max_connections);
    BOOST_TEST(a.server.max_header_bytes == b.server.max_header_bytes);
    BOOST_TEST(a.server.max_body_bytes == b.server.max_body_bytes);
    BOOST_TEST(a.server.header_timeout.count() == b.server.header_timeout.count());
    BOOST_TEST(a.server.body_timeout.count() == b.server.body_timeout.count());
    BOOST_TEST(a.server.write_timeout.count() == b.server.write_timeout.count());
    BOOST_TEST(a.server.idle_timeout.count() == b.server.idle_timeout.count());
    BOOST_TEST(a.server.shutdown_grace.count() == b.server.shutdown_grace.count());
    BOOST_TEST(a.server.static_dir.string() == b.server.static_dir.string());
    BOOST_TEST(a.server.templates_dir.string() == b.server.templates_dir.string());
    BOOST_TEST(a.server.static_max_age.count() == b.server.static_max_age.count());
    BOOST_TEST(a.server.behind_tls == b.server.behind_tls);
    BOOST_TEST(a.server.hsts_max_age.count() == b.server.hsts_max_age.count());
    BOOST_TEST(a.server.allow_plain_http == b.server.allow_plain_http);
    BOOST_TEST(a.server.max_connections_per_client == b.server.max_connections_per_client);
    BOOST_TEST(a.storage.secret_file.string() == b.storage.secret_file.string());
    BOOST_TEST(a.auth.verify_any_portal == b.auth.verify_any_portal);
    BOOST_TEST(a.server.trusted_proxies == b.server.trusted_proxies,
               boost::test_tools::per_element());
    BOOST_TEST(a.tls.enabled == b.tls.enabled);
    BOOST_TEST(a.tls.cert_file.string() == b.tls.cert_file.string());
    BOOST_TEST(a.tls.key_file.string() == b.tls.key_file.string());
    BOOST_TEST((a.storage.backend == b.storage.backend));
    BOOST_TEST(a.storage.postgres_url == b.storage.postgres_url);
    BOOST_TEST(a.storage.postgres_password_file.string() == b.storage.postgres_password_file.string());
    BOOST_TEST(a.storage.postgres_pool_size == b.storage.postgres_pool_size);
    BOOST_TEST(a.storage.postgres_connect_timeout.count() == b.storage.postgres_connect_timeout.count());
    BOOST_TEST(a.storage.postgres_statement_timeout.count() == b.storage.postgres_statement_timeout.count());
    BOOST_TEST(a.storage.data_dir.string() == b.storage.data_dir.string());
    BOOST_TEST(a.storage.map_size_mib == b.storage.map_size_mib);
    BOOST_TEST(a.storage.max_readers == b.storage.max_readers);
    BOOST_TEST(static_cast<int>(a.storage.durability) == static_cast<int>(b.storage.durability));
    BOOST_TEST(a.storage.sweep_interval.count() == b.storage.sweep_interval.count());
    BOOST_TEST(a.storage.writer_max_batch == b.storage.writer_max_batch);
    BOOST_TEST(a.storage.writer_max_queue == b.storage.writer_max_queue);
    BOOST_TEST(a.hash.threads == b.hash.threads);
    BOOST_TEST(a.hash.memory_kib == b.hash.memory_kib);
    BOOST_TEST(a.hash.iterations == b.hash.iterations);
    BOOST_TEST(a.hash.max_queue == b.hash.max_queue);
    BOOST_TEST(a.hash.thread_nice == b.hash.thread_nice);
    BOOST_TEST(static_cast<int>(a.hash.scheduling) == static_cast<int>(b.hash.scheduling));
    BOOST_TEST(a.hash.max_cost_factor == b.hash.max_cost_factor);
    BOOST_TEST(a.hash.import_min_memory_kib == b.hash.import_min_memory_kib);
    BOOST_TEST(a.hash.import_min_iterations == b.hash.import_min_iterations);
    BOOST_TEST(a.smtp.relay.to_string() == b.smtp.relay.to_string());
    BOOST_TEST(static_cast<int>(a.smtp.tls) == static_cast<int>(b.smtp.tls));
    BOOST_TEST(a.smtp.verify_certificate == b.smtp.verify_certificate);
    BOOST_TEST(a.smtp.ca_file.string() == b.smtp.ca_file.string());
    BOOST_TEST(a.smtp.username == b.smtp.username);
    BOOST_TEST(a.smtp.password_file.string() == b.smtp.password_file.string());
    BOOST_TEST(a.smtp.allow_auth_without_tls == b.smtp.allow_auth_without_tls);
    BOOST_TEST(a.smtp.helo_name == b.smtp.helo_name);
    BOOST_TEST(a.smtp.pool_size == b.smtp.pool_size);
    BOOST_TEST(a.smtp.max_messages_per_connection == b.smtp.max_messages_per_connection);
    BOOST_TEST(a.smtp.connection_max_age.count() == b.smtp.connection_max_age.count());
    BOOST_TEST(a.smtp.idle_timeout.count() == b.smtp.idle_timeout.count());
    BOOST_TEST(a.smtp.connect_timeout.count() == b.smtp.connect_timeout.count());
    BOOST_TEST(a.smtp.tls_timeout.count() == b.smtp.tls_timeout.count());
    BOOST_TEST(a.smtp.greeting_timeout.count() == b.smtp.greeting_timeout.count());
    BOOST_TEST(a.smtp.command_timeout.count() == b.smtp.command_timeout.count());
    BOOST_TEST(a.smtp.data_timeout.count() == b.smtp.data_timeout.count());
    BOOST_TEST(seconds_of(a.smtp.retry_backoff) == seconds_of(b.smtp.retry_backoff),
               boost::test_tools::per_element());
    BOOST_TEST(a.smtp.max_attempts == b.smtp.max_attempts);
    BOOST_TEST(a.operator_info.language == b.operator_info.language);
    BOOST_TEST(a.operator_info.timezone == b.operator_info.timezone);
    BOOST_TEST(a.operator_info.mail_domain == b.operator_info.mail_domain);
    BOOST_TEST(a.operator_info.support_phone == b.operator_info.support_phone);
    BOOST_TEST(a.operator_info.enquiry_url == b.operator_info.enquiry_url);
    BOOST_TEST(a.mail.from_address == b.mail.from_address);
    BOOST_TEST(a.code.length == b.code.length);
    BOOST_TEST(a.code.lifetime.count() == b.code.lifetime.count());
    BOOST_TEST(a.code.max_attempts == b.code.max_attempts);
    BOOST_TEST(a.code.mails_per_hour == b.code.mails_per_hour);
    BOOST_TEST(a.session.idle_timeout.count() == b.session.idle_timeout.count());
    BOOST_TEST(a.session.absolute_lifetime.count() == b.session.absolute_lifetime.count());
    BOOST_TEST(a.password.min_length == b.password.min_length);
    BOOST_TEST(a.address.phone_strikes == b.address.phone_strikes);
    BOOST_TEST(a.address_change.hold.count() == b.address_change.hold.count());
    BOOST_TEST(a.address_change.only_without_working_address == b.address_change.only_without_working_address);
    BOOST_TEST(a.server.public_url == b.server.public_url);
    BOOST_TEST(a.throttle.address_free_failures == b.throttle.address_free_failures);
    BOOST_TEST(a.throttle.address_base_delay.count() == b.throttle.address_base_delay.count());
    BOOST_TEST(a.throttle.address_max_delay.count() == b.throttle.address_max_delay.count());
    BOOST_TEST(a.throttle.address_window.count() == b.throttle.address_window.count());
    BOOST_TEST(a.throttle.account_free_failures == b.throttle.account_free_failures);
    BOOST_TEST(a.throttle.account_base_delay.count() == b.throttle.account_base_delay.count());
    BOOST_TEST(a.throttle.account_max_delay.count() == b.throttle.account_max_delay.count());
    BOOST_TEST(a.throttle.account_window.count() == b.throttle.account_window.count());
    BOOST_TEST(a.throttle.address_queue_max == b.throttle.address_queue_max);
    BOOST_TEST(a.throttle.account_parallel_checks == b.throttle.account_parallel_checks);
    BOOST_TEST(a.throttle.account_budget == b.throttle.account_budget);
    BOOST_TEST(a.throttle.account_lock_after == b.throttle.account_lock_after);
    BOOST_TEST(a.log.level == b.log.level);
    BOOST_TEST(a.log.file.string() == b.log.file.string());
    BOOST_TEST(a.log.audit_file.string() == b.log.audit_file.string());
    BOOST_TEST(a.log.access_log == b.log.access_log);
    BOOST_TEST(a.log.flush_interval.count() == b.log.flush_interval.count());
    BOOST_TEST_REQUIRE(a.portals.size() == b.portals.size());
    for (std::size_t i = 0; i < a.portals.size(); ++i) {
        const auto& p = a.portals[i];
        const auto& q = b.portals[i];
        BOOST_TEST_CONTEXT("portal[" << i << "]") {
            BOOST_TEST(p.id == q.id);
            BOOST_TEST(p.login_path == q.login_path);
            BOOST_TEST(p.language == q.language);
            BOOST_TEST(p.home == q.home);
            BOOST_TEST(p.manual_url == q.manual_url);
            BOOST_TEST_REQUIRE(p.menu.size() == q.menu.size());
            for (std::size_t j = 0; j < p.menu.size(); ++j) {
                BOOST_TEST(p.menu[j].id == q.menu[j].id);
                BOOST_TEST(p.menu[j].url == q.menu[j].url);
            }
        }
    }
}

// Every key set, none to its default, so a key that is silently ignored shows up.
const std::string custom_toml = R"(
[server]
listen = "[::1]:9090"
io_threads = 4
max_connections = 500
max_header_bytes = 4096
max_body_bytes = 32768
header_timeout_ms = 1500
body_timeout_ms = 2500
write_timeout_ms = 3500
idle_timeout_ms = 4500
shutdown_grace_ms = 5500
static_dir = "web/static"
templates_dir = "web/templates"
static_max_age_s = 0
behind_tls = true
trusted_proxies = ["10.0.0.7", "2001:db8::7", "::ffff:192.0.2.9"]
public_url = "https://selfcare.example.jp/portal"
hsts_max_age_s = 600
allow_plain_http = true
max_connections_per_client = 32

[tls]
enabled = true
cert_file = "tls/cert.pem"
key_file = "tls/key.pem"

[storage]
backend = "postgres"
postgres_url = "postgresql://nidan@db.example.jp/nidan?sslmode=verify-full"
postgres_password_file = "keys/db.password"
postgres_pool_size = 12
postgres_connect_timeout_ms = 3000
postgres_statement_timeout_ms = 2500
data_dir = "var/db"
secret_file = "keys/server.secret"
map_size_mib = 64
max_readers = 126
durability = "no_meta_sync"
sweep_interval_s = 30
writer_max_batch = 32
writer_max_queue = 2000

[hash]
threads = 3
memory_kib = 65536
iterations = 3
max_queue = 16
thread_nice = 5
thread_scheduling = "idle"
max_cost_factor = 8
import_min_memory_kib = 16384
import_min_iterations = 2

[smtp]
relay = "mail.example.org:587"
tls = "starttls"
verify_certificate = false
ca_file = "tls/relay-ca.pem"
username = "mailer"
password_file = "secrets/smtp.pass"
allow_auth_without_tls = true
helo_name = "login.example.org"
pool_size = 8
max_messages_per_connection = 50
connection_max_age_s = 600
idle_timeout_s = 10
connect_timeout_ms = 2000
tls_timeout_ms = 3000
greeting_timeout_ms = 4000
command_timeout_ms = 5000
data_timeout_ms = 6000
retry_backoff_s = [2, 2, 10, 120]
max_attempts = 7

[operator]
language = "en"
timezone = "Europe/Paris"
mail_domain = "mail.example.org"
support_phone = "03-1234-5678"
enquiry_url = "http://support.example.org/contact?from=mail"

[mail]
from_address = "codes@mail.example.org"

[code]
length = 8
lifetime_s = 600
max_attempts = 3
mails_per_hour = 12

[session]
idle_timeout_s = 900
absolute_lifetime_s = 28800

[password]
min_length = 12

[address]
phone_strikes = 5

[address_change]
hold_hours = 24
only_without_working_address = true

[throttle]
address_free_failures = 20
address_base_delay_ms = 500
address_max_delay_ms = 10000
address_window_s = 600
account_free_failures = 3
account_base_delay_ms = 2000
account_max_delay_ms = 120000
account_window_s = 1800
address_queue_max = 2
account_parallel_checks = 3
account_budget = 40
account_lock_after = 25

[auth]
verify_any_portal = true

[log]
level = "debug"
file = "logs/nidan.log"
audit_file = "logs/audit.log"
access_log = false
flush_interval_ms = 250
)";

config custom_expected() {
    config c;
    c.server.listen = {"::1", 9090};
    c.server.io_threads = 4;
    c.server.max_connections = 500;
    c.server.max_header_bytes = 4096;
    c.server.max_body_bytes = 32768;
    c.server.header_timeout = 1500ms;
    c.server.body_timeout = 2500ms;
    c.server.write_timeout = 3500ms;
    c.server.idle_timeout = 4500ms;
    c.server.shutdown_grace = 5500ms;
    c.server.static_dir = "web/static";
    c.server.templates_dir = "web/templates";
    c.server.static_max_age = 0s;
    c.server.behind_tls = true;
    c.server.trusted_proxies = {"10.0.0.7", "2001:db8::7", "::ffff:192.0.2.9"};
    c.server.public_url = "https://selfcare.example.jp/portal";
    c.server.hsts_max_age = 600s;
    c.server.allow_plain_http = true;
    c.server.max_connections_per_client = 32;
    c.storage.secret_file = "keys/server.secret";
    c.auth.verify_any_portal = true;
    c.tls.enabled = true;
    c.tls.cert_file = "tls/cert.pem";
    c.tls.key_file = "tls/key.pem";
    c.storage.backend = storage_backend::postgres;
    c.storage.postgres_url = "postgresql://nidan@db.example.jp/nidan?sslmode=verify-full";
    c.storage.postgres_password_file = "keys/db.password";
    c.storage.postgres_pool_size = 12;
    c.storage.postgres_connect_timeout = std::chrono::milliseconds(3000);
    c.storage.postgres_statement_timeout = std::chrono::milliseconds(2500);
    c.storage.data_dir = "var/db";
    c.storage.map_size_mib = 64;
    c.storage.max_readers = 126;
    c.storage.durability = nidan::durability_mode::no_meta_sync;
    c.storage.sweep_interval = 30s;
    c.storage.writer_max_batch = 32;
    c.storage.writer_max_queue = 2000;
    c.hash.threads = 3;
    c.hash.memory_kib = 65536;
    c.hash.iterations = 3;
    c.hash.max_queue = 16;
    c.hash.thread_nice = 5;
    c.hash.scheduling = nidan::hash_scheduling::idle;
    c.hash.max_cost_factor = 8;
    c.hash.import_min_memory_kib = 16384;
    c.hash.import_min_iterations = 2;
    c.smtp.relay = {"mail.example.org", 587};
    c.smtp.tls = nidan::smtp_tls_mode::starttls;
    c.smtp.verify_certificate = false;
    c.smtp.ca_file = "tls/relay-ca.pem";
    c.smtp.username = "mailer";
    c.smtp.password_file = "secrets/smtp.pass";
    c.smtp.allow_auth_without_tls = true;
    c.smtp.helo_name = "login.example.org";
    c.smtp.pool_size = 8;
    c.smtp.max_messages_per_connection = 50;
    c.smtp.connection_max_age = 600s;
    c.smtp.idle_timeout = 10s;
    c.smtp.connect_timeout = 2000ms;
    c.smtp.tls_timeout = 3000ms;
    c.smtp.greeting_timeout = 4000ms;
    c.smtp.command_timeout = 5000ms;
    c.smtp.data_timeout = 6000ms;
    c.smtp.retry_backoff = {2s, 2s, 10s, 120s};
    c.smtp.max_attempts = 7;
    c.operator_info.language = "en";
    c.operator_info.timezone = "Europe/Paris";
    c.operator_info.mail_domain = "mail.example.org";
    c.operator_info.support_phone = "03-1234-5678";
    c.operator_info.enquiry_url = "http://support.example.org/contact?from=mail";
    c.mail.from_address = "codes@mail.example.org";
    c.code.length = 8;
    c.code.lifetime = 600s;
    c.code.max_attempts = 3;
    c.code.mails_per_hour = 12;
    c.session.idle_timeout = 900s;
    c.session.absolute_lifetime = 28800s;
    c.password.min_length = 12;
    c.address.phone_strikes = 5;
    c.address_change.hold = std::chrono::hours{24};
    c.address_change.only_without_working_address = true;
    c.throttle.address_free_failures = 20;
    c.throttle.address_base_delay = 500ms;
    c.throttle.address_max_delay = 10000ms;
    c.throttle.address_window = 600s;
    c.throttle.account_free_failures = 3;
    c.throttle.account_base_delay = 2000ms;
    c.throttle.account_max_delay = 120000ms;
    c.throttle.account_window = 1800s;
    c.throttle.address_queue_max = 2;
    c.throttle.account_parallel_checks = 3;
    c.throttle.account_budget = 40;
    c.throttle.account_lock_after = 25;
    c.log.level = "debug";
    c.log.file = "logs/nidan.log";
    c.log.audit_file = "logs/audit.log";
    c.log.access_log = false;
    c.log.flush_interval = std::chrono::milliseconds(250);
    return c;
}

// The TOML value as an operator would type it after --set.
std::string as_command_line(const toml::node& node) {
    if (const auto* s = node.as_string()) return s->get();
    if (const auto* i = node.as_integer()) return std::to_string(i->get());
    if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
    if (const auto* a = node.as_array()) {  // a list is comma-separated on the command line
        std::string out;
        for (const auto& element : *a) {
            if (!out.empty()) out += ",";
            out += as_command_line(element);
        }
        return out;
    }
    BOOST_FAIL("unexpected TOML type in test file");
    return {};
}

// The "section.key" names of the file; the [[portal]] array is not a section and is skipped.
std::vector<std::string> keys_in(const toml::table& root) {
    std::vector<std::string> out;
    for (const auto& [section, node] : root) {
        if (section.str() == "portal" && node.is_array_of_tables()) continue;
        BOOST_TEST_REQUIRE(node.is_table());
        for (const auto& [key, value] : *node.as_table())
            out.push_back(std::string(section.str()) + "." + std::string(key.str()));
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_only) {
    const config c = load_config({}, {});
    check_same(c, config{});
    BOOST_TEST(c.server.listen.to_string() == "127.0.0.1:8080");
    BOOST_TEST(c.hash.memory_kib == 19456u);
}

BOOST_AUTO_TEST_CASE(shipped_file_loads_with_expected_values) {
    const config c = load_config(shipped_config(), {});
    config expected;
    expected.smtp.relay = {"127.0.0.1", 2525};  // the demo's local SMTP capture sink
    expected.storage.data_dir = "data";
    check_same(c, expected);
}

BOOST_AUTO_TEST_CASE(shipped_file_lists_every_key_with_a_comment) {
    const toml::table root = toml::parse_file(shipped_config().string());
    const auto present = keys_in(root);
    BOOST_TEST(std::set<std::string>(present.begin(), present.end()) ==
                   std::set<std::string>(all_keys.begin(), all_keys.end()),
               boost::test_tools::per_element());

    // Every portal key is shown too (across the three portals).
    std::set<std::string> portal_keys;
    for (const auto& portal : *root["portal"].as_array()) {
        for (const auto& [key, value] : *portal.as_table()) {
            if (key.str() != "menu") {
                portal_keys.insert("portal." + std::string(key.str()));
                continue;
            }
            for (const auto& item : *value.as_array())
                for (const auto& [menu_key, ignored] : *item.as_table())
                    portal_keys.insert("portal.menu." + std::string(menu_key.str()));
        }
    }
    BOOST_TEST(portal_keys == std::set<std::string>(all_portal_keys.begin(), all_portal_keys.end()),
               boost::test_tools::per_element());

    // Each key line must follow a comment line, so no key goes undocumented. In the [[portal]]
    // blocks the first occurrence of each key documents it; later portals repeat the keys.
    std::ifstream in(shipped_config());
    std::string line;
    std::string previous;
    std::string array_header;  // "portal" or "portal.menu" inside [[...]] blocks, else ""
    std::set<std::string> documented;
    while (std::getline(in, line)) {
        if (line.starts_with("[[")) {
            array_header = line.substr(2, line.find("]]") - 2);
        } else if (line.starts_with("[")) {
            array_header.clear();
        }
        const bool is_key = !line.empty() && line[0] != '#' && line[0] != '[' &&
                            line.find('=') != std::string::npos;
        if (is_key) {
            std::string key = line.substr(0, line.find('='));
            key.erase(key.find_last_not_of(' ') + 1);
            const bool first_time =
                array_header.empty() || documented.insert(array_header + "." + key).second;
            if (first_time) BOOST_TEST(previous.starts_with("#"), "no comment above: " << line);
        }
        previous = line;
    }
}

BOOST_AUTO_TEST_CASE(custom_file_sets_every_key) {
    temp_dir dir;
    const config c = load_config(dir.write("custom.toml", custom_toml), {});
    check_same(c, custom_expected());
    const auto present = keys_in(toml::parse(custom_toml));
    BOOST_TEST(present.size() == all_keys.size());
}

// The file and --set must read every key the same way.
BOOST_AUTO_TEST_CASE(every_key_reads_the_same_from_set) {
    const toml::table root = toml::parse(custom_toml);
    std::vector<config_override> overrides;
    for (const auto& [section, node] : root)
        for (const auto& [key, value] : *node.as_table())
            overrides.push_back({std::string(section.str()) + "." + std::string(key.str()),
                                 as_command_line(value)});
    BOOST_TEST(overrides.size() == all_keys.size());
    check_same(load_config({}, overrides), custom_expected());
}

BOOST_AUTO_TEST_CASE(overrides_win_over_the_file) {
    temp_dir dir;
    const fs::path file = dir.write("custom.toml", custom_toml);
    const config c = load_config(
        file, sets({
                  "server.io_threads=8",                 // integer
                  "server.idle_timeout_ms=1234",         // duration, milliseconds
                  "storage.sweep_interval_s=5",          // duration, seconds
                  "storage.durability=no_sync",          // enum
                  "smtp.tls=tls",                        // enum
                  "log.level=error",                     // string choice
                  "server.listen=0.0.0.0:0",             // host:port, port 0 allowed
                  "smtp.relay=[2001:db8::25]:25",        // host:port, IPv6
                  "storage.data_dir=./other/../data2",   // path, kept as written
                  "log.access_log=true",                 // bool
                  "tls.enabled=false",                   // bool
                  "log.file=",                           // empty path: back to stderr
                  "hash.memory_kib=8",                   // lowest allowed
                  "smtp.retry_backoff_s=1, 1,3600",      // list; spaces around elements
                  "smtp.username=",                      // empty string allowed: no AUTH
                  "smtp.helo_name=[IPv6:2001:db8::1]",   // address literal
                  "operator.support_phone=0120 <free>", // any one-line text
                  "code.lifetime_s=5",                   // lowest allowed
              }));
    BOOST_TEST(c.server.io_threads == 8u);
    BOOST_TEST(c.server.idle_timeout.count() == 1234);
    BOOST_TEST(c.storage.sweep_interval.count() == 5);
    BOOST_TEST((c.storage.durability == nidan::durability_mode::no_sync));
    BOOST_TEST((c.smtp.tls == nidan::smtp_tls_mode::tls));
    BOOST_TEST(c.log.level == "error");
    BOOST_TEST(c.server.listen.host == "0.0.0.0");
    BOOST_TEST(c.server.listen.port == 0);
    BOOST_TEST(c.smtp.relay.host == "2001:db8::25");
    BOOST_TEST(c.smtp.relay.port == 25);
    BOOST_TEST(c.storage.data_dir.string() == "./other/../data2");
    BOOST_TEST(c.log.access_log == true);
    BOOST_TEST(c.tls.enabled == false);
    BOOST_TEST(c.log.file.empty());
    BOOST_TEST(c.hash.memory_kib == 8u);
    BOOST_TEST(seconds_of(c.smtp.retry_backoff) == (std::vector<std::int64_t>{1, 1, 3600}),
               boost::test_tools::per_element());
    BOOST_TEST(c.smtp.username.empty());
    BOOST_TEST(c.smtp.helo_name == "[IPv6:2001:db8::1]");
    BOOST_TEST(c.operator_info.support_phone == "0120 <free>");
    BOOST_TEST(c.code.lifetime.count() == 5);
    // Untouched keys keep the file's values.
    BOOST_TEST(c.server.max_connections == 500u);
    BOOST_TEST(c.log.audit_file.string() == "logs/audit.log");
}

BOOST_AUTO_TEST_CASE(later_override_wins_and_validation_runs_last) {
    const config c = load_config({}, sets({"server.io_threads=3", "server.io_threads=5"}));
    BOOST_TEST(c.server.io_threads == 5u);

    // tls.enabled before its files is fine: the cross-key check sees the final result.
    const config t = load_config(
        {}, sets({"tls.enabled=true", "tls.cert_file=c.pem", "tls.key_file=k.pem"}));
    BOOST_TEST(t.tls.enabled);
    BOOST_TEST(t.tls.cert_file.string() == "c.pem");
}

BOOST_AUTO_TEST_CASE(bad_overrides_name_the_key) {
    expect_bad_override("server.io_threads=abc", "server.io_threads",
                        "must be an integer from 1 to 256");
    expect_bad_override("server.io_threads=4x", "server.io_threads");
    expect_bad_override("server.io_threads=0", "server.io_threads");
    expect_bad_override("server.io_threads=", "server.io_threads");
    expect_bad_override("server.io_threads=99999999999999999999", "server.io_threads");
    expect_bad_override("server.header_timeout_ms=0", "server.header_timeout_ms",
                        "milliseconds");
    expect_bad_override("server.header_timeout_ms=3600001", "server.header_timeout_ms");
    expect_bad_override("storage.durability=fast", "storage.durability",
                        "full_sync, no_meta_sync, no_sync");
    expect_bad_override("tls.enabled=yes", "tls.enabled", "true or false");
    expect_bad_override("server.listen=127.0.0.1", "server.listen", "port");
    expect_bad_override("server.static_dir=", "server.static_dir", "non-empty");
    expect_bad_override("server.io_thread=2", "server.io_thread", "unknown key");
    expect_bad_override("bogus.key=1", "bogus.key", "unknown key");
    expect_bad_override("server.header_timeout=5", "server.header_timeout",
                        "did you mean server.header_timeout_ms");
    expect_bad_override("tls.enabled=true", "tls.cert_file");
    const auto e = caught(
        [] { load_config({}, sets({"tls.enabled=true", "tls.cert_file=c.pem"})); });
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->key() == "tls.key_file");
}

BOOST_AUTO_TEST_CASE(bad_text_and_list_overrides_name_the_key) {
    // Text keys: CR, LF and NUL would inject into mail headers or the SMTP dialogue.
    expect_bad_override("operator.support_phone=a\r\nBcc: x@example.org", "operator.support_phone",
                        "single line");
    expect_bad_override("operator.support_phone=a\nb", "operator.support_phone", "CR, LF and NUL");
    expect_bad_override(std::string("smtp.username=a\0b", 16), "smtp.username", "NUL");
    expect_bad_override("operator.support_phone=\xff\xfe", "operator.support_phone", "UTF-8");
    // The texts that moved to the language catalogs say where they are now.
    for (const std::string moved : {"operator.name", "operator.support_hours", "mail.from_name"})
        expect_bad_override(moved + "=x", moved, "templates/lang/");
    expect_bad_file("[operator]\nname = \"x\"\n", "operator.name", "language catalogs");
    // The language and the time zone.
    expect_bad_override("operator.language=English", "operator.language", "language tag");
    expect_bad_override("operator.language=", "operator.language", "language tag");
    expect_bad_override("operator.timezone=Mars/Olympus", "operator.timezone", "no such time zone");
    expect_bad_override("operator.timezone=../../etc/passwd", "operator.timezone", "time zone name");
    BOOST_TEST(load_config({}, sets({"operator.timezone=UTC"})).operator_info.timezone == "UTC");
    BOOST_TEST(load_config({}, sets({"operator.timezone=Asia/Tokyo"})).operator_info.timezone == "Asia/Tokyo");
    expect_bad_override("operator.support_phone=", "operator.support_phone", "non-empty");

    // Host names.
    expect_bad_override("smtp.helo_name=", "smtp.helo_name", "host name");
    expect_bad_override("smtp.helo_name=bad_name", "smtp.helo_name", "host name");
    expect_bad_override("smtp.helo_name=[::1]", "smtp.helo_name", "[IPv6:");
    expect_bad_override("smtp.helo_name=[IPv6:zz]", "smtp.helo_name", "IPv6");
    expect_bad_override("smtp.helo_name=[192.0.2.300]", "smtp.helo_name", "IPv4");
    expect_bad_override("smtp.helo_name=192.0.2.1", "smtp.helo_name", "address literal");
    expect_bad_override("operator.mail_domain=example .org", "operator.mail_domain",
                        "host name");

    // URL and e-mail address.
    expect_bad_override("operator.enquiry_url=ftp://example.org/", "operator.enquiry_url",
                        "https:// or http://");
    expect_bad_override("operator.enquiry_url=javascript:alert(1)", "operator.enquiry_url",
                        "must start with");
    expect_bad_override("operator.enquiry_url=https://", "operator.enquiry_url", "host");
    expect_bad_override("operator.enquiry_url=https://example.org/a b", "operator.enquiry_url",
                        "percent-encoded");
    expect_bad_override("mail.from_address=no-reply", "mail.from_address", "exactly one @");
    expect_bad_override("mail.from_address=a@b@example.org", "mail.from_address", "one @");
    expect_bad_override("mail.from_address=<no-reply@example.org>", "mail.from_address",
                        "e-mail address");
    expect_bad_override("mail.from_address=no reply@example.org", "mail.from_address");
    expect_bad_override("mail.from_address=ノー@example.org", "mail.from_address");
    expect_bad_override("mail.from_address=", "mail.from_address", "e-mail address");

    // Lists of durations.
    expect_bad_override("smtp.retry_backoff_s=", "smtp.retry_backoff_s", "it has 0 elements");
    expect_bad_override("smtp.retry_backoff_s=5,x,30", "smtp.retry_backoff_s",
                        "element 2 is 'x'");
    expect_bad_override("smtp.retry_backoff_s=5,,30", "smtp.retry_backoff_s", "element 2");
    expect_bad_override("smtp.retry_backoff_s=5,15,", "smtp.retry_backoff_s", "element 3");
    expect_bad_override("smtp.retry_backoff_s=0,5", "smtp.retry_backoff_s", "element 1");
    expect_bad_override("smtp.retry_backoff_s=5,3601", "smtp.retry_backoff_s",
                        "each from 1 to 3600");
    expect_bad_override("smtp.retry_backoff_s=5;15", "smtp.retry_backoff_s");
    expect_bad_override("smtp.retry_backoff_s=30,15", "smtp.retry_backoff_s",
                        "element 2 (15) is smaller than the one before (30)");
    expect_bad_override("smtp.retry_backoff_s=1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
                        "smtp.retry_backoff_s", "it has 21 elements");

    // Ranges of the new numeric keys.
    expect_bad_override("smtp.pool_size=0", "smtp.pool_size", "from 1 to 64");
    expect_bad_override("smtp.pool_size=65", "smtp.pool_size");
    expect_bad_override("smtp.max_messages_per_connection=100001",
                        "smtp.max_messages_per_connection");
    expect_bad_override("smtp.connection_max_age_s=86401", "smtp.connection_max_age_s");
    expect_bad_override("smtp.idle_timeout_s=0", "smtp.idle_timeout_s", "seconds");
    expect_bad_override("smtp.data_timeout_ms=3600001", "smtp.data_timeout_ms", "milliseconds");
    expect_bad_override("smtp.connect_timeout_ms=0", "smtp.connect_timeout_ms");
    expect_bad_override("smtp.max_attempts=1001", "smtp.max_attempts");
    expect_bad_override("code.length=3", "code.length", "from 4 to 10");
    expect_bad_override("code.length=11", "code.length");
    expect_bad_override("code.lifetime_s=4", "code.lifetime_s", "from 5 to 86400");
    expect_bad_override("code.lifetime_s=86401", "code.lifetime_s");
    expect_bad_override("smtp.verify_certificate=no", "smtp.verify_certificate", "true or false");
}

BOOST_AUTO_TEST_CASE(plain_http_on_the_network_needs_tls_or_permission) {
    for (const std::string listen : {"server.listen=0.0.0.0:0", "server.listen=[::]:8080",
                                     "server.listen=192.0.2.1:80", "server.listen=[::ffff:192.0.2.1]:80"}) {
        BOOST_TEST_CONTEXT(listen) {
            const auto e = caught([&] { load_config({}, sets({listen})); });
            BOOST_TEST_REQUIRE(e.has_value());
            BOOST_TEST(e->key() == "server.allow_plain_http");
            const std::string what = e->what();
            BOOST_TEST(what.find("server.behind_tls") != std::string::npos);
            BOOST_TEST(what.find("tls.enabled") != std::string::npos);
        }
    }
    for (const std::string fix : {"server.behind_tls=true", "server.allow_plain_http=true"}) {
        BOOST_TEST_CONTEXT(fix) {
            const config c = load_config({}, sets({"server.listen=0.0.0.0:0", fix}));
            BOOST_TEST(c.server.listen.host == "0.0.0.0");
        }
    }
    // Loopback listeners need neither.
    for (const std::string listen : {"server.listen=127.0.0.1:0", "server.listen=127.0.0.2:0",
                                     "server.listen=[::1]:0", "server.listen=[::ffff:127.0.0.1]:0",
                                     "server.listen=localhost:0"}) {
        BOOST_TEST_CONTEXT(listen) { BOOST_TEST(!caught([&] { load_config({}, sets({listen})); })); }
    }
}

BOOST_AUTO_TEST_CASE(the_postgres_backend_needs_its_url_and_bounds_its_keys) {
    const config c = load_config({}, {});
    BOOST_TEST((c.storage.backend == storage_backend::lmdb));
    BOOST_TEST(c.storage.postgres_pool_size == 4u);
    const auto no_url = caught([&] { load_config({}, sets({"storage.backend=postgres"})); });
    BOOST_TEST_REQUIRE(no_url.has_value());
    BOOST_TEST(no_url->key() == "storage.postgres_url");
    BOOST_TEST(!caught([&] { load_config({}, sets({"storage.backend=postgres", "storage.postgres_url=postgresql://127.0.0.1/nidan"})); }));
    for (const std::string bad : {"storage.backend=mysql", "storage.postgres_pool_size=0", "storage.postgres_pool_size=257",
                                  "storage.postgres_connect_timeout_ms=999", "storage.postgres_statement_timeout_ms=99"}) {
        BOOST_TEST_CONTEXT(bad) {
            const auto e = caught([&] { load_config({}, sets({bad})); });
            BOOST_TEST_REQUIRE(e.has_value());
            BOOST_TEST(e->key() == bad.substr(0, bad.find('=')));
        }
    }
}

BOOST_AUTO_TEST_CASE(transport_keys_defaults_and_bounds) {
    const config c = load_config({}, {});
    BOOST_TEST(c.server.hsts_max_age.count() == 31'536'000);
    BOOST_TEST(c.server.allow_plain_http == false);
    BOOST_TEST(c.server.max_connections_per_client == 256u);
    BOOST_TEST(c.storage.secret_file.empty());
    BOOST_TEST(c.auth.verify_any_portal == false);
    const config set = load_config({}, sets({"server.hsts_max_age_s=0", "server.max_connections_per_client=4",
                                             "storage.secret_file=keys/secret", "auth.verify_any_portal=true"}));
    BOOST_TEST(set.server.hsts_max_age.count() == 0);
    BOOST_TEST(set.server.max_connections_per_client == 4u);
    BOOST_TEST(set.storage.secret_file == fs::path("keys/secret"));
    BOOST_TEST(set.auth.verify_any_portal == true);
    // The secret file must not be part of the data folder it protects.
    for (const std::string inside : {"storage.secret_file=data/secret", "storage.secret_file=./data/keys/../secret",
                                     "storage.secret_file=data"}) {
        BOOST_TEST_CONTEXT(inside) {
            const auto e = caught([&] { load_config({}, sets({"storage.data_dir=data", inside})); });
            BOOST_TEST_REQUIRE(e.has_value());
            BOOST_TEST(e->key() == "storage.secret_file");
        }
    }
    BOOST_TEST(!caught([&] { load_config({}, sets({"storage.data_dir=data", "storage.secret_file=data-secret"})); }));
    BOOST_TEST(!caught([&] { load_config({}, sets({"storage.data_dir=/srv/nidan/data", "storage.secret_file=/srv/nidan/secret"})); }));
    expect_bad_override("server.hsts_max_age_s=-1", "server.hsts_max_age_s");
    expect_bad_override("server.hsts_max_age_s=63072001", "server.hsts_max_age_s");
    expect_bad_override("server.max_connections_per_client=0", "server.max_connections_per_client");
    expect_bad_override("server.allow_plain_http=yes", "server.allow_plain_http");
    expect_bad_override("auth.verify_any_portal=1x", "auth.verify_any_portal");
}

BOOST_AUTO_TEST_CASE(smtp_auth_needs_a_password_and_tls) {
    // Username without password file.
    expect_bad_override("smtp.username=mailer", "smtp.password_file", "smtp.username");
    // Auth over plain text: the default smtp.tls is none.
    const auto e = caught([] {
        load_config({}, sets({"smtp.username=mailer", "smtp.password_file=p"}));
    });
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->key() == "smtp.allow_auth_without_tls");
    BOOST_TEST(std::string(e->what()).find("clear text") != std::string::npos);

    // Either TLS or the explicit permission makes it acceptable.
    for (const std::string fix : {"smtp.tls=starttls", "smtp.tls=tls",
                                  "smtp.allow_auth_without_tls=true"}) {
        BOOST_TEST_CONTEXT(fix) {
            const config c =
                load_config({}, sets({"smtp.username=mailer", "smtp.password_file=p", fix}));
            BOOST_TEST(c.smtp.username == "mailer");
        }
    }
    // No username: no AUTH, so neither is needed.
    const config plain = load_config({}, sets({"smtp.password_file=p"}));
    BOOST_TEST(plain.smtp.username.empty());
}

BOOST_AUTO_TEST_CASE(session_code_password_address_defaults) {
    const config c = load_config({}, {});
    BOOST_TEST(c.session.idle_timeout.count() == 1800);        // 30 minutes
    BOOST_TEST(c.session.absolute_lifetime.count() == 43200);  // 12 hours
    BOOST_TEST(c.code.max_attempts == 5u);
    BOOST_TEST(c.code.mails_per_hour == 5u);
    BOOST_TEST(c.password.min_length == 8u);
    BOOST_TEST(nidan::password_config::max_length == 1024u);
    BOOST_TEST(c.address.phone_strikes == 3u);
    BOOST_TEST(c.address_change.hold.count() == 72);
    BOOST_TEST(!c.address_change.only_without_working_address);
    BOOST_TEST(c.server.public_url == "http://127.0.0.1:8080");
    BOOST_TEST(c.server.behind_tls == false);
    BOOST_TEST(c.server.trusted_proxies.empty());
}

BOOST_AUTO_TEST_CASE(new_limits_ranges_name_the_key) {
    // Lowest and highest allowed.
    const config lo = load_config(
        {}, sets({"session.idle_timeout_s=60", "session.absolute_lifetime_s=300",
                  "code.max_attempts=1", "code.mails_per_hour=1", "password.min_length=8",
                  "address.phone_strikes=1"}));
    BOOST_TEST(lo.session.idle_timeout.count() == 60);
    BOOST_TEST(lo.session.absolute_lifetime.count() == 300);
    BOOST_TEST(lo.code.max_attempts == 1u);
    BOOST_TEST(lo.code.mails_per_hour == 1u);
    BOOST_TEST(lo.password.min_length == 8u);
    BOOST_TEST(lo.address.phone_strikes == 1u);
    const config hi = load_config(
        {}, sets({"session.idle_timeout_s=86400", "session.absolute_lifetime_s=604800",
                  "code.max_attempts=20", "code.mails_per_hour=100", "password.min_length=64",
                  "address.phone_strikes=10"}));
    BOOST_TEST(hi.session.idle_timeout.count() == 86400);
    BOOST_TEST(hi.session.absolute_lifetime.count() == 604800);
    BOOST_TEST(hi.code.max_attempts == 20u);
    BOOST_TEST(hi.code.mails_per_hour == 100u);
    BOOST_TEST(hi.password.min_length == 64u);
    BOOST_TEST(hi.address.phone_strikes == 10u);

    expect_bad_override("session.idle_timeout_s=59", "session.idle_timeout_s",
                        "from 60 to 86400");
    expect_bad_override("session.idle_timeout_s=86401", "session.idle_timeout_s", "seconds");
    expect_bad_override("session.absolute_lifetime_s=299", "session.absolute_lifetime_s",
                        "from 300 to 604800");
    expect_bad_override("session.absolute_lifetime_s=604801", "session.absolute_lifetime_s");
    expect_bad_override("code.max_attempts=0", "code.max_attempts", "from 1 to 20");
    expect_bad_override("code.max_attempts=21", "code.max_attempts");
    expect_bad_override("code.mails_per_hour=0", "code.mails_per_hour", "from 1 to 100");
    expect_bad_override("code.mails_per_hour=101", "code.mails_per_hour");
    expect_bad_override("password.min_length=7", "password.min_length", "from 8 to 64");
    expect_bad_override("password.min_length=65", "password.min_length");
    expect_bad_override("address.phone_strikes=0", "address.phone_strikes", "from 1 to 10");
    expect_bad_override("address.phone_strikes=11", "address.phone_strikes");
    expect_bad_override("address_change.hold_hours=721", "address_change.hold_hours", "from 0 to 720");
    expect_bad_override("address_change.hold_hours=-1", "address_change.hold_hours", "hours");
    expect_bad_override("address_change.only_without_working_address=yes",
                        "address_change.only_without_working_address", "true or false");
    expect_bad_override("server.public_url=selfcare.example.jp", "server.public_url", "https://");
    expect_bad_override("server.public_url=https://selfcare.example.jp/", "server.public_url", "trailing /");
    expect_bad_override("server.public_url=https://selfcare.example.jp/?a=1", "server.public_url", "query");
    expect_bad_override("server.behind_tls=1", "server.behind_tls", "true or false");
    expect_bad_file("[password]\nmin_length = \"8\"\n", "password.min_length", "integer");
    expect_bad_file("[session]\nidle_timeout_s = 1800.0\n", "session.idle_timeout_s");
    expect_bad_file("[address]\nstrikes = 3\n", "address.strikes", "unknown key");
    expect_bad_file("[server]\nbehind_tls = \"true\"\n", "server.behind_tls", "true or false");
}

BOOST_AUTO_TEST_CASE(throttle_limits_default_to_the_documented_policies_and_name_the_key) {
    const config c = load_config({}, {});
    const auto address = c.throttle.per_address();
    const auto account = c.throttle.per_account();
    BOOST_TEST(address.free_failures == nidan::per_address_throttle.free_failures);
    BOOST_TEST(address.max_delay.count() == 30'000);
    BOOST_TEST(account.free_failures == 5u);
    BOOST_TEST(account.max_delay.count() == 60'000);
    BOOST_TEST(account.window.count() == 900);
    BOOST_TEST(c.throttle.account_lock_after == 0u);
    BOOST_TEST(c.throttle.address_queue_max == 4u);
    BOOST_TEST(c.throttle.account_parallel_checks == 1u);
    BOOST_TEST(c.throttle.account_budget == 15u);

    const config set = load_config(
        {}, sets({"throttle.address_free_failures=0", "throttle.address_base_delay_ms=250",
                  "throttle.address_max_delay_ms=4000", "throttle.address_window_s=60",
                  "throttle.account_free_failures=3", "throttle.account_window_s=86400",
                  "throttle.account_lock_after=20", "throttle.address_queue_max=0",
                  "throttle.account_parallel_checks=4", "throttle.account_budget=0"}));
    BOOST_TEST(set.throttle.address_queue_max == 0u);
    BOOST_TEST(set.throttle.account_parallel_checks == 4u);
    BOOST_TEST(set.throttle.account_budget == 0u);
    BOOST_TEST(set.throttle.per_address().free_failures == 0u);
    BOOST_TEST(set.throttle.per_address().base_delay.count() == 250);
    BOOST_TEST(set.throttle.per_address().max_delay.count() == 4000);
    BOOST_TEST(set.throttle.per_address().window.count() == 60);
    BOOST_TEST(set.throttle.per_account().free_failures == 3u);
    BOOST_TEST(set.throttle.per_account().window.count() == 86400);
    BOOST_TEST(set.throttle.account_lock_after == 20u);

    expect_bad_override("throttle.address_window_s=4", "throttle.address_window_s", "from 5 to 86400");
    expect_bad_override("throttle.account_parallel_checks=0", "throttle.account_parallel_checks", "from 1 to 1000");
    expect_bad_override("throttle.address_queue_max=1001", "throttle.address_queue_max");
    expect_bad_override("throttle.account_budget=-1", "throttle.account_budget");
    expect_bad_override("throttle.account_window_s=86401", "throttle.account_window_s");
    expect_bad_override("throttle.account_max_delay_ms=3600001", "throttle.account_max_delay_ms");
    expect_bad_override("throttle.account_lock_after=1001", "throttle.account_lock_after", "from 0 to 1000");
    expect_bad_override("throttle.address_free_failures=-1", "throttle.address_free_failures");
    // A first delay longer than the cap would never be waited: say so rather than cap silently.
    const auto e = caught([] {
        load_config({}, sets({"throttle.address_max_delay_ms=4000", "throttle.address_base_delay_ms=5000"}));
    });
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->key() == "throttle.address_base_delay_ms");
    BOOST_TEST(std::string(e->what()).find("throttle.address_max_delay_ms") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_idle_must_not_exceed_absolute) {
    // Equal is fine: the session then simply ends at the absolute limit.
    const config same = load_config(
        {}, sets({"session.idle_timeout_s=3600", "session.absolute_lifetime_s=3600"}));
    BOOST_TEST(same.session.idle_timeout.count() == 3600);

    expect_bad_override("session.absolute_lifetime_s=1799", "session.idle_timeout_s",
                        "session.absolute_lifetime_s");
    expect_bad_override("session.idle_timeout_s=43201", "session.idle_timeout_s",
                        "43201 > 43200");
    expect_bad_file("[session]\nidle_timeout_s = 7200\nabsolute_lifetime_s = 3600\n",
                    "session.idle_timeout_s", "must not exceed");
    // Checked on the final result, whatever the order.
    const config later = load_config(
        {}, sets({"session.idle_timeout_s=50000", "session.absolute_lifetime_s=60000"}));
    BOOST_TEST(later.session.absolute_lifetime.count() == 60000);
}

BOOST_AUTO_TEST_CASE(trusted_proxies_are_ip_addresses) {
    const config c = load_config(
        {}, sets({"server.trusted_proxies=127.0.0.1, ::1 ,fe80::1,2001:DB8::a"}));
    BOOST_TEST(c.server.trusted_proxies ==
                   (std::vector<std::string>{"127.0.0.1", "::1", "fe80::1", "2001:DB8::a"}),
               boost::test_tools::per_element());

    // Empty: no proxy is trusted (the default); a later --set can clear the file's list.
    temp_dir dir;
    const fs::path file =
        dir.write("p.toml", "[server]\ntrusted_proxies = [\"10.0.0.1\"]\n");
    BOOST_TEST(load_config(file, {}).server.trusted_proxies.size() == 1u);
    BOOST_TEST(load_config(file, sets({"server.trusted_proxies="})).server.trusted_proxies.empty());
    BOOST_TEST(load_config(file, sets({"server.trusted_proxies= "})).server.trusted_proxies.empty());
    const config none =
        load_config(dir.write("e.toml", "[server]\ntrusted_proxies = []\n"), {});
    BOOST_TEST(none.server.trusted_proxies.empty());

    // --set: the key and the offending element are named.
    expect_bad_override("server.trusted_proxies=10.0.0.1,10.0.0.256", "server.trusted_proxies",
                        "element 2 ('10.0.0.256') is not an IPv4 or IPv6 address");
    expect_bad_override("server.trusted_proxies=proxy.example.org", "server.trusted_proxies",
                        "element 1 ('proxy.example.org')");
    expect_bad_override("server.trusted_proxies=10.0.0.0/8", "server.trusted_proxies",
                        "'10.0.0.0/8'");
    expect_bad_override("server.trusted_proxies=10.0.0.1:8080", "server.trusted_proxies",
                        "element 1");
    expect_bad_override("server.trusted_proxies=[::1]", "server.trusted_proxies", "'[::1]'");
    expect_bad_override("server.trusted_proxies=10.0.0.1,,10.0.0.2", "server.trusted_proxies",
                        "element 2 ('')");
    expect_bad_override("server.trusted_proxies=10.0.0.1,", "server.trusted_proxies",
                        "element 2");
    expect_bad_override("server.trusted_proxies=10.0.0.1;10.0.0.2", "server.trusted_proxies");
    expect_bad_override("server.trusted_proxies=fe80::1%eth0", "server.trusted_proxies");

    // File: an array of strings.
    expect_bad_file("[server]\ntrusted_proxies = \"10.0.0.1\"\n", "server.trusted_proxies",
                    "list of IPv4 or IPv6 addresses");
    expect_bad_file("[server]\ntrusted_proxies = [\"10.0.0.1\", 5]\n", "server.trusted_proxies",
                    "element 2 is 5");
    expect_bad_file("[server]\ntrusted_proxies = [\"::1\", \"::g\"]\n",
                    "server.trusted_proxies", "element 2 ('::g')");
    expect_bad_file("[server]\ntrusted_proxies = [\"10.0.0.1\\u0000x\"]\n",
                    "server.trusted_proxies", "element 1");
    expect_bad_file("\n[server]\ntrusted_proxies = [\"1.2.3\"]\n", "server.trusted_proxies",
                    "line 3");
}

BOOST_AUTO_TEST_CASE(error_messages_escape_control_characters) {
    const auto e = caught([] { load_config({}, sets({"operator.support_phone=a\r\nb"})); });
    BOOST_TEST_REQUIRE(e.has_value());
    const std::string message = e->what();
    BOOST_TEST(message.find_first_of("\r\n") == std::string::npos);
    BOOST_TEST(message.find("'a\\r\\nb'") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(bad_files_name_the_key) {
    // Syntax: no key, but the file and position are in the message.
    expect_bad_file("[server\nio_threads = 2\n", "", "bad.toml");
    expect_bad_file("[server]\nio_threads = \n", "", "line 2");

    // Unknown names.
    expect_bad_file("[server]\nio_thread = 2\n", "server.io_thread", "unknown key");
    expect_bad_file("[bogus]\nx = 1\n", "bogus", "unknown section");
    expect_bad_file("io_threads = 2\n", "io_threads", "unknown key");
    expect_bad_file("[server.extra]\nx = 1\n", "server.extra", "unknown key");
    expect_bad_file("server = 5\n", "server", "table");

    // Wrong type; the position of the value is reported.
    expect_bad_file("[server]\nio_threads = \"4\"\n", "server.io_threads",
                    "must be an integer from 1 to 256");
    expect_bad_file("[server]\nio_threads = 4.0\n", "server.io_threads");
    expect_bad_file("\n\n[log]\naccess_log = \"yes\"\n", "log.access_log", "line 4");
    expect_bad_file("[log]\nflush_interval_ms = 60001\n", "log.flush_interval_ms", "line 2");
    expect_bad_file("[hash]\nthread_scheduling = \"batch\"\n", "hash.thread_scheduling", "line 2");
    expect_bad_file("[storage]\ndata_dir = 5\n", "storage.data_dir");
    expect_bad_file("[server]\nlisten = 8080\n", "server.listen");

    // Out of range.
    expect_bad_file("[server]\nio_threads = 0\n", "server.io_threads");
    expect_bad_file("[server]\nio_threads = 257\n", "server.io_threads");
    expect_bad_file("[server]\nio_threads = -1\n", "server.io_threads");
    expect_bad_file("[server]\nmax_header_bytes = 1023\n", "server.max_header_bytes");
    expect_bad_file("[server]\nmax_body_bytes = 16777217\n", "server.max_body_bytes");
    expect_bad_file("[server]\nidle_timeout_ms = 0\n", "server.idle_timeout_ms");
    expect_bad_file("[server]\nshutdown_grace_ms = 3600001\n", "server.shutdown_grace_ms");
    expect_bad_file("[storage]\nmap_size_mib = 0\n", "storage.map_size_mib");
    expect_bad_file("[storage]\nmap_size_mib = 1048577\n", "storage.map_size_mib");
    expect_bad_file("[storage]\nmax_readers = 100001\n", "storage.max_readers");
    expect_bad_file("[storage]\nsweep_interval_s = 86401\n", "storage.sweep_interval_s");
    expect_bad_file("[hash]\nmemory_kib = 7\n", "hash.memory_kib", "from 8 to 4194304");
    expect_bad_file("[hash]\niterations = 0\n", "hash.iterations");
    expect_bad_file("[hash]\nthreads = 0\n", "hash.threads");
    expect_bad_file("[hash]\nmax_cost_factor = 0\n", "hash.max_cost_factor", "from 1 to 64");
    expect_bad_file("[hash]\nmax_cost_factor = 65\n", "hash.max_cost_factor");
    expect_bad_file("[hash]\nimport_min_memory_kib = 7\n", "hash.import_min_memory_kib");
    expect_bad_file("[hash]\nimport_min_iterations = 0\n", "hash.import_min_iterations");

    // Bad enum.
    expect_bad_file("[storage]\ndurability = \"fast\"\n", "storage.durability", "one of");
    expect_bad_file("[smtp]\ntls = \"ssl\"\n", "smtp.tls", "none, starttls, tls");
    expect_bad_file("[log]\nlevel = \"verbose\"\n", "log.level",
                    "trace, debug, info, warn, error, off");

    // Bad host:port.
    expect_bad_file("[server]\nlisten = \"127.0.0.1\"\n", "server.listen");
    expect_bad_file("[server]\nlisten = \"::1:8080\"\n", "server.listen", "brackets");
    expect_bad_file("[server]\nlisten = \"example.com:80\"\n", "server.listen");
    expect_bad_file("[smtp]\nrelay = \"127.0.0.1:0\"\n", "smtp.relay");
    expect_bad_file("[smtp]\nrelay = \"127.0.0.1:70000\"\n", "smtp.relay");

    // Text, lists, addresses.
    expect_bad_file("[operator]\nsupport_phone = \"a\\r\\nb\"\n", "operator.support_phone", "line 2");
    expect_bad_file("[operator]\nsupport_phone = \"x\\u0000y\"\n", "operator.support_phone", "NUL");
    expect_bad_file("[operator]\nsupport_phone = 5\n", "operator.support_phone", "string");
    expect_bad_file("[smtp]\nusername = true\n", "smtp.username");
    expect_bad_file("[smtp]\nretry_backoff_s = 5\n", "smtp.retry_backoff_s", "list");
    expect_bad_file("[smtp]\nretry_backoff_s = \"5,15\"\n", "smtp.retry_backoff_s");
    expect_bad_file("[smtp]\nretry_backoff_s = []\n", "smtp.retry_backoff_s", "0 elements");
    expect_bad_file("[smtp]\nretry_backoff_s = [5, \"15\"]\n", "smtp.retry_backoff_s",
                    "element 2 is the string \"15\"");
    expect_bad_file("[smtp]\nretry_backoff_s = [5, 1.5]\n", "smtp.retry_backoff_s",
                    "element 2");
    expect_bad_file("[smtp]\nretry_backoff_s = [60, 30]\n", "smtp.retry_backoff_s",
                    "smaller than the one before");
    expect_bad_file("[smtp]\nretry_backoff_s = [[5]]\n", "smtp.retry_backoff_s", "element 1");
    expect_bad_file("[mail]\nfrom_address = \"no-reply@@example.org\"\n", "mail.from_address");
    expect_bad_file("[mail]\nfrom_address = \"a@example.org\\r\\nBcc: b@example.org\"\n",
                    "mail.from_address", "single line");
    expect_bad_file("[operator]\nenquiry_url = \"www.example.org\"\n", "operator.enquiry_url",
                    "https://");
    expect_bad_file("[operator]\nmail_domain = \"\"\n", "operator.mail_domain");
    expect_bad_file("[smtp]\nhelo_name = \"\"\n", "smtp.helo_name");

    // Cross-key.
    expect_bad_file("[smtp]\nusername = \"mailer\"\n", "smtp.password_file");
    expect_bad_file("[smtp]\nusername = \"mailer\"\npassword_file = \"p\"\n",
                    "smtp.allow_auth_without_tls", "clear text");
    expect_bad_file("[tls]\nenabled = true\n", "tls.cert_file");
    expect_bad_file("[tls]\nenabled = true\ncert_file = \"c.pem\"\n", "tls.key_file");
}

BOOST_AUTO_TEST_CASE(missing_or_unreadable_file) {
    temp_dir dir;
    for (const fs::path& file : {dir.path / "absent.toml", dir.path}) {
        const auto e = caught([&] { load_config(file, {}); });
        BOOST_TEST_REQUIRE(e.has_value());
        BOOST_TEST(e->key() == "");
        BOOST_TEST(std::string(e->what()).find(file.string()) != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(parse_override_syntax) {
    const auto o = nidan::parse_override("smtp.relay=a=b");
    BOOST_TEST(o.key == "smtp.relay");
    BOOST_TEST(o.value == "a=b");  // only the first '=' separates

    const auto spaced = nidan::parse_override(" server.io_threads = 4 ");
    BOOST_TEST(spaced.key == "server.io_threads");
    BOOST_TEST(spaced.value == "4");

    const auto empty = nidan::parse_override("log.file=");
    BOOST_TEST(empty.value == "");

    for (const std::string bad : {"", "=", "server.io_threads", "io_threads=4", "=4",
                                  ".io_threads=4", "server.=4"}) {
        BOOST_TEST_CONTEXT("input '" << bad << "'") {
            const auto e = caught([&] { nidan::parse_override(bad); });
            BOOST_TEST(e.has_value());
        }
    }
    const auto e = caught([] { nidan::parse_override("server.io_threads"); });
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->key() == "server.io_threads");
}

BOOST_AUTO_TEST_CASE(host_port_round_trip) {
    for (const std::string text : {"127.0.0.1:8080", "0.0.0.0:0", "localhost:65535", "[::1]:8080",
                                   "[::]:443", "[2001:db8::1]:25", "[::ffff:192.0.2.1]:80",
                                   "mail.example.org:587"}) {
        BOOST_TEST_CONTEXT("input '" << text << "'") {
            const auto hp = nidan::parse_host_port("k", text);
            BOOST_TEST(hp.to_string() == text);
        }
    }
    const auto v6 = nidan::parse_host_port("k", "[::1]:8080");
    BOOST_TEST(v6.host == "::1");  // stored without brackets
    BOOST_TEST(v6.port == 8080);
    BOOST_TEST((nidan::host_port{"fe80::2", 1}.to_string() == "[fe80::2]:1"));

    for (const std::string bad :
         {"", "127.0.0.1", "127.0.0.1:", ":8080", "::1:8080", "[::1]8080", "[::1", "[::1]:",
          "[]:80", "[zz::1]:80", "[127.0.0.1]:80", "host:65536", "host:-1", "host:+80",
          "host:8o", "host: 80", "256.1.1.1:80", "1.2.3:80", "a b:80", "-bad.example:80",
          "bad.:80", "host:0080080"}) {
        BOOST_TEST_CONTEXT("input '" << bad << "'") {
            const auto e = caught([&] { nidan::parse_host_port("smtp.relay", bad); });
            BOOST_TEST_REQUIRE(e.has_value());
            BOOST_TEST(e->key() == "smtp.relay");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Portals

BOOST_AUTO_TEST_CASE(default_portals_are_the_manuals_three) {
    // Their texts are in the catalogs (templates/lang/*.toml); here, what is not text.
    const config c = load_config({}, {});
    BOOST_TEST_REQUIRE(c.portals.size() == 3u);

    const auto& ip = c.portals[0];
    BOOST_TEST(ip.id == "ip-phone");
    BOOST_TEST(ip.login_path == "/selfcare/SelfcareLogin.in");
    BOOST_TEST(ip.language == "");
    BOOST_TEST(ip.home == "account");
    BOOST_TEST(ip.menu.empty());

    const auto& mc = c.portals[1];
    BOOST_TEST(mc.id == "mc050");
    BOOST_TEST(mc.login_path == "/mfes/users/login");
    BOOST_TEST(mc.home == "menu");
    const std::vector<std::string> ids{"add-number",   "mc050-register", "mc050-cancel",   "master-table",
                                       "group-limits", "call-blocking",  "upload-download"};
    BOOST_TEST_REQUIRE(mc.menu.size() == ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        BOOST_TEST(mc.menu[i].id == ids[i]);
        BOOST_TEST(mc.menu[i].url == "/mfes/services/" + ids[i]);
    }

    const auto& fv = c.portals[2];
    BOOST_TEST(fv.id == "freevoice");
    BOOST_TEST(fv.login_path == "/cgi-bin/fb_csc_sc_login.cgi.pl");
    BOOST_TEST(fv.home == "account");
    BOOST_TEST(fv.menu.empty());
    BOOST_TEST(c.operator_info.language == "ja");
    BOOST_TEST(c.operator_info.timezone == "Asia/Tokyo");
}

BOOST_AUTO_TEST_CASE(shipped_file_has_exactly_the_default_portals) {
    const config shipped = load_config(shipped_config(), {});
    const config defaults;
    BOOST_TEST_REQUIRE(shipped.portals.size() == 3u);
    check_same(shipped, defaults);  // portals compared field by field, menus included
}

// The portal keys as a fourth entry would add them.
const std::string fourth_portal = R"(
[[portal]]
id = "hikari"
login_path = "/hikari/login"
language = "en"
home = "menu"
manual_url = "https://manual.example.org/hikari.pdf"

[[portal.menu]]
id = "contract"
url = "/hikari/contract"

[[portal.menu]]
id = "options"
url = "https://options.example.org/apply?from=selfcare"
)";

BOOST_AUTO_TEST_CASE(custom_file_with_a_fourth_portal) {
    // The shipped file plus one portal: no code needed for a new portal.
    std::ifstream in(shipped_config(), std::ios::binary);
    const std::string shipped((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    temp_dir dir;
    const config c = load_config(dir.write("four.toml", shipped + fourth_portal), {});
    BOOST_TEST_REQUIRE(c.portals.size() == 4u);
    const config defaults;
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(c.portals[i].id == defaults.portals[i].id);
    const auto& p = c.portals[3];
    BOOST_TEST(p.id == "hikari");
    BOOST_TEST(p.login_path == "/hikari/login");
    BOOST_TEST(p.language == "en");
    BOOST_TEST(p.home == "menu");
    BOOST_TEST(p.manual_url == "https://manual.example.org/hikari.pdf");
    BOOST_TEST_REQUIRE(p.menu.size() == 2u);
    BOOST_TEST(p.menu[0].id == "contract");
    BOOST_TEST(p.menu[0].url == "/hikari/contract");
    BOOST_TEST(p.menu[1].url == "https://options.example.org/apply?from=selfcare");

    // A file with [[portal]] replaces the whole list; optional keys default to "".
    const config only = load_config(dir.write("one.toml", R"(
[[portal]]
id = "solo"
login_path = "/"
home = "account"
)"),
                                    {});
    BOOST_TEST_REQUIRE(only.portals.size() == 1u);
    BOOST_TEST(only.portals[0].id == "solo");
    BOOST_TEST(only.portals[0].language == "");
    BOOST_TEST(only.portals[0].manual_url == "");

    // A file without [[portal]] keeps the defaults.
    const config none = load_config(dir.write("none.toml", "[log]\nlevel = \"warn\"\n"), {});
    BOOST_TEST(none.portals.size() == 3u);
}

BOOST_AUTO_TEST_CASE(set_does_not_reach_portals) {
    expect_bad_override("portal.id=x", "portal.id", "only in the configuration file");
    expect_bad_override("portal[0].home=menu", "portal[0].home", "--set");
}

namespace {

// A valid portal with one line replaced (or removed when `replacement` is empty).
std::string portal_with(const std::string& key, const std::string& replacement,
                        const std::string& id = "p", const std::string& path = "/p/login") {
    std::string out = "[[portal]]\n";
    const std::vector<std::pair<std::string, std::string>> lines{
        {"id", "id = \"" + id + "\""},
        {"login_path", "login_path = \"" + path + "\""},
        {"home", "home = \"account\""},
    };
    for (const auto& [name, line] : lines) {
        if (name == key) {
            if (!replacement.empty()) out += replacement + "\n";
        } else {
            out += line + "\n";
        }
    }
    if (!key.empty() && std::none_of(lines.begin(), lines.end(),
                                     [&](const auto& l) { return l.first == key; }))
        out += replacement + "\n";
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_portal_entries_name_the_key) {
    // The helper itself yields a valid file.
    {
        temp_dir dir;
        const config ok = load_config(dir.write("ok.toml", portal_with("", "")), {});
        BOOST_TEST(ok.portals.size() == 1u);
    }
    const std::string first = portal_with("", "", "a", "/a");

    // Shape.
    expect_bad_file("[portal]\nid = \"x\"\n", "portal", "[[portal]]");
    expect_bad_file("portal = []\n", "portal", "[[portal]]");
    expect_bad_file("portal = 5\n", "portal", "[[portal]]");
    expect_bad_file(portal_with("colour", "colour = \"red\""), "portal[0].colour",
                    "unknown key");

    // Required keys, types, text.
    expect_bad_file(portal_with("id", ""), "portal[0].id", "missing");
    expect_bad_file(portal_with("home", ""), "portal[0].home", "missing");
    expect_bad_file(portal_with("home", "home = 5"), "portal[0].home", "account, menu");
    expect_bad_file(portal_with("language", "language = \"Japanese\""), "portal[0].language", "language tag");
    // The texts moved to the catalogs: the message says where.
    for (const std::string text : {"name", "title", "address_link_text", "code_screen_note"})
        expect_bad_file(first + portal_with(text, text + " = \"x\""), "portal[1]." + text, "[portal.<id>] " + text);

    // id.
    expect_bad_file(portal_with("id", "id = \"IP\""), "portal[0].id", "a-z");
    expect_bad_file(portal_with("id", "id = \"ip_phone\""), "portal[0].id");
    expect_bad_file(portal_with("id", "id = \"" + std::string(33, 'a') + "\""), "portal[0].id",
                    "32");
    expect_bad_file(portal_with("id", "id = \"\""), "portal[0].id");
    expect_bad_file(first + portal_with("", "", "a", "/b"), "portal[1].id",
                    "already the id of portal[0]");

    // login_path.
    expect_bad_file(portal_with("login_path", "login_path = \"login\""), "portal[0].login_path",
                    "start with '/'");
    expect_bad_file(first + portal_with("", "", "b", "/a"), "portal[1].login_path",
                    "already the login_path of portal[0]");
    for (const std::string reserved : {"/static", "/static/login", "/api/x", "/auth", "/auth/code",
                                       "/healthz", "/readyz", "/metrics", "/metrics/x",
                                       "/portal", "/portal/mc050/code"})
        expect_bad_file(portal_with("login_path", "login_path = \"" + reserved + "\""),
                        "portal[0].login_path", "nidan serves itself");
    for (const std::string odd : {"/a b", "/a?x=1", "/a#b", "/a%20b", "//evil", "/a/../b",
                                  "/a/./b"})
        expect_bad_file(portal_with("login_path", "login_path = \"" + odd + "\""),
                        "portal[0].login_path");

    // home and menu.
    expect_bad_file(portal_with("home", "home = \"services\""), "portal[0].home",
                    "account, menu");
    expect_bad_file(portal_with("home", "home = \"menu\""), "portal[0].menu",
                    "required when home = \"menu\"");
    expect_bad_file(portal_with("", "") + "[[portal.menu]]\nid = \"x\"\nurl = \"/x\"\n",
                    "portal[0].menu", "only shown when home = \"menu\"");
    const std::string menu_portal = portal_with("home", "home = \"menu\"");
    expect_bad_file(menu_portal + "[[portal.menu]]\nid = \"x\"\n", "portal[0].menu[0].url",
                    "missing");
    expect_bad_file(first + menu_portal + "[[portal.menu]]\nid = \"x\"\nurl = \"/x\"\n" +
                        "[[portal.menu]]\nid = \"\"\nurl = \"/y\"\n",
                    "portal[1].menu[1].id", "a-z");
    expect_bad_file(menu_portal + "[[portal.menu]]\nid = \"x\"\nurl = \"/x\"\n[[portal.menu]]\nid = \"x\"\nurl = \"/y\"\n",
                    "portal[0].menu[1].id", "already");
    expect_bad_file(menu_portal + "[[portal.menu]]\nlabel = \"x\"\nurl = \"/x\"\n", "portal[0].menu[0].label",
                    "language catalogs");
    for (const std::string bad_url : {"x/y", "javascript:alert(1)", "http://example.org/",
                                      "//example.org/", "/a b", "https://"})
        expect_bad_file(menu_portal + "[[portal.menu]]\nid = \"x\"\nurl = \"" + bad_url + "\"\n",
                        "portal[0].menu[0].url");
    expect_bad_file(menu_portal + "[[portal.menu]]\nid = \"x\"\nurl = \"/x\"\nicon = \"i\"\n",
                    "portal[0].menu[0].icon", "unknown key");
    expect_bad_file(menu_portal + "menu = \"x\"\n", "portal[0].menu", "list of tables");

    // manual_url.
    expect_bad_file(portal_with("manual_url", "manual_url = \"manual.pdf\""),
                    "portal[0].manual_url", "https://");
    expect_bad_file(portal_with("manual_url", "manual_url = \"ftp://x/m.pdf\""),
                    "portal[0].manual_url");

    // The position of the offending value is in the message.
    expect_bad_file(first + portal_with("home", "home = 7"), "portal[1].home", "line 8");
}
