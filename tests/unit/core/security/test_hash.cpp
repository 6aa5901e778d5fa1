#define BOOST_TEST_MODULE hash
#include <boost/test/unit_test.hpp>

#include <sodium.h>

#include <string>
#include <string_view>

#include "core/security/hash_cost.hpp"
#include "core/base/nfkc.hpp"
#include "core/security/password_hasher.hpp"

using namespace std::string_literals;
using nidan::hash_params;
using nidan::password_hasher;
using verdict = password_hasher::verdict;

namespace {

// Small parameters keep the suite fast where the test is not about the parameters themselves.
constexpr hash_params fast{8192, 1};

// Typed with a full-width input method; NFKC makes it "PassWord123".
const std::string full_width = "ＰａｓｓＷｏｒｄ１２３";
const std::string half_width = "PassWord123";

// A hash of the password exactly as typed, as nidan stored it before normalisation.
std::string as_typed_phc(std::string_view password, hash_params p = fast) {
    static_cast<void>(password_hasher(p));  // initialises libsodium
    char out[crypto_pwhash_STRBYTES];
    BOOST_REQUIRE(crypto_pwhash_str_alg(out, password.data(), password.size(), p.iterations,
                                        std::size_t{p.memory_kib} * 1024U, crypto_pwhash_ALG_ARGON2ID13) == 0);
    return out;
}

// The Argon2id computations fn makes on this thread.
template <class Fn>
std::uint64_t computations_of(Fn fn) {
    const auto before = password_hasher::computations_on_this_thread();
    fn();
    return password_hasher::computations_on_this_thread() - before;
}

// A real hash with its m replaced: still well-formed, never computed by the tests that use it.
std::string with_memory(std::string phc, std::string_view from, std::string_view to) {
    phc.replace(phc.find(from), from.size(), to);
    return phc;
}

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

BOOST_AUTO_TEST_CASE(nfkc_forms) {
    BOOST_TEST(nidan::nfkc(full_width).value_or("?") == half_width);
    BOOST_TEST(nidan::nfkc(half_width).value_or("?") == half_width);
    BOOST_TEST(nidan::nfkc("").value_or("?").empty());
    BOOST_TEST(nidan::nfkc("e\u0301t\u00e9").value_or("?") == "\u00e9t\u00e9");  // composed
    BOOST_TEST(nidan::nfkc("\uFF76\uFF9E").value_or("?") == "\u30AC");  // half-width ｶﾞ -> ガ
    BOOST_TEST(nidan::nfkc("\u337F").value_or("?") == "\u682A\u5F0F\u4F1A\u793E");  // ㍿ -> 株式会社
    BOOST_TEST(nidan::nfkc("パスワード").value_or("?") == "パスワード");
    BOOST_TEST(nidan::nfkc("a\0b"s).value_or("?") == "a\0b"s);  // NUL is kept
    // Not UTF-8: no normal form (libunistring alone would turn the bytes into U+FFFD).
    BOOST_TEST(!nidan::nfkc("a\xFF" "b").has_value());
    BOOST_TEST(!nidan::nfkc("\xC0\xAF").has_value());      // overlong '/'
    BOOST_TEST(!nidan::nfkc("\xED\xA0\x80").has_value());  // a UTF-16 surrogate
}

BOOST_AUTO_TEST_CASE(hash_stores_the_nfkc_form) {
    const password_hasher hasher(fast);
    const auto phc = hasher.hash(full_width);
    // Every spelling with the same NFKC form is the same password, and it is stored as current.
    BOOST_TEST((hasher.verify(phc, half_width) == verdict::match));
    BOOST_TEST((hasher.verify(phc, full_width) == verdict::match));
    BOOST_TEST((hasher.verify(phc, "PassＷｏｒｄ123") == verdict::match));
    BOOST_TEST((hasher.verify(phc, "passWord123") == verdict::mismatch));
    // What was hashed is the NFKC form itself, as libsodium sees it.
    BOOST_TEST(crypto_pwhash_argon2id_str_verify(phc.c_str(), half_width.data(), half_width.size()) == 0);
    BOOST_TEST(crypto_pwhash_argon2id_str_verify(phc.c_str(), full_width.data(), full_width.size()) != 0);
}

BOOST_AUTO_TEST_CASE(a_hash_of_the_text_as_typed_verifies_and_asks_for_rehash) {
    const password_hasher hasher(fast);
    const auto old_phc = as_typed_phc(full_width);
    BOOST_TEST((hasher.verify(old_phc, full_width) == verdict::match_needs_rehash));
    BOOST_TEST((hasher.verify(old_phc, half_width) == verdict::mismatch));
    // The re-hash the login then stores takes the NFKC spelling too.
    const auto fresh = hasher.hash(full_width);
    BOOST_TEST((hasher.verify(fresh, half_width) == verdict::match));
    // A password NFKC leaves alone, hashed before normalisation, is simply current.
    BOOST_TEST((hasher.verify(as_typed_phc(half_width), half_width) == verdict::match));
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_is_hashed_and_checked_as_typed) {
    const password_hasher hasher(fast);
    const std::string bad = "pass\xFFword";
    const auto phc = hasher.hash(bad);
    BOOST_TEST(crypto_pwhash_argon2id_str_verify(phc.c_str(), bad.data(), bad.size()) == 0);
    BOOST_TEST((hasher.verify(phc, bad) == verdict::match));
    BOOST_TEST((hasher.verify(phc, "pass\uFFFDword") == verdict::mismatch));  // not made equal to U+FFFD
    BOOST_TEST((hasher.verify(as_typed_phc(bad), bad) == verdict::match));
}

// verify_dummy must cost what a wrong password's verify() costs, input by input, so the unknown-ID
// path cannot be told from a known ID's; counted, not timed.
BOOST_AUTO_TEST_CASE(a_check_costs_one_computation_or_two_and_the_dummy_the_same) {
    const password_hasher hasher(fast);
    hasher.verify_dummy("");  // builds the dummy hash first, so it is not counted below
    const auto nfkc_phc = hasher.hash(half_width);
    const auto typed_phc = as_typed_phc(full_width);
    const auto cost = [&](const std::string& phc, const std::string& password) {
        return computations_of([&] { static_cast<void>(hasher.verify(phc, password)); });
    };
    const auto dummy = [&](const std::string& password) {
        return computations_of([&] { hasher.verify_dummy(password); });
    };
    // NFKC changes nothing: one computation, right or wrong.
    BOOST_TEST(cost(nfkc_phc, half_width) == 1U);
    BOOST_TEST(cost(nfkc_phc, "PassWord124") == 1U);
    BOOST_TEST(dummy(half_width) == 1U);
    BOOST_TEST(dummy("PassWord124") == 1U);
    // NFKC changes it: one when the NFKC form matches, two otherwise (the as-typed fallback).
    BOOST_TEST(cost(nfkc_phc, full_width) == 1U);
    BOOST_TEST(cost(typed_phc, full_width) == 2U);
    BOOST_TEST(cost(nfkc_phc, "ＰａｓｓＷｏｒｄ１２４") == 2U);
    BOOST_TEST(dummy(full_width) == 2U);
    BOOST_TEST(dummy("ＰａｓｓＷｏｒｄ１２４") == 2U);
    // Not UTF-8: only the text as typed.
    BOOST_TEST(cost(nfkc_phc, "\xFF\xFE") == 1U);
    BOOST_TEST(dummy("\xFF\xFE") == 1U);
    // hash() is one computation.
    BOOST_TEST(computations_of([&] { static_cast<void>(hasher.hash(full_width)); }) == 1U);
}

BOOST_AUTO_TEST_CASE(cost_of_reads_the_parameters) {
    const auto phc = password_hasher(fast).hash("pw");
    const auto cost = password_hasher::cost_of(phc);
    BOOST_REQUIRE(cost.has_value());
    BOOST_TEST(cost->memory_kib == 8192U);
    BOOST_TEST(cost->iterations == 1U);
    BOOST_TEST(cost->parallelism == 1U);
    const auto p4 = password_hasher::cost_of(with_memory(phc, "m=8192,t=1,p=1", "m=65536,t=3,p=4"));
    BOOST_REQUIRE(p4.has_value());
    BOOST_TEST(p4->memory_kib == 65536U);
    BOOST_TEST(p4->iterations == 3U);
    BOOST_TEST(p4->parallelism == 4U);
    BOOST_TEST(!password_hasher::looks_like_phc(with_memory(phc, "p=1", "p=4")));
    BOOST_TEST(!password_hasher::cost_of("$argon2i$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA").has_value());
    BOOST_TEST(!password_hasher::cost_of("").has_value());
}

BOOST_AUTO_TEST_CASE(a_stored_hash_beyond_the_cost_factor_is_not_computed) {
    const password_hasher bounded(fast, 4);
    bounded.verify_dummy("");
    // 8x our memory: the right password is refused, at the price of a dummy check.
    const auto costly = password_hasher(hash_params{65536, 1}).hash("pw");
    BOOST_TEST((bounded.verify(costly, "pw") == verdict::mismatch));
    BOOST_TEST(computations_of([&] { static_cast<void>(bounded.verify(costly, "pw")); }) == 1U);
    BOOST_TEST((password_hasher(fast).verify(costly, "pw") == verdict::match_needs_rehash));  // no bound
    BOOST_TEST((password_hasher(fast, 8).verify(costly, "pw") == verdict::match_needs_rehash));
    // 4x our memory and 4x our iterations: at the bound, still checked.
    const auto at_bound = password_hasher(hash_params{32768, 4}).hash("pw");
    BOOST_TEST((bounded.verify(at_bound, "pw") == verdict::match_needs_rehash));
    // One over in iterations alone is beyond it. A 4 GiB m is refused without allocating it.
    BOOST_TEST((bounded.verify(password_hasher(hash_params{8192, 5}).hash("pw"), "pw") == verdict::mismatch));
    const auto huge = with_memory(password_hasher(fast).hash("pw"), "m=8192", "m=4194304");
    BOOST_TEST(computations_of([&] { BOOST_TEST((bounded.verify(huge, "pw") == verdict::mismatch)); }) == 1U);
}

BOOST_AUTO_TEST_CASE(import_cost_bounds) {
    using nidan::import_cost_problem;
    using nidan::phc_cost;
    const hash_params ours{19456, 2};
    const nidan::hash_cost_bounds bounds{4, 7168, 1};
    BOOST_TEST(import_cost_problem(phc_cost{19456, 2, 1}, ours, bounds).value_or("").empty());
    BOOST_TEST(import_cost_problem(phc_cost{8192, 1, 1}, ours, bounds).value_or("").empty());    // the tests' cheap hashes
    BOOST_TEST(import_cost_problem(phc_cost{77824, 8, 1}, ours, bounds).value_or("").empty());   // at the ceiling
    BOOST_TEST(import_cost_problem(phc_cost{7168, 5, 1}, ours, bounds).value_or("").empty());    // at the floor
    BOOST_TEST(import_cost_problem(phc_cost{77825, 2, 1}, ours, bounds).value_or("") ==
               "password: argon2id hash with m=77825 KiB, above hash.max_cost_factor (4) x hash.memory_kib (19456) = "
               "77824 KiB");
    BOOST_TEST(import_cost_problem(phc_cost{19456, 9, 1}, ours, bounds).value_or("") ==
               "password: argon2id hash with t=9, above hash.max_cost_factor (4) x hash.iterations (2) = 8");
    BOOST_TEST(import_cost_problem(phc_cost{7167, 2, 1}, ours, bounds).value_or("") ==
               "password: argon2id hash with m=7167 KiB, below hash.import_min_memory_kib (7168)");
    BOOST_TEST(import_cost_problem(phc_cost{19456, 1, 1}, ours, nidan::hash_cost_bounds{4, 7168, 2}).value_or("") ==
               "password: argon2id hash with t=1, below hash.import_min_iterations (2)");
    BOOST_TEST(import_cost_problem(phc_cost{19456, 2, 4}, ours, bounds).value_or("") ==
               "password: argon2id hash with p=4, only p=1 is supported");
    // Several problems at once, each reported.
    const auto both = import_cost_problem(phc_cost{4194304, 100, 2}, ours, bounds).value_or("");
    BOOST_TEST(both.find("p=2") != std::string::npos);
    BOOST_TEST(both.find("m=4194304 KiB, above") != std::string::npos);
    BOOST_TEST(both.find("t=100, above") != std::string::npos);
    // The largest factor times the largest memory: 2^28 KiB, compared exactly.
    BOOST_TEST(import_cost_problem(phc_cost{268435456U, 1, 1}, hash_params{4194304, 1},
                                   nidan::hash_cost_bounds{64, 8, 1}).value_or("").empty());
    BOOST_TEST(!import_cost_problem(phc_cost{268435457U, 1, 1}, hash_params{4194304, 1},
                                    nidan::hash_cost_bounds{64, 8, 1}).value_or("").empty());
    // The config's defaults give these bounds.
    const auto defaults = nidan::cost_bounds_of(nidan::hash_config{});
    BOOST_TEST(defaults.max_factor == 4U);
    BOOST_TEST(defaults.min_memory_kib == 7168U);
    BOOST_TEST(defaults.min_iterations == 1U);
}
