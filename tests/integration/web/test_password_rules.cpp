// The password rules of every entry point, against the real `nidan serve` and `nidan user`: NFKC
// normalisation (an old hash of the password as typed still logs in and is re-hashed, a new one
// takes any NFKC-equivalent spelling), the import's password.min_length, and the cost bounds on
// ready-made hashes at import and at login. Step 1 of the JSON API tells whether the password was
// right (200 code_pending) or not (401 invalid_credentials); every test has its own data folder,
// relay and server.
#define BOOST_TEST_MODULE password_rules
#include <boost/test/unit_test.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sodium.h>

#include <array>
#include <fstream>
#include <string>
#include <vector>

#include "core/security/password_hasher.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"

using namespace nidan_test;
namespace json = boost::json;

namespace {

// Typed with a full-width input method; NFKC makes it "PassWord123".
const std::string full_width = "ＰａｓｓＷｏｒｄ１２３";
const std::string half_width = "PassWord123";
// Half of each: NFKC-equivalent to both.
const std::string mixed = "PassＷｏｒｄ123";

// A hash of the password exactly as typed, made with libsodium directly at login_world's cheap
// parameters (m=8192, t=1), as an older nidan or another system would have stored it.
std::string as_typed_phc(const std::string& password, std::uint32_t memory_kib = 8192) {
    BOOST_TEST_REQUIRE(sodium_init() >= 0);
    std::array<char, crypto_pwhash_STRBYTES> out{};
    BOOST_TEST_REQUIRE(crypto_pwhash_str_alg(out.data(), password.data(), password.size(), 1,
                                             std::size_t{memory_kib} * 1024U, crypto_pwhash_ALG_ARGON2ID13) == 0);
    return out.data();
}

// `nidan user ARGS` on the world's data folder with its cheap hash settings and `sets`.
command_result nidan_user(login_world& w, std::vector<std::string> args, const std::string& input = "",
                          const std::vector<std::string>& sets = {}) {
    args.insert(args.begin(), "user");
    args.insert(args.end(), {"--config", source_dir() + "/conf/nidan.toml", "--set", "storage.data_dir=" + w.data_dir()});
    for (const auto& s : fast_hash) args.insert(args.end(), {"--set", s});
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    return run_nidan(args, input);
}

std::string write_csv(login_world& w, const std::string& name, const std::string& text) {
    const auto path = w.dir() / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

// Step 1 of the JSON login; the HTTP status (200: the password was right).
int login_status(login_world& w, const std::string& portal, const std::string& id, const std::string& password) {
    json::object o;
    o["selfcare_id"] = id;
    o["password"] = password;
    const auto body = json::serialize(o);
    const auto reply = request(w.port(), "POST /api/v1/" + portal + "/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         "Connection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                                             std::to_string(body.size()) + "\r\n\r\n" + body);
    BOOST_TEST_REQUIRE(reply.has_value(), "no reply to the login of " << portal << "/" << id);
    return reply->status;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// (a) A hash of the full-width password as typed, imported ready-made: the as-typed password
// logs in and re-hashes it in NFKC; from then on the half-width spelling logs in too.
BOOST_AUTO_TEST_CASE(imported_as_typed_hash_logs_in_and_is_rehashed_in_nfkc) {
    login_world w({});
    const auto phc = as_typed_phc(full_width);
    const auto file = write_csv(w, "accounts.csv", "ip-phone,taro,taro@example.jp,09012345678,\"" + phc + "\"\n");
    const auto imported = nidan_user(w, {"import", file});
    BOOST_TEST_REQUIRE(imported.exit_code == 0, imported.err);

    // Before any login only the bytes that were hashed match.
    BOOST_TEST(login_status(w, "ip-phone", "taro", half_width) == 401);
    BOOST_TEST(login_status(w, "ip-phone", "taro", full_width) == 200);
    // That login stored the NFKC hash: every equivalent spelling works now.
    BOOST_TEST(login_status(w, "ip-phone", "taro", half_width) == 200);
    BOOST_TEST(login_status(w, "ip-phone", "taro", mixed) == 200);
    BOOST_TEST(login_status(w, "ip-phone", "taro", full_width) == 200);
    BOOST_TEST(login_status(w, "ip-phone", "taro", "PassWord124") == 401);
    BOOST_TEST(!contains(w.server().log_text(), half_width));
}

// (b) `nidan user add` with a full-width password stores its NFKC form.
BOOST_AUTO_TEST_CASE(added_password_logs_in_with_any_nfkc_equivalent_spelling) {
    login_world w({});
    const auto added = nidan_user(w,
                                  {"add", "--portal", "mc050", "--id", "hanako", "--phone", "05011112222", "--email",
                                   "hanako@example.jp", "--password-stdin"},
                                  full_width + "\n");
    BOOST_TEST_REQUIRE(added.exit_code == 0, added.err);
    BOOST_TEST(login_status(w, "mc050", "hanako", half_width) == 200);
    BOOST_TEST(login_status(w, "mc050", "hanako", mixed) == 200);
    BOOST_TEST(login_status(w, "mc050", "hanako", full_width) == 200);
    BOOST_TEST(login_status(w, "mc050", "hanako", "passWord123") == 401);  // NFKC keeps case
}

// (c) A ready-made hash asking for 4 GiB per check is refused at import, with its line, and
// nothing of the file is imported. The hash is never computed: only its parameters are read.
BOOST_AUTO_TEST_CASE(import_refuses_a_hash_beyond_the_cost_factor) {
    login_world w({});
    auto huge = as_typed_phc("a password of no importance");
    const std::string cheap_m = "m=8192,";
    huge.replace(huge.find(cheap_m), cheap_m.size(), "m=4194304,");
    BOOST_TEST_REQUIRE(nidan::password_hasher::looks_like_phc(huge));  // well-formed, only costly
    const auto file = write_csv(w, "costly.csv",
                                "portal,id,email,phone,password\n"
                                "ip-phone,good,,09011110001,A good password 1\n"
                                "ip-phone,costly,,09011110002,\"" + huge + "\"\n");
    const auto r = nidan_user(w, {"import", file});
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(contains(r.err, file + ":3: password: argon2id hash with m=4194304 KiB, above hash.max_cost_factor (4) "
                                      "x hash.memory_kib (8192) = 32768 KiB\n"),
               r.err);
    BOOST_TEST(contains(r.err, "1 rejected rows; nothing imported"), r.err);
    const auto listed = nidan_user(w, {"list"});
    BOOST_TEST(listed.exit_code == 0, listed.err);
    BOOST_TEST(listed.out.empty());
}

// A hash stored beyond the bound (here imported under a looser factor than the server's) is not
// computed at login: the right password fails like a wrong one, and the log says why.
BOOST_AUTO_TEST_CASE(login_refuses_a_stored_hash_beyond_the_cost_factor) {
    login_world w({});
    // m=65536 is 8 x the server's 8192 KiB: within a factor of 8, beyond the default 4.
    const auto costly = as_typed_phc(half_width, 65536);
    const auto file = write_csv(w, "loose.csv", "ip-phone,jiro,jiro@example.jp,09011110003,\"" + costly + "\"\n");
    const auto imported = nidan_user(w, {"import", file}, "", {"hash.max_cost_factor=8"});
    BOOST_TEST_REQUIRE(imported.exit_code == 0, imported.err);
    BOOST_TEST(login_status(w, "ip-phone", "jiro", half_width) == 401);
    BOOST_TEST(contains(w.server().log_text(), "password.hash_too_costly"), w.server().log_text());
    BOOST_TEST(contains(w.server().log_text(), "m=65536"));
}

// (d) Plaintext passwords of an import meet the configured password.min_length, not 8.
BOOST_AUTO_TEST_CASE(import_checks_the_configured_minimum_length) {
    login_world w({});
    const auto file = write_csv(w, "short.csv",
                                "mc050,saburo,,05011113333,Twelve chars\n"  // 12: fine
                                "mc050,shiro,,05011114444,Eleven char\n");  // 11: too short
    const auto refused = nidan_user(w, {"import", file}, "", {"password.min_length=12"});
    BOOST_TEST(refused.exit_code == 1);
    BOOST_TEST(contains(refused.err, file + ":2: password: shorter than 12 characters\n"), refused.err);
    BOOST_TEST(!contains(refused.err, "Eleven char"));
    BOOST_TEST(nidan_user(w, {"list"}).out.empty());

    // The same file passes the default minimum of 8.
    const auto accepted = nidan_user(w, {"import", file});
    BOOST_TEST(accepted.exit_code == 0, accepted.err);
    BOOST_TEST(accepted.out == "imported 2 accounts, rejected 0 rows\n");
}
