// `nidan user add|show|list|passwd|lock|unlock|delete|sessions|logout|import`: account
// administration for operators.
// Works beside a running server on the same data folder: LMDB serialises the two processes'
// writes through its lock file.
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "core/account/account_import.hpp"
#include "core/account/account_rules.hpp"
#include "core/login/address_change.hpp"
#include "core/base/clock.hpp"
#include "core/account/credentials.hpp"
#include "core/base/log.hpp"
#include "core/login/login_context.hpp"
#include "core/security/password_hasher.hpp"
#include "core/base/text.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"
#include "server/cli/password_input.hpp"
#include "storage/open/open_backend.hpp"

namespace nidan::cli {
namespace {

constexpr const char* user_usage = R"(usage:
  nidan user add    --portal P --id ID --phone DIGITS [--email ADDRESS] [--password-stdin]
  nidan user show   --portal P --id ID
  nidan user list   [--portal P]
  nidan user passwd --portal P --id ID [--password-stdin]
  nidan user lock   --portal P --id ID
  nidan user unlock --portal P --id ID
  nidan user delete --portal P --id ID
  nidan user sessions --portal P --id ID
  nidan user logout --portal P --id ID
  nidan user import FILE.csv [--skip-invalid]
every form also takes --config FILE and --set section.key=value
portals: the ids of the config's [[portal]] tables (shipped: ip-phone, mc050, freevoice)
)";

// A failure the user should read: one line on stderr, exit status 1.
struct command_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// Wrong arguments: one line and the usage, exit status 2.
struct usage_failure : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

std::string required(std::vector<std::string>& args, const std::string& name) {
    std::string value;
    if (!take_option(args, name, value)) throw usage_failure(name + " is required");
    return value;
}

void no_more(const std::vector<std::string>& args) {
    if (!args.empty()) throw usage_failure("unexpected argument: " + args.front());
}

void check(const problem& why) {
    if (why) throw command_failure(*why);
}

struct account_key {
    std::string portal;
    std::string id;
    std::string text() const { return portal + "/" + id; }
};

command_failure already_exists(const account_key& key) {
    return command_failure("account " + key.text() + " already exists");
}

account_key take_key(const config& cfg, std::vector<std::string>& args) {
    account_key key{required(args, "--portal"), required(args, "--id")};
    check(portal_problem(key.portal, cfg.portal_ids()));
    check(selfcare_id_problem(key.id));
    return key;
}

std::string obtain_password(const config& cfg, bool from_stdin) {
    auto password = from_stdin ? read_password_stdin() : prompt_password("password: ", true);
    if (!password) throw command_failure(from_stdin ? "no password on standard input" : "no password given");
    check(password_problem(*password, cfg.password.min_length, password_config::max_length));
    return std::move(*password);
}

password_hasher make_hasher(const config& cfg) {
    return password_hasher(hash_params{cfg.hash.memory_kib, cfg.hash.iterations});
}

// Opens the data folder of the config and runs fn in one write transaction, committed when fn
// returns normally.
template <class Fn>
void in_write(const config& cfg, Fn fn) {
    const auto store = storage::open_backend(cfg.storage);
    storage::write_now(*store, fn);
    store->stop();
}

// Commands that only look at or change existing accounts must not create an empty database
// when storage.data_dir has a typo.
void require_data(const config& cfg) {
    if (const auto missing = storage::missing_data(cfg.storage); !missing.empty()) throw command_failure(missing);
}

template <class Fn>
void in_read(const config& cfg, Fn fn) {
    require_data(cfg);
    const auto store = storage::open_backend(cfg.storage);
    storage::read_now(*store, fn);
    store->stop();
}

account load_existing(const login::record_reader& txn, const account_key& key) {
    auto found = txn.find_account(key.portal, key.id);
    if (!found) throw command_failure("no account " + key.text());
    return std::move(*found);
}

// Removes the account's pending code and its sessions, returning how many sessions there were.
// The new credential epoch (or the deletion) already makes them worthless; removing them keeps
// `user sessions` and the tables truthful.
std::size_t end_sessions(storage::record_store& txn, const account_key& key) {
    txn.drop_code(key.portal, key.id);
    const auto sessions = txn.sessions_of(key.portal, key.id, unix_now());
    for (const auto& [hash, record] : sessions) txn.drop_session(hash);
    return sessions.size();
}

std::string utc_text(std::int64_t t) {
    char buffer[32];
    const auto tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

int add(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    std::string email, phone_raw = required(args, "--phone");
    take_option(args, "--email", email);
    const bool from_stdin = take_flag(args, "--password-stdin");
    no_more(args);
    check(email_problem(email));
    auto phone = normalise_phone(phone_raw);
    if (!phone) check(phone_problem(phone_raw).value_or("phone: not a valid number"));

    account a;
    a.portal = key.portal;
    a.selfcare_id = key.id;
    a.email = email;
    a.phone = *phone;
    // Fail before prompting, so an operator does not type a password twice for nothing.
    if (storage::missing_data(cfg.storage).empty()) {
        in_read(cfg, [&](const storage::record_view& txn) {
            if (txn.find_account(key.portal, key.id)) throw already_exists(key);
        });
    }
    a.password_hash = make_hasher(cfg).hash(obtain_password(cfg, from_stdin));
    a.created_at = a.updated_at = unix_now();
    // Fresh, so that sessions of an earlier account of the same ID never match this one.
    revoke_credentials(a);
    in_write(cfg, [&](storage::record_store& txn) {
        if (!txn.insert_account(a)) throw already_exists(key);
    });
    log::audit("account.created").add("actor", "cli").add("portal", key.portal).add("id", key.id)
        .add("email", log::mask_email(email)).add("phone", log::mask_phone(a.phone));
    std::cout << "created " << key.text() << "\n";
    return 0;
}

void print_account(const account& a) {
    // The hash's parameters are shown (they tell whether a re-hash is due), the hash itself not.
    const auto params_end = a.password_hash.find('$', a.password_hash.find("$m=") + 1);
    const auto params = a.password_hash.find("$m=") == std::string::npos
                            ? std::string("unknown")
                            : a.password_hash.substr(a.password_hash.find("$m=") + 1, params_end - a.password_hash.find("$m=") - 1);
    std::cout << "portal: " << a.portal << "\n"
              << "id: " << a.selfcare_id << "\n"
              << "email: " << (a.email.empty() ? "(none)" : a.email) << "\n"
              << "phone: " << a.phone << "\n"
              << "password: argon2id " << params << "\n"
              << "created: " << utc_text(a.created_at) << "\n"
              << "updated: " << utc_text(a.updated_at) << "\n"
              << "password_locked: " << (a.password_locked ? "yes" : "no") << "\n"
              << "operator_locked: " << (a.operator_locked ? "yes" : "no") << "\n"
              << "pending_email: "
              << (a.pending_email.empty() ? std::string("(none)") : a.pending_email + " from " + utc_text(a.pending_email_at))
              << "\n"
              << "address_form_locked: " << (a.address_form_locked ? "yes" : "no") << "\n"
              << "phone_strikes: " << a.phone_strikes << "\n";
}

int show(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    no_more(args);
    in_read(cfg, [&](const storage::record_view& txn) {
        auto a = load_existing(txn, key);
        // Shown as the login would see it: a held address whose time has come is the registered one.
        login::settle_address_change(a, unix_now());
        print_account(a);
    });
    return 0;
}

int list(const config& cfg, std::vector<std::string> args) {
    std::string portal;
    if (take_option(args, "--portal", portal)) check(portal_problem(portal, cfg.portal_ids()));
    no_more(args);
    in_read(cfg, [&](const storage::record_view& txn) {
        txn.for_each_account(portal, [](const account& a) {
            std::cout << a.portal << "\t" << a.selfcare_id << "\t" << (a.email.empty() ? "-" : a.email)
                      << (a.address_form_locked ? "\tlocked" : "") << "\n";
            return true;
        });
    });
    return 0;
}

int passwd(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    const bool from_stdin = take_flag(args, "--password-stdin");
    no_more(args);
    in_read(cfg, [&](const storage::record_view& txn) { load_existing(txn, key); });  // fail before prompting
    const auto hash = make_hasher(cfg).hash(obtain_password(cfg, from_stdin));
    bool still_locked = false;
    std::size_t ended = 0;
    in_write(cfg, [&](storage::record_store& txn) {
        auto a = load_existing(txn, key);
        a.password_hash = hash;
        // The failures' lock goes with the password that was guessed at; support's own lock
        // stays until `user unlock`, since a reset alone does not say the account is safe again.
        a.password_locked = false;
        still_locked = a.operator_locked;
        a.updated_at = unix_now();
        revoke_credentials(a);
        txn.save_account(a);
        ended = end_sessions(txn, key);
    });
    log::audit("account.password_changed").add("actor", "cli").add("portal", key.portal).add("id", key.id)
        .add("sessions_ended", static_cast<std::uint64_t>(ended));
    std::cout << "password changed for " << key.text() << "; " << ended << " sessions ended\n";
    if (still_locked) std::cout << "the account stays locked: nidan user unlock lifts the lock\n";
    return 0;
}

// Support locks an account it believes compromised: its sessions, pending code and device tokens
// end at once, and no login passes (device token or not) until `user unlock`. The customer sees
// the lock notice after a right password. A held address change is dropped too: it may be the
// takeover support was called about, and nothing else but the owner's link would stop it.
int lock(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    no_more(args);
    require_data(cfg);
    std::size_t ended = 0;
    std::string dropped;
    in_write(cfg, [&](storage::record_store& txn) {
        auto a = load_existing(txn, key);
        a.operator_locked = true;
        a.updated_at = unix_now();
        login::settle_address_change(a, a.updated_at);  // one whose hold has passed is the address now
        dropped = std::exchange(a.pending_email, {});
        a.pending_email_at = 0;
        revoke_credentials(a);
        txn.save_account(a);
        ended = end_sessions(txn, key);
    });
    log::audit("account.locked").add("actor", "cli").add("portal", key.portal).add("id", key.id)
        .add("sessions_ended", static_cast<std::uint64_t>(ended))
        .add("held_address_dropped", dropped.empty() ? std::string("none") : log::mask_email(dropped));
    std::cout << "locked " << key.text() << "; " << ended << " sessions ended";
    if (!dropped.empty()) std::cout << "; held address change to " << dropped << " dropped";
    std::cout << "\n";
    return 0;
}

int sessions(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    no_more(args);
    in_read(cfg, [&](const storage::record_view& txn) {
        const auto a = load_existing(txn, key);
        std::size_t shown = 0;
        for (const auto& [hash, s] : txn.sessions_of(key.portal, key.id, unix_now())) {
            // Left over from before a revocation: no longer honoured, swept at its expiry.
            if (s.credential_epoch != a.credential_epoch) continue;
            std::cout << hex_prefix(hash, 6) << "\t" << (s.state == session_state::authenticated ? "authenticated" : "code_pending")
                      << "\tcreated=" << utc_text(s.created_at) << "\tlast_seen=" << utc_text(s.last_seen)
                      << "\texpires=" << utc_text(std::min(s.idle_expires_at, s.absolute_expires_at)) << "\n";
            ++shown;
        }
        std::cout << shown << " live sessions of " << key.text() << "\n";
    });
    return 0;
}

// Ends every session, the pending code and every device token of the account (a new credential
// epoch), without locking it: the customer logs in again with password and code.
int logout(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    no_more(args);
    require_data(cfg);
    std::size_t ended = 0;
    in_write(cfg, [&](storage::record_store& txn) {
        auto a = load_existing(txn, key);
        a.updated_at = unix_now();
        revoke_credentials(a);
        txn.save_account(a);
        ended = end_sessions(txn, key);
    });
    log::audit("account.sessions_ended").add("actor", "cli").add("portal", key.portal).add("id", key.id)
        .add("sessions_ended", static_cast<std::uint64_t>(ended)).add("device_tokens", "ended");
    std::cout << "logged out " << key.text() << ": " << ended << " sessions and every device token ended\n";
    return 0;
}

int unlock(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    no_more(args);
    require_data(cfg);
    in_write(cfg, [&](storage::record_store& txn) {
        auto a = load_existing(txn, key);
        a.password_locked = false;
        a.operator_locked = false;
        a.address_form_locked = false;
        a.phone_strikes = 0;
        a.updated_at = unix_now();
        txn.save_account(a);
        // The failures that locked it go too, or the next mistyped password would lock it again.
        const auto window = window_start(cfg.throttle.per_account(), a.updated_at);
        txn.clear_count(login::failures_per_account, login::account_subject(key.portal, key.id), window);
    });
    log::audit("account.unlocked").add("actor", "cli").add("portal", key.portal).add("id", key.id);
    std::cout << "unlocked " << key.text() << "\n";
    return 0;
}

int remove(const config& cfg, std::vector<std::string> args) {
    const auto key = take_key(cfg, args);
    no_more(args);
    require_data(cfg);
    std::size_t ended = 0;
    in_write(cfg, [&](storage::record_store& txn) {
        if (!txn.erase_account(key.portal, key.id)) throw command_failure("no account " + key.text());
        ended = end_sessions(txn, key);
    });
    log::audit("account.deleted").add("actor", "cli").add("portal", key.portal).add("id", key.id)
        .add("sessions_ended", static_cast<std::uint64_t>(ended));
    std::cout << "deleted " << key.text() << "\n";
    return 0;
}

// Plaintext passwords of an import are hashed on hash.threads threads: a file of thousands of
// accounts would otherwise take minutes.
void hash_rows(const config& cfg, std::vector<import_row>& rows) {
    const auto hasher = make_hasher(cfg);
    const unsigned workers = std::max(1u, cfg.hash.threads);
    std::atomic<std::size_t> next{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto work = [&] {
        try {
            for (std::size_t i; (i = next.fetch_add(1)) < rows.size();) {
                if (rows[i].phc.empty()) rows[i].phc = hasher.hash(rows[i].password);
                rows[i].password.assign(rows[i].password.size(), '\0');
            }
        } catch (...) {
            // Stop the others and report the first failure once every thread has ended.
            next = rows.size();
            std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
        }
    };
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < workers; ++i) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
}

int import(const config& cfg, std::vector<std::string> args) {
    const bool skip_invalid = take_flag(args, "--skip-invalid");
    if (args.size() != 1) throw usage_failure("import takes one CSV file");
    std::ifstream in(args.front(), std::ios::binary);
    if (!in) throw command_failure("cannot read " + args.front());
    // password.min_length and the [hash] cost bounds, as for every other way a password is set.
    auto parsed = parse_account_csv(in, import_rules_of(cfg));

    // Rows that clash with stored accounts are rejected like any other bad row.
    if (storage::missing_data(cfg.storage).empty()) {
        in_read(cfg, [&](const storage::record_view& txn) {
            std::erase_if(parsed.rows, [&](const import_row& row) {
                if (!txn.find_account(row.portal, row.selfcare_id)) return false;
                parsed.rejections.push_back({row.line, "account " + row.portal + "/" + row.selfcare_id + " already exists"});
                return true;
            });
        });
    }
    std::sort(parsed.rejections.begin(), parsed.rejections.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    for (const auto& r : parsed.rejections) std::cerr << args.front() << ":" << r.line << ": " << r.reason << "\n";
    if (!parsed.rejections.empty() && !skip_invalid) {
        throw command_failure(std::to_string(parsed.rejections.size()) +
                              " rejected rows; nothing imported (fix them, or pass --skip-invalid to import the rest)");
    }

    hash_rows(cfg, parsed.rows);
    const auto now = unix_now();
    in_write(cfg, [&](storage::record_store& txn) {
        for (const auto& row : parsed.rows) {
            account a;
            a.portal = row.portal;
            a.selfcare_id = row.selfcare_id;
            a.password_hash = row.phc;
            a.email = row.email;
            a.phone = row.phone;
            a.created_at = a.updated_at = now;
            revoke_credentials(a);  // as in add: nothing of an earlier account of this ID matches
            // Another process may have added the same account since the check above.
            if (!txn.insert_account(a))
                throw command_failure(args.front() + ":" + std::to_string(row.line) + ": account " + row.portal + "/" +
                                      row.selfcare_id + " was created meanwhile; nothing imported");
        }
    });
    for (const auto& row : parsed.rows) {
        log::audit("account.created").add("actor", "cli-import").add("portal", row.portal).add("id", row.selfcare_id)
            .add("email", log::mask_email(row.email)).add("phone", log::mask_phone(row.phone));
    }
    std::cout << "imported " << parsed.rows.size() << " accounts, rejected " << parsed.rejections.size() << " rows\n";
    return 0;
}

}  // namespace

int user_command(std::vector<std::string> args) {
    return run_command("user", user_usage, [&]() -> int {
        auto options = take_common_options(args);
        if (args.empty()) throw usage_failure("missing user command");
        const std::string sub = args.front();
        args.erase(args.begin());
        static const std::map<std::string, int (*)(const config&, std::vector<std::string>)> commands{
            {"add", add},       {"show", show},     {"list", list},   {"passwd", passwd},
            {"lock", lock},     {"unlock", unlock}, {"delete", remove}, {"sessions", sessions},
            {"logout", logout}, {"import", import},
        };
        auto it = commands.find(sub);
        if (it == commands.end()) throw usage_failure("unknown user command '" + sub + "'");
        const auto cfg = load(options);
        log::init(cfg.log);
        return it->second(cfg, std::move(args));
    });
}

}  // namespace nidan::cli
