#define BOOST_TEST_MODULE hash
#include <boost/test/unit_test.hpp>

#include <sodium.h>

#include <string>
#include <string_view>

#include "core/password_hasher.hpp"

using namespace std::string_literals;
using nidan::hash_params;
using nidan::password_hasher;
using verdict = password_hasher::verdict;

namespace {

// Small parameters keep the suite fast where the test is not about the parameters themselves.
constexpr hash_params fast{8192, 1};

std::string repeat(std::string_view piece, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i) out += piece;
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hash_then_verify) {
    const password_hasher hasher(fast);
    const auto phc = hasher.hash("correct horse battery staple");
    BOOST_TEST(phc.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
    BOOST_TEST(password_hasher::looks_like_phc(phc));
    BOOST_TEST((hasher.verify(phc, "correct horse battery staple") == verdict::match));
}

BOOST_AUTO_TEST_CASE(salts_differ) {
    const password_hasher hasher(fast);
    BOOST_TEST(hasher.hash("same password") != hasher.hash("same password"));
}

BOOST_AUTO_TEST_CASE(wrong_password_is_a_mismatch) {
    const password_hasher hasher(fast);
    const auto phc = hasher.hash("correct horse battery staple");
    BOOST_TEST((hasher.verify(phc, "correct horse battery stapler") == verdict::mismatch));
    BOOST_TEST((hasher.verify(phc, "") == verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(empty_password) {
    const password_hasher hasher(fast);
    const auto phc = hasher.hash("");
    BOOST_TEST((hasher.verify(phc, "") == verdict::match));
    BOOST_TEST((hasher.verify(phc, " ") == verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(long_unicode_password_is_not_truncated) {
    const password_hasher hasher(fast);
    // 80 code points, 240 bytes: past both 64 characters and bcrypt's 72-byte cut-off.
    const auto password = repeat("パ", 79) + "ス";
    const auto changed_last = repeat("パ", 79) + "ズ";
    const auto phc = hasher.hash(password);
    BOOST_TEST((hasher.verify(phc, password) == verdict::match));
    BOOST_TEST((hasher.verify(phc, changed_last) == verdict::mismatch));
    BOOST_TEST((hasher.verify(phc, repeat("パ", 79)) == verdict::mismatch));
    BOOST_TEST((hasher.verify(phc, repeat("パ", 64)) == verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(embedded_nul_counts) {
    const password_hasher hasher(fast);
    const auto password = "abc\0def"s;
    const auto phc = hasher.hash(password);
    BOOST_TEST((hasher.verify(phc, password) == verdict::match));
    BOOST_TEST((hasher.verify(phc, "abc") == verdict::mismatch));
    BOOST_TEST((hasher.verify(phc, "abc\0deg"s) == verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(malformed_stored_hash_is_a_mismatch) {
    const password_hasher hasher(fast);
    const auto phc = hasher.hash("pw");
    const auto dollar = phc.rfind('$');
    const std::string bad[] = {
        "",
        "garbage",
        "$argon2id$",
        phc.substr(0, phc.size() - 5),           // truncated hash
        phc.substr(0, dollar),                   // hash part missing
        phc + "A",                               // extra base64 character
        phc + "$",                               // trailing separator
        phc + "\0"s,                             // hidden NUL
        phc.substr(0, 10) + "\0"s + phc.substr(11),
        phc + repeat("A", 200),                  // does not fit libsodium's buffer
        "$argon2id$v=19$m=8192,t=1,p=1$!!!!$!!!!",
        "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",  // bcrypt
    };
    for (const auto& stored : bad) {
        BOOST_TEST_CONTEXT("stored " << stored.size() << " bytes") {
            BOOST_CHECK_NO_THROW(hasher.verify(stored, "pw"));
            BOOST_TEST((hasher.verify(stored, "pw") == verdict::mismatch));
        }
    }
}

BOOST_AUTO_TEST_CASE(argon2i_is_refused) {
    const password_hasher hasher(fast);  // also initialises libsodium for the raw call below
    // argon2i needs t >= 3 in libsodium.
    char out[crypto_pwhash_STRBYTES];
    BOOST_REQUIRE(
        crypto_pwhash_str_alg(out, "pw", 2, 3, 8192 * 1024, crypto_pwhash_ALG_ARGON2I13) == 0);
    const std::string argon2i(out);
    BOOST_TEST(argon2i.starts_with("$argon2i$"));
    BOOST_TEST(!password_hasher::looks_like_phc(argon2i));
    BOOST_TEST((hasher.verify(argon2i, "pw") == verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(parameter_upgrade_asks_for_rehash) {
    const password_hasher old_hasher(hash_params{8192, 1});
    const password_hasher new_hasher(hash_params{19456, 2});
    const auto old_phc = old_hasher.hash("pw with some length");
    BOOST_TEST((new_hasher.verify(old_phc, "pw with some length") == verdict::match_needs_rehash));
    BOOST_TEST((new_hasher.verify(old_phc, "wrong") == verdict::mismatch));
    const auto new_phc = new_hasher.hash("pw with some length");
    BOOST_TEST(new_phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    BOOST_TEST((new_hasher.verify(new_phc, "pw with some length") == verdict::match));
    // Weaker is not the only trigger: any difference means the stored hash is not current.
    BOOST_TEST((old_hasher.verify(new_phc, "pw with some length") == verdict::match_needs_rehash));
}

BOOST_AUTO_TEST_CASE(params_are_checked_and_reported) {
    // A named factory: braces inside a macro argument would split it at the commas.
    const auto params_of = [](std::uint32_t memory_kib, std::uint32_t iterations) {
        return nidan::hash_params{memory_kib, iterations};
    };
    BOOST_CHECK_THROW(password_hasher(params_of(0, 1)), std::invalid_argument);
    BOOST_CHECK_THROW(password_hasher(params_of(7, 1)), std::invalid_argument);
    BOOST_CHECK_THROW(password_hasher(params_of(8192, 0)), std::invalid_argument);
    const password_hasher hasher(hash_params{8, 1});  // libsodium's minimum is 8 KiB
    BOOST_TEST((hasher.verify(hasher.hash("x"), "x") == verdict::match));
    const auto p = password_hasher(hash_params{19456, 2}).params();
    BOOST_TEST(p.memory_kib == 19456U);
    BOOST_TEST(p.iterations == 2U);
}

BOOST_AUTO_TEST_CASE(verify_dummy_runs) {
    const password_hasher hasher(fast);
    BOOST_CHECK_NO_THROW(hasher.verify_dummy("anything"));
    BOOST_CHECK_NO_THROW(hasher.verify_dummy(""));
    const password_hasher copy = hasher;  // shares the already computed dummy
    BOOST_CHECK_NO_THROW(copy.verify_dummy("anything else"));
}

BOOST_AUTO_TEST_CASE(looks_like_phc_shape) {
    const password_hasher hasher(fast);
    const auto phc = hasher.hash("pw");
    BOOST_TEST(password_hasher::looks_like_phc(phc));
    BOOST_TEST(password_hasher::looks_like_phc(password_hasher(hash_params{19456, 2}).hash("pw")));

    const auto tail = phc.substr(std::string_view("$argon2id$v=19$m=8192,t=1,p=1").size());
    BOOST_TEST(password_hasher::looks_like_phc("$argon2id$v=19$m=65536,t=3,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2i$v=19$m=8192,t=1,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2d$v=19$m=8192,t=1,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=16$m=8192,t=1,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$m=8192,t=1,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=8192,t=1,p=2" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=08192,t=1,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=4,t=1,p=1" + tail));  // < 8 KiB
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=8192,t=0,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=99999999999,t=1,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$t=1,m=8192,p=1" + tail));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=8192,t=1,p=1$$"));
    BOOST_TEST(!password_hasher::looks_like_phc("$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$"));
    BOOST_TEST(!password_hasher::looks_like_phc(" " + phc));
    BOOST_TEST(!password_hasher::looks_like_phc(phc + " "));
    BOOST_TEST(!password_hasher::looks_like_phc(phc + "="));
    BOOST_TEST(!password_hasher::looks_like_phc(""));
}
