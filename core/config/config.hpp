#pragma once
// nidan's configuration: one struct whose member initialisers are the embedded defaults.
// conf/nidan.toml documents every key; load_config() reads that file, applies --set overrides
// and validates, throwing config_error that names the offending key.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/base/error.hpp"
#include "core/base/log.hpp"
#include "core/config/throttle_policy.hpp"

namespace nidan {

struct host_port {
    std::string host;
    std::uint16_t port = 0;
    std::string to_string() const;  // "host:port", IPv6 hosts in brackets
};

enum class durability_mode { full_sync, no_meta_sync, no_sync };
enum class smtp_tls_mode { none, starttls, tls };

struct server_config {
    host_port listen{"127.0.0.1", 8080};
    unsigned io_threads = 2;
    std::size_t max_connections = 10000;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 16 * 1024;
    std::chrono::milliseconds header_timeout{10'000};  // first byte to end of headers
    std::chrono::milliseconds body_timeout{10'000};
    std::chrono::milliseconds write_timeout{10'000};
    std::chrono::milliseconds idle_timeout{30'000};    // keep-alive wait for the next request
    std::chrono::milliseconds shutdown_grace{10'000};  // in-flight requests get this long
    std::filesystem::path static_dir{"static"};
    std::filesystem::path templates_dir{"templates"};
    std::chrono::seconds static_max_age{3600};
    // Reached through a TLS-terminating proxy: cookies get Secure and the __Host- prefix even
    // though nidan itself speaks plain HTTP.
    bool behind_tls = false;
    // Strict-Transport-Security max-age sent on every response when tls.enabled or behind_tls;
    // 0 sends no header. One year, the value browsers' preload lists ask for.
    std::chrono::seconds hsts_max_age{31'536'000};
    // A listener on a non-loopback address without TLS and without behind_tls refuses to start
    // (passwords would cross the network in clear) unless this is true.
    bool allow_plain_http = false;
    // Open connections one client holds at most (an IPv6 client counted by its /64); counted by
    // the socket's peer, so behind a proxy this counts the proxy. 256: carrier-grade NAT puts
    // hundreds of customers behind one address, each browser opening ~6 connections.
    std::size_t max_connections_per_client = 256;
    // IPv4/IPv6 addresses (as written, checked with inet_pton) whose X-Forwarded-For entry is
    // taken as the client address; the header from anyone else is ignored.
    std::vector<std::string> trusted_proxies;
    // Where customers reach nidan (scheme, host, optional port and path prefix, no trailing
    // slash): the links in mails are built from it, never from a request's Host header, which
    // anyone can set.
    std::string public_url = "http://127.0.0.1:8080";
};

struct tls_config {
    bool enabled = false;
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
};

enum class storage_backend { lmdb, postgres };

struct storage_config {
    storage_backend backend = storage_backend::lmdb;
    // postgres: the libpq connection URI, a file holding the password (or "" for libpq's own
    // means), connections per process, and the bounds of every connect and statement.
    std::string postgres_url;
    std::filesystem::path postgres_password_file;
    unsigned postgres_pool_size = 4;
    std::chrono::milliseconds postgres_connect_timeout{5000};
    std::chrono::milliseconds postgres_statement_timeout{5000};
    std::filesystem::path data_dir{"data"};
    std::uint64_t map_size_mib = 1024;
    unsigned max_readers = 512;
    durability_mode durability = durability_mode::full_sync;
    // Empty: the server secret (code MACs, device tokens, CSRF tokens) lives in LMDB's meta
    // table. Otherwise this file holds it (created 0600 at first start) and LMDB never does.
    std::filesystem::path secret_file;
    std::chrono::seconds sweep_interval{60};
    std::size_t writer_max_batch = 256;  // closures committed together at most
    std::size_t writer_max_queue = 10000;
};

// How the hash threads are scheduled: as the io threads, or (idle) only on CPU time no other
// thread of the machine wants (Linux SCHED_IDLE).
enum class hash_scheduling { normal, idle };

struct hash_config {
    unsigned threads = 2;
    std::uint32_t memory_kib = 19456;
    std::uint32_t iterations = 2;
    std::size_t max_queue = 64;  // password checks waiting past this answer 503
    int thread_nice = 0;         // above 0 the hash threads yield the cores to the io threads
    hash_scheduling scheduling = hash_scheduling::normal;
    // Bounds on the cost of stored and imported hashes (core/security/hash_cost.hpp): a hash with m or t
    // above max_cost_factor times ours is refused at import and never computed at login; the
    // import also refuses m or t below the floors.
    std::uint32_t max_cost_factor = 4;
    std::uint32_t import_min_memory_kib = 7168;  // OWASP's smallest Argon2id memory (with t=5)
    std::uint32_t import_min_iterations = 1;     // RFC 9106's first choice is t=1 (with 2 GiB)
};

struct smtp_config {
    host_port relay{"127.0.0.1", 2525};
    smtp_tls_mode tls = smtp_tls_mode::none;
    bool verify_certificate = true;            // against ca_file, or the system store when empty
    std::filesystem::path ca_file;
    std::string username;                      // AUTH when non-empty
    std::filesystem::path password_file;       // the AUTH password, first line of this file
    bool allow_auth_without_tls = false;
    std::string helo_name = "localhost";
    unsigned pool_size = 2;                    // connections to the relay at most
    unsigned max_messages_per_connection = 100;
    std::chrono::seconds connection_max_age{300};
    std::chrono::seconds idle_timeout{30};     // an unused pooled connection is closed after this
    // Per-phase deadlines (RFC 5321 4.5.3.2 gives minutes; a code lives 20 minutes, so ours are
    // seconds, and a slow relay is left for another attempt instead).
    std::chrono::milliseconds connect_timeout{10'000};   // resolve + TCP connect
    std::chrono::milliseconds tls_timeout{10'000};       // TLS handshake
    std::chrono::milliseconds greeting_timeout{30'000};  // the 220 banner
    std::chrono::milliseconds command_timeout{30'000};   // EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET, QUIT
    std::chrono::milliseconds data_timeout{60'000};      // DATA: sending the message and its final reply
    std::vector<std::chrono::seconds> retry_backoff{std::chrono::seconds{5}, std::chrono::seconds{15},
                                                    std::chrono::seconds{30}, std::chrono::seconds{60}};
    unsigned max_attempts = 20;                // a mail without expiry fails after this many tries
};

// Who the customer is dealing with: shown on pages and in mails. Defaults are the manual's.
// The operator's texts (its name, the support hours, the mails' sender name) are in the
// language catalogs ([operator], [mail] in templates/lang/*.toml); these are not texts.
struct operator_config {
    std::string language = "ja";                      // the default language, the catalogs' reference
    std::string timezone = "Asia/Tokyo";              // of the times shown to customers
    std::string mail_domain = "comm.rakuten.co.jp";  // the domain-filter advice names it
    std::string support_phone = "0120-987-123";
    std::string enquiry_url = "https://comm.rakuten.co.jp/toiawase/selfcare-mail/";
};

struct mail_config {
    std::string from_address = "no-reply@comm.rakuten.co.jp";
};

struct code_config {
    unsigned length = 6;                   // digits
    std::chrono::seconds lifetime{1200};   // the manual's 20 minutes
    std::uint32_t max_attempts = 5;        // wrong codes before the code is dead
    std::uint32_t mails_per_hour = 5;      // code mails per account per hour
};

struct session_config {
    std::chrono::seconds idle_timeout{1800};        // 30 minutes without a request ends it
    std::chrono::seconds absolute_lifetime{43200};  // 12 hours after login at most
};

struct password_config {
    std::size_t min_length = 8;  // characters; NIST SP 800-63B's minimum
    // Not configurable: SP 800-63B asks that at least 64 be allowed; the bound only stops
    // huge bodies from reaching Argon2id.
    static constexpr std::size_t max_length = 1024;  // bytes
};

// Password failures: growing delays per client address and per account, the address's queue, the
// account's concurrency limit and budget (README.md's security section states the model,
// core/login/password_failures.hpp applies it), and an optional hard lock. conf/nidan.toml gives
// the reasoning behind each default.
struct throttle_config {
    unsigned address_free_failures = per_address_throttle.free_failures;
    std::chrono::milliseconds address_base_delay = per_address_throttle.base_delay;
    std::chrono::milliseconds address_max_delay = per_address_throttle.max_delay;
    std::chrono::seconds address_window = per_address_throttle.window;
    unsigned account_free_failures = per_account_throttle.free_failures;
    std::chrono::milliseconds account_base_delay = per_account_throttle.base_delay;
    std::chrono::milliseconds account_max_delay = per_account_throttle.max_delay;
    std::chrono::seconds account_window = per_account_throttle.window;
    // Delayed checks of one address that may wait behind the one being served (for other
    // accounts; a second one for the same account is refused); beyond, 429 at once.
    std::uint32_t address_queue_max = 4;
    // Delayed checks of one account in flight at once, across all addresses; beyond, 429 at once.
    std::uint32_t account_parallel_checks = 1;
    // Failures of one account in a sliding account_window after which strangers' checks are
    // refused unchecked until the count falls below; 0: no budget.
    std::uint32_t account_budget = 15;
    // Failures on one account within account_window that lock its password login until
    // `nidan user unlock`; 0 never locks (the default: delays only, so nobody can lock a customer
    // out by failing on purpose). Browsers holding the account's device cookie are not locked out.
    std::uint32_t account_lock_after = 0;

    throttle_policy per_address() const {
        return {address_free_failures, address_base_delay, address_max_delay, address_window};
    }
    throttle_policy per_account() const {
        return {account_free_failures, account_base_delay, account_max_delay, account_window};
    }
};

struct address_config {
    std::uint32_t phone_strikes = 3;  // wrong contact phone numbers before the form locks
};

// A new registered address (address form or account page) proven by its code waits this long
// before it replaces the registered one; the registered address is told at once, with a link
// that cancels. 0: it replaces it when the code is verified.
struct address_change_config {
    std::chrono::hours hold{72};
    // The address form only for accounts without a registered address or whose address bounced
    // (a code mail to it is on the outbox's failed list); false: for everyone, as the manual has it.
    bool only_without_working_address = false;
};

struct auth_config {
    // Plain GET /auth/verify (no portal) accepts a session of any portal; IDs are unique only
    // per portal, so it answers 404 unless this is true.
    bool verify_any_portal = false;
};

struct menu_item {
    std::string id;   // [a-z0-9-]{1,32}; its label is the catalogs' portal.<portal id>.menu.<id>
    std::string url;  // "/path" on this site or "https://..."; the services are other applications
};

// One self-care portal: its own login page, customers and post-login screen. [[portal]] in the
// file; --set does not reach these. Its texts (name, title, the code screen's link and note,
// the menu's labels) are the catalogs' [portal.<id>] table.
struct portal_config {
    std::string id;                 // [a-z0-9-]{1,32}, unique; stored with each account
    std::string login_path;         // where its login page is served, e.g. /selfcare/SelfcareLogin.in
    std::string language;           // its default language; empty: operator.language
    std::string home;               // after login: "account" (details + change forms) or "menu"
    std::vector<menu_item> menu;    // home = "menu": 設定内容選択 entries
    std::string manual_url;         // マニュアルダウンロード link; may be empty
};

// The manual's three portals (IP phone, Mobile Choice "050", Free Voice / Mobile Choice).
std::vector<portal_config> manual_portals();

struct config {
    server_config server;
    tls_config tls;
    storage_config storage;
    hash_config hash;
    smtp_config smtp;
    operator_config operator_info;
    mail_config mail;
    code_config code;
    session_config session;
    password_config password;
    throttle_config throttle;
    address_config address;
    address_change_config address_change;
    auth_config auth;
    log_config log;
    std::vector<portal_config> portals = manual_portals();

    // The configured portals' ids, the only ones an account may belong to (views of `portals`).
    std::vector<std::string_view> portal_ids() const {
        std::vector<std::string_view> ids;
        for (const auto& p : portals) ids.push_back(p.id);
        return ids;
    }
};


// "section.key=value" as given to --set.
struct config_override {
    std::string key;
    std::string value;
};

// Parses "section.key=value"; throws config_error when there is no '=' or no section.
config_override parse_override(const std::string& text);

// Reads the TOML file (an empty path means embedded defaults only), applies the overrides in
// order, validates. Unknown keys and bad values throw config_error naming the key.
config load_config(const std::filesystem::path& file, const std::vector<config_override>& overrides);

// Parses "host:port" or "[v6]:port"; throws config_error(key, ...) on failure.
host_port parse_host_port(const std::string& key, const std::string& text);

}  // namespace nidan
