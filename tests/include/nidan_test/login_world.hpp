#pragma once
// One integration test's world for the login tests: a temp data folder, an aiosmtpd capture
// relay, accounts made with `nidan user add --password-stdin`, and `nidan serve` pointed at the
// relay; plus reading the login code from the newest mail. Header-only: the support library is
// built without nidan headers and without Boost.Test, the integration tests have both.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nidan_test/mail.hpp"
#include "nidan_test/postgres_server.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/temp_dir.hpp"

namespace nidan_test {

// The password of every account a login_world makes. Distinctive, so the audit log can be
// searched for it.
inline const std::string account_password = "Sakura-Fubuki 2024!";

// Cheap Argon2id, for `nidan user add` and the server alike, so logins take milliseconds.
inline const std::vector<std::string> fast_hash{"hash.memory_kib=8192", "hash.iterations=1"};

// The code: the mail's only line of nothing but digits (the templates of every language put it
// on a line of its own); "" when the body has none.
inline std::string code_in(const std::string& body) {
    std::size_t start = 0;
    while (start < body.size()) {
        auto end = body.find('\n', start);
        if (end == std::string::npos) end = body.size();
        auto line = body.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.size() >= 4 && std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return line;
        start = end + 1;
    }
    return {};
}

struct code_mail {
    decoded_mail mail;
    std::string code;
};

// An account for `nidan user add`.
struct world_account {
    std::string portal;
    std::string id;
    std::string email;  // "" for an account without an address
    std::string phone;
};

class login_world {
public:
    // Makes `accounts` (password account_password), then starts the server with the relay,
    // short SMTP timeouts, fast_hash and `overrides` (more --set key=value). `relay_args` go to
    // tests/support/smtp_relay.py (e.g. "--reject-rcpt", ADDRESS).
    explicit login_world(const std::vector<world_account>& accounts, const std::vector<std::string>& overrides = {},
                         const std::vector<std::string>& relay_args = {})
        : relay_({relay_kind::aiosmtpd, mails_, 0, relay_args}) {
        if (postgres_backend_selected()) use_postgres();
        for (const auto& a : accounts) add_account(a);
        std::vector<std::string> settings{"smtp.relay=127.0.0.1:" + std::to_string(relay_.port()),
                                          "smtp.retry_backoff_s=1", "smtp.connect_timeout_ms=2000",
                                          "smtp.greeting_timeout_ms=2000", "smtp.command_timeout_ms=2000",
                                          "smtp.data_timeout_ms=3000"};
        settings.insert(settings.end(), fast_hash.begin(), fast_hash.end());
        settings.insert(settings.end(), backend_.begin(), backend_.end());
        settings.insert(settings.end(), overrides.begin(), overrides.end());
        settings_ = settings;
        server_ = std::make_unique<server_process>(data_.string(), settings_);
    }
    login_world(const login_world&) = delete;
    login_world& operator=(const login_world&) = delete;

    unsigned short port() const { return server_->port(); }
    std::string data_dir() const { return data_.string(); }
    // The test's temp folder (for more files of its own).
    const std::filesystem::path& dir() const { return dir_.path(); }
    server_process& server() { return *server_; }
    // The world's own PostgreSQL database; "" on LMDB.
    const std::string& postgres_url() const { return postgres_url_; }
    // The --set values that select this world's backend (none on LMDB), for more nidan commands.
    const std::vector<std::string>& backend_settings() const { return backend_; }

    // Stops the server (SIGTERM; it must exit 0) and leaves it stopped, e.g. to copy the data folder.
    void stop() {
        if (!server_) return;
        server_->signal(SIGTERM);
        const auto code = server_->wait_exit(std::chrono::seconds(20));
        BOOST_TEST_REQUIRE(code.has_value(), "nidan serve did not stop:\n" << server_->log_text());
        BOOST_TEST_REQUIRE(*code == 0, "nidan serve exited " << *code << ":\n" << server_->log_text());
        server_.reset();
    }
    // Stops the server if it runs and starts it again with the same relay and settings plus
    // `more` (later --set values win), on `data` (default: this world's folder; e.g. a copy).
    void restart(const std::vector<std::string>& more = {}, const std::filesystem::path& data = {}) {
        stop();
        auto settings = settings_;
        settings.insert(settings.end(), more.begin(), more.end());
        server_ = std::make_unique<server_process>((data.empty() ? data_ : data).string(), settings);
    }
    relay_process& relay() { return relay_; }

    // Several nodes (PostgreSQL only): another `nidan serve` on this world's database, with a
    // data folder and a port of its own and the world's settings plus `more` (later --set values
    // win), as a second machine behind the same load balancer would be. Node 0 is server().
    server_process& add_node(const std::vector<std::string>& more = {}) {
        BOOST_TEST_REQUIRE(!postgres_url_.empty(), "login_world::add_node needs storage.backend = postgres");
        const auto folder = dir_ / ("node" + std::to_string(nodes_.size() + 1));
        register_postgres_url(folder.string(), postgres_url_);
        auto settings = settings_;
        settings.insert(settings.end(), more.begin(), more.end());
        nodes_.push_back(std::make_unique<server_process>(folder.string(), settings));
        return *nodes_.back();
    }
    std::size_t node_count() const { return 1 + nodes_.size(); }
    server_process& node(std::size_t i) { return i == 0 ? *server_ : *nodes_.at(i - 1); }
    std::size_t mails_received() const { return mail_files(mails_).size(); }
    // Where the relay keeps the mails it accepted (*.eml).
    const std::filesystem::path& mail_dir() const { return mails_; }

    // Waits (bounded) for a mail not seen before, addressed to `to`, and reads its code.
    code_mail next_code(const std::string& to, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::optional<code_mail> found;
        eventually(
            [&] {
                for (const auto& file : mail_files(mails_)) {
                    if (!seen_.insert(file).second) continue;
                    auto mail = decode_mail(file);
                    if (mail.to_address != to) continue;
                    auto code = code_in(mail.body);
                    found = code_mail{std::move(mail), std::move(code)};
                    return true;
                }
                return false;
            },
            timeout, std::chrono::milliseconds(50));
        BOOST_TEST_REQUIRE(found.has_value(), "no code mail for " << to << "\nrelay:\n"
                                                                  << relay_.output() << "\nserver log:\n"
                                                                  << server_->log_text());
        BOOST_TEST_REQUIRE(found->code.size() == 6u, "no 6-digit code in:\n" << found->mail.body);
        return std::move(*found);
    }

    // Waits (bounded) for a mail not seen before, addressed to `to`, with this subject. Unlike
    // next_code(), it passes over other mails without marking them seen, so mails that one
    // request sends to two addresses can be read in either order.
    decoded_mail next_mail(const std::string& to, const std::string& subject,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::optional<decoded_mail> found;
        eventually(
            [&] {
                for (const auto& file : mail_files(mails_)) {
                    if (seen_.count(file) != 0) continue;
                    auto mail = decode_mail(file);
                    if (mail.to_address != to || mail.subject != subject) continue;
                    seen_.insert(file);
                    found = std::move(mail);
                    return true;
                }
                return false;
            },
            timeout, std::chrono::milliseconds(50));
        BOOST_TEST_REQUIRE(found.has_value(), "no mail \"" << subject << "\" for " << to << "\nrelay:\n"
                                                            << relay_.output() << "\nserver log:\n"
                                                            << server_->log_text());
        return std::move(*found);
    }

    // Every mail the relay stored for `to` so far, seen or not.
    std::vector<decoded_mail> mails_to(const std::string& to) const {
        std::vector<decoded_mail> out;
        for (const auto& file : mail_files(mails_))
            if (auto mail = decode_mail(file); mail.to_address == to) out.push_back(std::move(mail));
        return out;
    }

    // `nidan user ARGS...` on this world's data folder (and its cheap hash), while the server runs.
    command_result user(std::vector<std::string> args, const std::string& stdin_text = "") const {
        args.insert(args.begin(), "user");
        args.insert(args.end(), {"--config", source_dir() + "/conf/nidan.toml", "--set", "storage.data_dir=" + data_.string()});
        for (const auto& s : fast_hash) args.insert(args.end(), {"--set", s});
        for (const auto& s : backend_) args.insert(args.end(), {"--set", s});
        return run_nidan(args, stdin_text, std::chrono::seconds(30));
    }
    // `nidan user add` of one more account (password account_password, or `pw`).
    void add_account(const world_account& a, const std::string& pw = account_password) const {
        std::vector<std::string> args{"add", "--portal", a.portal, "--id", a.id, "--phone", a.phone, "--password-stdin"};
        if (!a.email.empty()) args.insert(args.end(), {"--email", a.email});
        const auto added = user(args, pw + "\n");
        BOOST_TEST_REQUIRE(added.exit_code == 0, "nidan user add " << a.portal << "/" << a.id << ": " << added.err);
    }

    // True when no mail arrives (and the relay sees no MAIL command) for `quiet`.
    bool no_mail_for(std::chrono::milliseconds quiet) {
        std::this_thread::sleep_for(quiet);
        return mails_received() == 0 && relay_.count_events("MAIL") == 0;
    }

private:
    // NIDAN_TEST_BACKEND=postgres: a database of this world's own on the executable's cluster,
    // migrated with `nidan db migrate`; the server and every `nidan user` use it.
    void use_postgres() {
        postgres_url_ = shared_postgres().create_database();
        register_postgres_url(data_.string(), postgres_url_);
        backend_ = {"storage.backend=postgres", "storage.postgres_url=" + postgres_url_};
        std::vector<std::string> args{"db", "migrate", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                      "storage.data_dir=" + data_.string()};
        for (const auto& s : backend_) args.insert(args.end(), {"--set", s});
        const auto migrated = run_nidan(args, "", std::chrono::seconds(30));
        BOOST_TEST_REQUIRE(migrated.exit_code == 0, "nidan db migrate: " << migrated.err << migrated.out);
    }

    temp_dir dir_;
    std::filesystem::path data_ = dir_ / "data";
    std::filesystem::path mails_ = dir_ / "mails";
    relay_process relay_;
    std::string postgres_url_;
    std::vector<std::string> backend_;
    std::vector<std::string> settings_;
    std::unique_ptr<server_process> server_;
    std::vector<std::unique_ptr<server_process>> nodes_;  // add_node()'s
    std::set<std::filesystem::path> seen_;
};

}  // namespace nidan_test
