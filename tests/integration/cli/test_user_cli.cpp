// Runs the real `nidan user ...` operator commands against LMDB folders in temporary
// directories, or with NIDAN_TEST_BACKEND=postgres against a database of their own on the
// test cluster, and checks exit codes, what they print, and what they leave in the store: as
// `nidan user show` reports it, and as stored_state.hpp's data_folder reads it (on either
// backend) once the process has ended.
#define BOOST_TEST_MODULE user_cli
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/security/password_hasher.hpp"
#include "nidan_test/mail_outbox.hpp"
#include "nidan_test/postgres_server.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"
#include "stored_state.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;

namespace {

// Cheap Argon2id parameters: every add/passwd/import hashes, and the defaults would make the
// suite slow without testing anything more.
constexpr std::uint32_t test_memory_kib = 8192;
constexpr std::uint32_t test_iterations = 1;
const std::string test_params = "argon2id m=8192,t=1,p=1";

nidan::password_hasher test_hasher() { return nidan::password_hasher({test_memory_kib, test_iterations}); }

std::vector<std::string> fast_hash() {
    return {"hash.memory_kib=" + std::to_string(test_memory_kib),
            "hash.iterations=" + std::to_string(test_iterations)};
}

// `nidan user ARGS --config conf/nidan.toml --set storage.data_dir=DATA --set SETS...`
command_result nidan_user(const std::string& data_dir, std::vector<std::string> args,
                          const std::string& input = "", const std::vector<std::string>& sets = fast_hash()) {
    args.insert(args.begin(), "user");
    args.insert(args.end(), {"--config", source_dir() + "/conf/nidan.toml", "--set", "storage.data_dir=" + data_dir});
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    return run_nidan(args, input);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The "key: value" lines of `nidan user show`.
std::map<std::string, std::string> fields_of(const std::string& show_output) {
    std::map<std::string, std::string> fields;
    for (const auto& line : lines_of(show_output)) {
        const auto colon = line.find(": ");
        if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 2);
    }
    return fields;
}

bool mentions(const command_result& r, const std::string& text) {
    return r.out.find(text) != std::string::npos || r.err.find(text) != std::string::npos;
}

// Lines on stderr other than the audit trail, which the commands write there on success.
std::vector<std::string> messages_of(const std::string& err) {
    std::vector<std::string> messages;
    for (auto& line : lines_of(err))
        if (!line.starts_with("ts=")) messages.push_back(std::move(line));
    return messages;
}

// The store of a folder, read and written from the test process: its LMDB files, or its
// database on PostgreSQL. Only while no nidan command runs on it, so the test never races one.
std::optional<nidan::account> stored(const std::string& data_dir, const std::string& portal, const std::string& id) {
    return data_folder(data_dir).account(portal, id);
}

std::size_t stored_count(const std::string& data_dir) {
    auto state = data_folder(data_dir).snapshot();
    return state.tables["accounts"].size();
}

// Overwrites the stored account of a's key, which must exist.
void store(const std::string& data_dir, const nidan::account& a) {
    const bool found =
        data_folder(data_dir).edit_account(a.portal, a.selfcare_id, [&](nidan::account& stored_one) { stored_one = a; });
    BOOST_REQUIRE(found);
}

// Cases about what only LMDB has (a data folder, its map size) run on LMDB only.
boost::test_tools::assertion_result on_lmdb(boost::unit_test::test_unit_id) { return !postgres_backend_selected(); }

// Whether a migrated store is there: `nidan db status` exits 0 only on the schema it needs. On
// LMDB it would create the folder, so there the folder's existence is the answer.
bool store_exists(const std::string& data_dir) {
    if (!postgres_backend_selected()) return std::filesystem::exists(data_dir);
    return run_nidan({"db", "status", "--config", source_dir() + "/conf/nidan.toml", "--set", "storage.data_dir=" + data_dir})
               .exit_code == 0;
}

struct workspace {
    // On PostgreSQL the folder's database: migrated, as `nidan db migrate` leaves it, or created
    // and left empty, as a mistyped storage.postgres_url may name one.
    enum class database { migrated, without_schema };

    temp_dir dir;
    std::string data = (dir / "data").string();

    explicit workspace(database db = database::migrated) {
        if (db == database::migrated) {
            use_postgres_if_selected(data);
        } else if (postgres_backend_selected()) {
            register_postgres_url(data, shared_postgres().create_database());
        }
    }

    command_result user(std::vector<std::string> args, const std::string& input = "") const {
        return nidan_user(data, std::move(args), input);
    }
    command_result add(const std::string& portal, const std::string& id, const std::string& phone,
                       const std::string& email, const std::string& password) const {
        std::vector<std::string> args{"add", "--portal", portal, "--id", id, "--phone", phone, "--password-stdin"};
        if (!email.empty()) args.insert(args.end(), {"--email", email});
        return user(args, password + "\n");
    }
    // `nidan outbox ARGS`, on the same store.
    command_result outbox(std::vector<std::string> args) const {
        args.insert(args.begin(), "outbox");
        args.insert(args.end(), {"--config", source_dir() + "/conf/nidan.toml", "--set", "storage.data_dir=" + data});
        return run_nidan(args);
    }
    command_result show(const std::string& portal, const std::string& id) const {
        return user({"show", "--portal", portal, "--id", id});
    }
    std::string write_file(const std::string& name, const std::string& content) const {
        const auto path = (dir / name).string();
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }
};

// A CSV field holding commas (PHC strings do: "m=...,t=...,p=1") must be quoted.
std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

BOOST_AUTO_TEST_CASE(add_show_and_list) {
    workspace w;
    const std::string password = "Plum blossom 2024";
    auto added = w.add("mc050", "taro", "090-1234-5678", "taro@example.jp", password);
    BOOST_TEST(added.exit_code == 0);
    BOOST_TEST(added.out == "created mc050/taro\n");
    BOOST_TEST(!mentions(added, password));
    // The audit record masks the contact data.
    BOOST_TEST(added.err.find("event=account.created") != std::string::npos);
    BOOST_TEST(added.err.find("09012345678") == std::string::npos);

    auto second = w.add("freevoice", "hanako", "0312345678", "", "Another pass 99");
    BOOST_TEST(second.exit_code == 0);

    auto shown = w.show("mc050", "taro");
    BOOST_TEST(shown.exit_code == 0);
    auto f = fields_of(shown.out);
    BOOST_TEST(f["portal"] == "mc050");
    BOOST_TEST(f["id"] == "taro");
    BOOST_TEST(f["email"] == "taro@example.jp");
    BOOST_TEST(f["phone"] == "09012345678");
    BOOST_TEST(f["password"] == test_params);
    BOOST_TEST(f["password_locked"] == "no");
    BOOST_TEST(f["address_form_locked"] == "no");
    BOOST_TEST(f["phone_strikes"] == "0");
    BOOST_TEST(f["created"].size() == std::string("2024-01-01T00:00:00Z").size());
    BOOST_TEST(!mentions(shown, password));

    // Neither the hash nor its salt is printed.
    const auto a = stored(w.data, "mc050", "taro");
    BOOST_REQUIRE(a);
    const auto salt_and_hash = a->password_hash.substr(a->password_hash.rfind("p=1$") + 4);
    BOOST_TEST(!mentions(shown, salt_and_hash.substr(0, salt_and_hash.find('$'))));
    BOOST_TEST(!mentions(shown, salt_and_hash.substr(salt_and_hash.find('$') + 1)));
    BOOST_TEST(shown.out.find("$argon2") == std::string::npos);
    BOOST_TEST((test_hasher().verify(a->password_hash, password) == nidan::password_hasher::verdict::match));

    BOOST_TEST(fields_of(w.show("freevoice", "hanako").out)["email"] == "(none)");

    auto all = w.user({"list"});
    BOOST_TEST(all.exit_code == 0);
    const std::vector<std::string> expected{"freevoice\thanako\t-", "mc050\ttaro\ttaro@example.jp"};
    BOOST_TEST(lines_of(all.out) == expected, boost::test_tools::per_element());
    auto one = w.user({"list", "--portal", "mc050"});
    BOOST_TEST(one.exit_code == 0);
    BOOST_TEST(one.out == "mc050\ttaro\ttaro@example.jp\n");
    BOOST_TEST(!mentions(all, password));
}

// A deployment with portals of its own: add, list and import accept the configured ids and
// refuse the shipped ones it does not have.
BOOST_AUTO_TEST_CASE(the_configured_portals_are_the_ones_accounts_may_belong_to) {
    workspace w;
    std::ifstream shipped(source_dir() + "/conf/nidan.toml");
    std::string text{std::istreambuf_iterator<char>(shipped), std::istreambuf_iterator<char>()};
    text = text.substr(0, text.find("\n[[portal]]\n") + 1);
    // The user commands need no page texts, so no catalog entries for the new portal here.
    text += "[[portal]]\nid = \"hikari-denwa\"\nlogin_path = \"/hikari/login\"\nhome = \"account\"\n";
    const auto config_file = w.write_file("own-portals.toml", text);
    const auto own = [&](std::vector<std::string> args, const std::string& input = "") {
        args.insert(args.begin(), "user");
        args.insert(args.end(), {"--config", config_file, "--set", "storage.data_dir=" + w.data});
        for (const auto& s : fast_hash()) args.insert(args.end(), {"--set", s});
        return run_nidan(args, input);
    };

    const auto added = own({"add", "--portal", "hikari-denwa", "--id", "taro", "--phone", "0312345678", "--password-stdin"},
                           "Plum blossom 2024\n");
    BOOST_TEST(added.exit_code == 0, added.out << added.err);
    BOOST_TEST(added.out == "created hikari-denwa/taro\n");
    const auto shipped_one = own({"add", "--portal", "ip-phone", "--id", "jiro", "--phone", "0312345678",
                                  "--password-stdin"},
                                 "Plum blossom 2024\n");
    BOOST_TEST(shipped_one.exit_code == 1);
    BOOST_TEST(shipped_one.err.find("hikari-denwa") != std::string::npos, shipped_one.err);
    const auto listed = own({"list", "--portal", "hikari-denwa"});
    BOOST_TEST(listed.exit_code == 0, listed.err);
    BOOST_TEST(listed.out == "hikari-denwa\ttaro\t-\n");

    const auto csv = w.write_file("own.csv", "portal,id,email,phone,password\n"
                                             "hikari-denwa,hanako,,0312345678,Plain password one\n"
                                             "mc050,saburo,,0312345678,Plain password two\n");
    const auto imported = own({"import", csv});
    BOOST_TEST(imported.exit_code != 0, imported.out << imported.err);  // a bad row: nothing imported
    BOOST_TEST(imported.err.find("portal") != std::string::npos, imported.err);
    const auto skipping = own({"import", csv, "--skip-invalid"});
    BOOST_TEST(skipping.exit_code == 0, skipping.out << skipping.err);
    BOOST_TEST(skipping.out == "imported 1 accounts, rejected 1 rows\n");
    BOOST_TEST(stored(w.data, "hikari-denwa", "hanako").has_value());
    BOOST_TEST(!stored(w.data, "mc050", "saburo").has_value());
    BOOST_TEST(stored_count(w.data) == 2u);
}

BOOST_AUTO_TEST_CASE(show_reports_the_hash_parameters_in_use) {
    workspace w;
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "", "First password 1").exit_code == 0);
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["password"] == test_params);
    // A password set with other parameters carries them: show tells a re-hash is due or done.
    auto changed = nidan_user(w.data, {"passwd", "--portal", "mc050", "--id", "taro", "--password-stdin"},
                              "Second password 2\n", {"hash.memory_kib=16384", "hash.iterations=2"});
    BOOST_TEST(changed.exit_code == 0);
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["password"] == "argon2id m=16384,t=2,p=1");
}

BOOST_AUTO_TEST_CASE(duplicate_add_fails_naming_the_account) {
    workspace w;
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "taro@example.jp", "First password 1").exit_code == 0);
    auto again = w.add("mc050", "taro", "08011112222", "other@example.jp", "Second password 2");
    BOOST_TEST(again.exit_code == 1);
    BOOST_TEST(again.out.empty());
    BOOST_TEST(lines_of(again.err).size() == 1u);
    BOOST_TEST(again.err.find("mc050/taro") != std::string::npos);
    BOOST_TEST(again.err.find("already exists") != std::string::npos);
    BOOST_TEST(!mentions(again, "Second password 2"));
    // Refused before the password is asked for: nothing on stdin gives the same answer.
    auto unprompted = w.user({"add", "--portal", "mc050", "--id", "taro", "--phone", "09012345678", "--password-stdin"});
    BOOST_TEST(unprompted.exit_code == 1);
    BOOST_TEST(unprompted.err == again.err);
    // The first account is untouched.
    auto f = fields_of(w.show("mc050", "taro").out);
    BOOST_TEST(f["email"] == "taro@example.jp");
    BOOST_TEST(f["phone"] == "09012345678");
    // The same id in another portal is another account.
    BOOST_TEST(w.add("freevoice", "taro", "09012345678", "", "Third password 3").exit_code == 0);
}

BOOST_AUTO_TEST_CASE(invalid_add_stores_nothing_and_names_the_field) {
    struct bad_case {
        std::string what;
        std::vector<std::string> args;
        std::string input;
        int exit_code;
        std::string first_line_start;  // after "nidan user: "
    };
    const std::string pw = "Valid password 1\n";
    const std::vector<std::string> key{"add", "--portal", "mc050", "--id", "taro", "--password-stdin"};
    auto with = [&](std::vector<std::string> extra) {
        auto args = key;
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    const std::vector<bad_case> cases{
        {"bad email", with({"--phone", "09012345678", "--email", "taro@@example.jp"}), pw, 1, "email:"},
        {"email without domain dot", with({"--phone", "09012345678", "--email", "taro@localhost"}), pw, 1, "email:"},
        {"short phone", with({"--phone", "090-1234"}), pw, 1, "phone:"},
        {"letters in phone", with({"--phone", "090-abcd-5678"}), pw, 1, "phone:"},
        {"short password", with({"--phone", "09012345678"}), "Xq7#z\n", 1, "password:"},
        {"no password on stdin", with({"--phone", "09012345678"}), "", 1, "no password"},
        {"unknown portal",
         {"add", "--portal", "example", "--id", "taro", "--phone", "09012345678", "--password-stdin"}, pw, 1,
         "portal:"},
        {"bad id", {"add", "--portal", "mc050", "--id", "ta ro", "--phone", "09012345678", "--password-stdin"}, pw,
         1, "id:"},
        {"missing --phone", key, pw, 2, "--phone"},
        {"missing --id", {"add", "--portal", "mc050", "--phone", "09012345678", "--password-stdin"}, pw, 2, "--id"},
        {"stray argument", with({"--phone", "09012345678", "extra"}), pw, 2, "unexpected argument"},
    };
    workspace w;
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            auto r = w.user(c.args, c.input);
            BOOST_TEST(r.exit_code == c.exit_code);
            BOOST_TEST(r.out.empty());
            BOOST_TEST(first_line(r.err).starts_with("nidan user: " + c.first_line_start), first_line(r.err));
            if (c.exit_code == 1) {
                BOOST_TEST(lines_of(r.err).size() == 1u);
            } else {
                BOOST_TEST(r.err.find("\nusage:\n") != std::string::npos);
            }
            // Rejections never echo what was typed as a password.
            if (!c.input.empty()) BOOST_TEST(!mentions(r, c.input.substr(0, c.input.size() - 1)));
        }
    }
    BOOST_TEST(w.user({"list"}).out.empty());
    BOOST_TEST(stored_count(w.data) == 0u);
}

BOOST_AUTO_TEST_CASE(phone_numbers_are_normalised) {
    workspace w;
    // Full-width digits with ASCII hyphens, and a long vowel mark and full-width hyphen-minus as
    // dashes, as Japanese input methods produce them.
    BOOST_TEST(w.add("mc050", "taro", "０９０-１２３４-５６７８", "", "Valid password 1").exit_code == 0);
    BOOST_TEST(w.add("mc050", "jiro", "03ー1234－5678", "", "Valid password 2").exit_code == 0);
    BOOST_TEST(w.add("mc050", "saburo", " 080 1111 2222 ", "", "Valid password 3").exit_code == 0);
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["phone"] == "09012345678");
    BOOST_TEST(fields_of(w.show("mc050", "jiro").out)["phone"] == "0312345678");
    BOOST_TEST(fields_of(w.show("mc050", "saburo").out)["phone"] == "08011112222");
    BOOST_TEST(stored(w.data, "mc050", "taro")->phone == "09012345678");
}

BOOST_AUTO_TEST_CASE(passwd_replaces_the_hash) {
    workspace w;
    const std::string old_password = "Old password 111";
    const std::string new_password = "New password 222";
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "taro@example.jp", old_password).exit_code == 0);
    const auto before = stored(w.data, "mc050", "taro");
    BOOST_REQUIRE(before);
    const auto params_before = fields_of(w.show("mc050", "taro").out)["password"];

    auto changed = w.user({"passwd", "--portal", "mc050", "--id", "taro", "--password-stdin"}, new_password + "\n");
    BOOST_TEST(changed.exit_code == 0);
    BOOST_TEST(changed.out == "password changed for mc050/taro; 0 sessions ended\n");
    BOOST_TEST(!mentions(changed, new_password));
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["password"] == params_before);

    const auto after = stored(w.data, "mc050", "taro");
    BOOST_REQUIRE(after);
    BOOST_TEST(after->password_hash != before->password_hash);
    const auto hasher = test_hasher();
    using verdict = nidan::password_hasher::verdict;
    BOOST_TEST((hasher.verify(after->password_hash, new_password) == verdict::match));
    BOOST_TEST((hasher.verify(after->password_hash, old_password) == verdict::mismatch));
    BOOST_TEST(after->email == before->email);
    BOOST_TEST(after->created_at == before->created_at);

    // A password the policy refuses changes nothing.
    auto too_short = w.user({"passwd", "--portal", "mc050", "--id", "taro", "--password-stdin"}, "Kq9!x\n");
    BOOST_TEST(too_short.exit_code == 1);
    BOOST_TEST(first_line(too_short.err).starts_with("nidan user: password:"));
    BOOST_TEST(stored(w.data, "mc050", "taro")->password_hash == after->password_hash);

    auto missing = w.user({"passwd", "--portal", "mc050", "--id", "nobody", "--password-stdin"}, new_password + "\n");
    BOOST_TEST(missing.exit_code == 1);
    BOOST_TEST(missing.err == "nidan user: no account mc050/nobody\n");
    BOOST_TEST(stored_count(w.data) == 1u);
}

BOOST_AUTO_TEST_CASE(passwd_clears_the_password_lock) {
    workspace w;
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "", "Old password 111").exit_code == 0);
    auto locked = *stored(w.data, "mc050", "taro");
    locked.password_locked = true;
    store(w.data, locked);
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["password_locked"] == "yes");
    BOOST_TEST(w.user({"passwd", "--portal", "mc050", "--id", "taro", "--password-stdin"}, "New password 222\n")
                   .exit_code == 0);
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["password_locked"] == "no");
}

BOOST_AUTO_TEST_CASE(unlock_clears_the_locks_and_strikes) {
    workspace w;
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "taro@example.jp", "Valid password 1").exit_code == 0);
    // What three wrong phone numbers on the address form leave behind.
    auto locked = *stored(w.data, "mc050", "taro");
    locked.address_form_locked = true;
    locked.password_locked = true;
    locked.phone_strikes = 3;
    store(w.data, locked);

    auto f = fields_of(w.show("mc050", "taro").out);
    BOOST_TEST(f["address_form_locked"] == "yes");
    BOOST_TEST(f["password_locked"] == "yes");
    BOOST_TEST(f["phone_strikes"] == "3");
    BOOST_TEST(w.user({"list"}).out == "mc050\ttaro\ttaro@example.jp\tlocked\n");

    auto unlocked = w.user({"unlock", "--portal", "mc050", "--id", "taro"});
    BOOST_TEST(unlocked.exit_code == 0);
    BOOST_TEST(unlocked.out == "unlocked mc050/taro\n");
    f = fields_of(w.show("mc050", "taro").out);
    BOOST_TEST(f["address_form_locked"] == "no");
    BOOST_TEST(f["password_locked"] == "no");
    BOOST_TEST(f["phone_strikes"] == "0");
    BOOST_TEST(w.user({"list"}).out == "mc050\ttaro\ttaro@example.jp\n");

    const auto after = stored(w.data, "mc050", "taro");
    BOOST_REQUIRE(after);
    BOOST_TEST(!after->address_form_locked);
    BOOST_TEST(after->phone_strikes == 0u);
    BOOST_TEST(after->password_hash == locked.password_hash);
    BOOST_TEST(after->email == locked.email);

    auto missing = w.user({"unlock", "--portal", "mc050", "--id", "nobody"});
    BOOST_TEST(missing.exit_code == 1);
    BOOST_TEST(missing.err == "nidan user: no account mc050/nobody\n");
}

BOOST_AUTO_TEST_CASE(lock_sets_the_operator_lock_and_a_new_epoch_only) {
    workspace w;
    BOOST_REQUIRE(w.add("ip-phone", "hanako", "0312345678", "hanako@example.jp", "Valid password 1").exit_code == 0);
    const auto before = *stored(w.data, "ip-phone", "hanako");
    BOOST_TEST(before.credential_epoch != 0u);
    const auto locked = w.user({"lock", "--portal", "ip-phone", "--id", "hanako"});
    BOOST_TEST(locked.exit_code == 0);
    BOOST_TEST(locked.out == "locked ip-phone/hanako; 0 sessions ended\n");
    const auto after = *stored(w.data, "ip-phone", "hanako");
    BOOST_TEST(after.operator_locked);
    BOOST_TEST(!after.password_locked);
    BOOST_TEST(!after.address_form_locked);
    BOOST_TEST(after.password_hash == before.password_hash);
    BOOST_TEST(after.credential_epoch != before.credential_epoch);
    BOOST_TEST(fields_of(w.show("ip-phone", "hanako").out)["operator_locked"] == "yes");
    BOOST_TEST(w.user({"lock", "--portal", "ip-phone", "--id", "nobody"}).exit_code == 1);
    BOOST_TEST(w.user({"unlock", "--portal", "ip-phone", "--id", "hanako"}).exit_code == 0);
    BOOST_TEST(!stored(w.data, "ip-phone", "hanako")->operator_locked);
}

BOOST_AUTO_TEST_CASE(delete_removes_one_account) {
    workspace w;
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "", "Valid password 1").exit_code == 0);
    BOOST_REQUIRE(w.add("mc050", "jiro", "09012345679", "", "Valid password 2").exit_code == 0);
    auto deleted = w.user({"delete", "--portal", "mc050", "--id", "taro"});
    BOOST_TEST(deleted.exit_code == 0);
    BOOST_TEST(deleted.out == "deleted mc050/taro\n");

    auto gone = w.show("mc050", "taro");
    BOOST_TEST(gone.exit_code == 1);
    BOOST_TEST(gone.out.empty());
    BOOST_TEST(gone.err == "nidan user: no account mc050/taro\n");
    BOOST_TEST(w.show("mc050", "jiro").exit_code == 0);
    BOOST_TEST(w.user({"list"}).out == "mc050\tjiro\t-\n");

    auto again = w.user({"delete", "--portal", "mc050", "--id", "taro"});
    BOOST_TEST(again.exit_code == 1);
    BOOST_TEST(again.err == "nidan user: no account mc050/taro\n");
    BOOST_TEST(!stored(w.data, "mc050", "taro"));
    BOOST_TEST(stored_count(w.data) == 1u);
}

BOOST_AUTO_TEST_CASE(sessions_logout_and_the_outbox_commands) {
    workspace w;
    BOOST_REQUIRE(w.add("ip-phone", "taro", "09012345678", "taro@example.jp", "Valid password 1").exit_code == 0);
    const auto sessions = w.user({"sessions", "--portal", "ip-phone", "--id", "taro"});
    BOOST_TEST(sessions.exit_code == 0);
    BOOST_TEST(sessions.out == "0 live sessions of ip-phone/taro\n");
    const auto logout = w.user({"logout", "--portal", "ip-phone", "--id", "taro"});
    BOOST_TEST(logout.exit_code == 0);
    BOOST_TEST(logout.out == "logged out ip-phone/taro: 0 sessions and every device token ended\n");
    const auto nobody = w.user({"logout", "--portal", "ip-phone", "--id", "nobody"});
    BOOST_TEST(nobody.exit_code == 1);
    BOOST_TEST(nobody.err == "nidan user: no account ip-phone/nobody\n");

    // A queued code mail, as a password step leaves it; no server runs to send it.
    const auto id = std::to_string(enqueue_code_mail(w.data));
    const auto listed = w.outbox({"list"});
    BOOST_TEST(listed.exit_code == 0);
    const auto lines = lines_of(listed.out);
    BOOST_REQUIRE(lines.size() == 2u);
    BOOST_TEST(lines[0] == "queued: 1, failed: 0");
    BOOST_TEST(lines[1].starts_with(id + "\t"), lines[1]);
    BOOST_TEST(lines[1].find("taro@example.jp") != std::string::npos, lines[1]);
    BOOST_TEST(w.outbox({"list", "--failed"}).out == "queued: 1, failed: 0\n");
    const auto retried = w.outbox({"retry", id});
    BOOST_TEST(retried.exit_code == 0);
    BOOST_TEST(retried.out == "mail " + id + " queued for delivery\n");
    const auto unknown = w.outbox({"retry", "999999"});
    BOOST_TEST(unknown.exit_code == 1);
    BOOST_TEST(unknown.err == "nidan outbox: no mail 999999\n");
    // Only failed mails are purged: the queued one stays.
    const auto not_failed = w.outbox({"purge", id});
    BOOST_TEST(not_failed.exit_code == 1);
    BOOST_TEST(not_failed.err == "nidan outbox: no failed mail " + id + "\n");
    const auto purged = w.outbox({"purge", "--all"});
    BOOST_TEST(purged.exit_code == 0);
    BOOST_TEST(purged.out == "purged 0 failed mails\n");
    BOOST_TEST(first_line(w.outbox({"list"}).out) == "queued: 1, failed: 0");
}

BOOST_AUTO_TEST_CASE(import_of_a_good_file) {
    workspace w;
    const std::string phc_password = "Ready made hash 1";
    const auto phc = test_hasher().hash(phc_password);
    const std::string csv = "portal,id,email,phone,password\r\n"
                            "mc050,taro,taro@example.jp,090-1234-5678,Plain password one\r\n"
                            "freevoice,hanako,,０３-1234-5678,\"comma, in the password\"\r\n"
                            "ip-phone,jiro,jiro@example.jp,0312340000," + quoted(phc) + "\r\n";
    const auto file = w.write_file("accounts.csv", csv);
    auto r = w.user({"import", file});
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == "imported 3 accounts, rejected 0 rows\n");
    BOOST_TEST(messages_of(r.err).empty());
    for (const char* secret : {"Plain password one", "comma, in the password", "Ready made hash 1"})
        BOOST_TEST(!mentions(r, secret), secret);

    auto f = fields_of(w.show("freevoice", "hanako").out);
    BOOST_TEST(f["email"] == "(none)");
    BOOST_TEST(f["phone"] == "0312345678");
    BOOST_TEST(f["password"] == test_params);
    BOOST_TEST(fields_of(w.show("mc050", "taro").out)["email"] == "taro@example.jp");

    using verdict = nidan::password_hasher::verdict;
    const auto hasher = test_hasher();
    const auto taro = stored(w.data, "mc050", "taro");
    const auto hanako = stored(w.data, "freevoice", "hanako");
    const auto jiro = stored(w.data, "ip-phone", "jiro");
    BOOST_REQUIRE((taro && hanako && jiro));
    BOOST_TEST((hasher.verify(taro->password_hash, "Plain password one") == verdict::match));
    BOOST_TEST((hasher.verify(hanako->password_hash, "comma, in the password") == verdict::match));
    BOOST_TEST((hasher.verify(hanako->password_hash, "comma") == verdict::mismatch));
    // A ready-made hash is stored as given, not hashed again.
    BOOST_TEST(jiro->password_hash == phc);
    BOOST_TEST((hasher.verify(jiro->password_hash, phc_password) == verdict::match));
    BOOST_TEST(jiro->phone == "0312340000");
    BOOST_TEST(stored_count(w.data) == 3u);
}

BOOST_AUTO_TEST_CASE(import_with_bad_rows_imports_nothing_unless_told) {
    workspace w;
    const std::string csv =
        "portal,id,email,phone,password\n"                       // 1
        "mc050,good1,good1@example.jp,09011110001,Good pass 1\n"  // 2
        "mc050,bademail,not-an-address,09011110002,Good pass 2\n" // 3
        "mc050,badphone,,0901111,Good pass 3\n"                   // 4
        "mc050,shortpw,,09011110004,Zq7#k\n"                      // 5
        "example,badportal,,09011110005,Good pass 5\n"            // 6
        "mc050,fewfields,09011110006\n"                           // 7
        "mc050,good1,,09011110007,Good pass 7\n"                  // 8: duplicate of line 2
        "\n"                                                      // 9: blank, skipped
        "ip-phone,good2,,\"090-1111-0009\",Good pass 9\n";        // 10
    const auto file = w.write_file("mixed.csv", csv);
    const std::vector<std::pair<int, std::string>> expected{
        {3, "email:"}, {4, "phone:"}, {5, "password:"}, {6, "portal:"}, {7, "expected 5 fields"}, {8, "duplicate of line 2"}};

    auto check_reports = [&](const command_result& r) {
        const auto messages = messages_of(r.err);
        BOOST_REQUIRE(messages.size() >= expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const auto prefix = file + ":" + std::to_string(expected[i].first) + ": ";
            BOOST_TEST(messages[i].starts_with(prefix), messages[i]);
            BOOST_TEST(messages[i].find(expected[i].second) != std::string::npos, messages[i]);
        }
        BOOST_TEST(!mentions(r, "Zq7#k"));
        BOOST_TEST(!mentions(r, "Good pass"));
        return messages;
    };

    auto refused = w.user({"import", file});
    BOOST_TEST(refused.exit_code == 1);
    BOOST_TEST(refused.out.empty());
    const auto messages = check_reports(refused);
    BOOST_TEST(messages.size() == expected.size() + 1);
    BOOST_TEST(messages.back() == "nidan user: 6 rejected rows; nothing imported (fix them, or pass --skip-invalid "
                                  "to import the rest)");
    BOOST_TEST(w.show("mc050", "good1").exit_code == 1);
    BOOST_TEST(stored_count(w.data) == 0u);

    auto partial = w.user({"import", file, "--skip-invalid"});
    BOOST_TEST(partial.exit_code == 0);
    BOOST_TEST(partial.out == "imported 2 accounts, rejected 6 rows\n");
    BOOST_TEST(check_reports(partial).size() == expected.size());
    BOOST_TEST(fields_of(w.show("mc050", "good1").out)["email"] == "good1@example.jp");
    BOOST_TEST(fields_of(w.show("ip-phone", "good2").out)["phone"] == "09011110009");
    BOOST_TEST(w.show("mc050", "bademail").exit_code == 1);
    BOOST_TEST(stored_count(w.data) == 2u);
    // The first of the duplicated rows was imported, not the later one.
    BOOST_TEST(stored(w.data, "mc050", "good1")->phone == "09011110001");
}

BOOST_AUTO_TEST_CASE(import_rejects_rows_clashing_with_stored_accounts) {
    workspace w;
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "taro@example.jp", "Valid password 1").exit_code == 0);
    const auto before = *stored(w.data, "mc050", "taro");
    const auto file = w.write_file("clash.csv",
                                   "mc050,jiro,,09000000001,Imported pass 1\n"
                                   "mc050,taro,new@example.jp,09000000002,Imported pass 2\n");
    auto refused = w.user({"import", file});
    BOOST_TEST(refused.exit_code == 1);
    const auto messages = messages_of(refused.err);
    BOOST_REQUIRE(messages.size() == 2u);
    BOOST_TEST(messages[0] == file + ":2: account mc050/taro already exists");
    BOOST_TEST(!stored(w.data, "mc050", "jiro"));

    auto partial = w.user({"import", file, "--skip-invalid"});
    BOOST_TEST(partial.exit_code == 0);
    BOOST_TEST(partial.out == "imported 1 accounts, rejected 1 rows\n");
    BOOST_TEST(stored(w.data, "mc050", "jiro").has_value());
    // The stored account is left exactly as it was.
    const auto after = *stored(w.data, "mc050", "taro");
    BOOST_TEST(after.email == before.email);
    BOOST_TEST(after.password_hash == before.password_hash);
    BOOST_TEST(after.updated_at == before.updated_at);
}

BOOST_AUTO_TEST_CASE(import_of_a_missing_file_fails) {
    workspace w;
    const auto missing = (w.dir / "no-such.csv").string();
    auto r = w.user({"import", missing});
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err == "nidan user: cannot read " + missing + "\n");
    auto no_file = w.user({"import"});
    BOOST_TEST(no_file.exit_code == 2);
    BOOST_TEST(first_line(no_file.err) == "nidan user: import takes one CSV file");
}

BOOST_AUTO_TEST_CASE(commands_work_while_the_server_runs) {
    workspace w;
    server_process server(w.data);
    BOOST_REQUIRE(w.add("mc050", "taro", "09012345678", "taro@example.jp", "Valid password 1").exit_code == 0);
    auto shown = w.show("mc050", "taro");
    BOOST_TEST(shown.exit_code == 0);
    BOOST_TEST(fields_of(shown.out)["email"] == "taro@example.jp");
    const auto file = w.write_file("live.csv", "freevoice,hanako,,0312345678,Imported pass 1\n");
    BOOST_TEST(w.user({"import", file}).exit_code == 0);
    BOOST_TEST(w.user({"unlock", "--portal", "mc050", "--id", "taro"}).exit_code == 0);
    BOOST_TEST(lines_of(w.user({"list"}).out).size() == 2u);

    auto ready = get(server.port(), "/readyz");
    BOOST_REQUIRE(ready);
    BOOST_TEST(ready->status == 200);

    server.signal(SIGTERM);
    const auto code = server.wait_exit(10s);
    BOOST_REQUIRE(code);
    BOOST_TEST(*code == 0);
    // What the CLI wrote survived the server's shutdown.
    BOOST_TEST(stored_count(w.data) == 2u);
}

BOOST_AUTO_TEST_CASE(a_full_map_fails_the_whole_import, *boost::unit_test::precondition(on_lmdb)) {
    workspace w;
    const std::vector<std::string> tiny_map = {"hash.memory_kib=8192", "hash.iterations=1", "storage.map_size_mib=1"};
    // Ready-made hashes, so the import does no hashing: 20000 accounts of ~150 bytes are about
    // three times what a 1 MiB map holds.
    const auto phc = test_hasher().hash("Shared password 1");
    constexpr int rows = 20000;
    std::string csv;
    csv.reserve(static_cast<std::size_t>(rows) * 160);
    for (int i = 0; i < rows; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "user%05d", i);
        csv += "mc050," + std::string(id) + ",," + "090" + std::string(id).substr(4) + "000," + quoted(phc) + "\n";
    }
    const auto file = w.write_file("big.csv", csv);
    auto r = nidan_user(w.data, {"import", file}, "", tiny_map);
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err.find("storage.map_size_mib") != std::string::npos, r.err);
    BOOST_TEST(lines_of(r.err).size() == 1u);
    BOOST_TEST(nidan_user(w.data, {"show", "--portal", "mc050", "--id", "user00000"}, "", tiny_map).exit_code == 1);
    BOOST_TEST(stored_count(w.data) == 0u);

    // The failed transaction left the folder usable, and a small map is fine for small data.
    const std::vector<std::string> add{"add", "--portal", "mc050", "--id", "taro", "--phone", "09012345678",
                                       "--password-stdin"};
    BOOST_TEST(nidan_user(w.data, add, "Valid password 1\n", tiny_map).exit_code == 0);
    temp_dir fresh;
    const auto fresh_data = (fresh / "data").string();
    BOOST_TEST(nidan_user(fresh_data, add, "Valid password 1\n", tiny_map).exit_code == 0);
    BOOST_TEST(nidan_user(fresh_data, {"show", "--portal", "mc050", "--id", "taro"}, "", tiny_map).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(missing_or_unknown_subcommand_is_a_usage_error) {
    workspace w;
    auto none = w.user({});
    BOOST_TEST(none.exit_code == 2);
    BOOST_TEST(none.out.empty());
    BOOST_TEST(first_line(none.err) == "nidan user: missing user command");
    BOOST_TEST(none.err.find("\nusage:\n") != std::string::npos);
    BOOST_TEST(none.err.find("nidan user import FILE.csv") != std::string::npos);

    auto unknown = w.user({"frobnicate"});
    BOOST_TEST(unknown.exit_code == 2);
    BOOST_TEST(first_line(unknown.err) == "nidan user: unknown user command 'frobnicate'");
    BOOST_TEST(unknown.err.find("\nusage:\n") != std::string::npos);

    // Without any options at all, too: the usage comes before the config is read.
    auto bare = run_nidan({"user"});
    BOOST_TEST(bare.exit_code == 2);
    BOOST_TEST(first_line(bare.err) == "nidan user: missing user command");
    // Nothing was created for commands that never ran.
    BOOST_TEST(!std::filesystem::exists(w.data));
}

BOOST_AUTO_TEST_CASE(a_bad_setting_is_a_config_error) {
    workspace w;
    auto r = nidan_user(w.data, {"list"}, "", {"hash.memory_kib=1"});
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(first_line(r.err).starts_with("nidan user: config: hash.memory_kib"), r.err);
    BOOST_TEST(!std::filesystem::exists(w.data));
}

// A mistyped storage.data_dir (LMDB) or a database nobody migrated (PostgreSQL): the commands
// say what to check, and leave no store behind that a later command would take for the real one.
BOOST_AUTO_TEST_CASE(a_mistyped_store_is_not_created) {
    workspace w(workspace::database::without_schema);
    const std::string hint = postgres_backend_selected() ? "nidan db migrate" : "check storage.data_dir";
    std::vector<std::vector<std::string>> commands{{"show", "--portal", "mc050", "--id", "taro"},
                                                   {"list"},
                                                   {"unlock", "--portal", "mc050", "--id", "taro"},
                                                   {"delete", "--portal", "mc050", "--id", "taro"}};
    // LMDB creates a new folder on add, by design; a database is only ever created by migrate.
    if (postgres_backend_selected())
        commands.push_back({"add", "--portal", "mc050", "--id", "taro", "--phone", "09012345678", "--password-stdin"});
    for (const auto& args : commands) {
        auto r = w.user(args, "Valid password 1\n");
        BOOST_TEST(r.exit_code == 1, args.front());
        BOOST_TEST(r.out.empty(), args.front());
        BOOST_TEST(lines_of(r.err).size() == 1u, r.err);
        BOOST_TEST(mentions(r, hint), r.err);
        BOOST_TEST(!store_exists(w.data), args.front());
    }
}
