#define BOOST_TEST_MODULE login_code
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/login/login_code.hpp"

using namespace std::string_literals;
using namespace std::string_view_literals;
using namespace nidan;

namespace {

const std::string secret = "server secret of the test";
const std::string alice = "ip-phone\0alice"s;
const std::string bob = "ip-phone\0bob"s;

bool all_digits(const std::string& text) {
    for (const char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(code_has_requested_length_and_only_digits) {
    for (const unsigned length : {1u, 4u, 6u, 8u, 12u}) {
        for (int i = 0; i < 200; ++i) {
            const auto code = generate_code(length);
            BOOST_TEST(code.size() == length);
            BOOST_TEST(all_digits(code));
        }
    }
    BOOST_CHECK_THROW(generate_code(0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(digits_are_roughly_uniform) {
    // 100k digits: each count has a standard deviation near 95, so +-500 (5 %) is over five
    // sigmas and the test does not flake, while a biased generator (for example byte % 10,
    // which favours 0-5 by 2.3 %) over many runs or a stuck digit fails at once.
    std::array<std::size_t, 10> counts{};
    std::size_t total = 0;
    while (total < 100'000) {
        for (const char c : generate_code(10)) ++counts[static_cast<std::size_t>(c - '0')];
        total += 10;
    }
    for (std::size_t d = 0; d < counts.size(); ++d) {
        BOOST_TEST_INFO("digit " << d << " drawn " << counts[d] << " times");
        BOOST_TEST(counts[d] >= 9'500u);
        BOOST_TEST(counts[d] <= 10'500u);
    }
}

BOOST_AUTO_TEST_CASE(codes_differ_between_calls) {
    // Two equal 12-digit codes in a row happen once in 10^12 runs.
    BOOST_TEST(generate_code(12) != generate_code(12));
}

BOOST_AUTO_TEST_CASE(mac_is_32_bytes_and_deterministic) {
    const auto mac = code_mac(secret, alice, "123456");
    BOOST_TEST(mac.size() == 32u);
    BOOST_TEST(mac == code_mac(secret, alice, "123456"));
    BOOST_CHECK_THROW(code_mac("", alice, "123456"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(mac_binds_secret_account_and_code) {
    const auto mac = code_mac(secret, alice, "123456");
    BOOST_TEST(mac != code_mac(secret, bob, "123456"));
    BOOST_TEST(mac != code_mac(secret, alice, "123457"));
    BOOST_TEST(mac != code_mac("another secret", alice, "123456"));
    // The NUL separator keeps the account and the code apart: shifting a digit across the
    // boundary changes the MAC.
    BOOST_TEST(code_mac(secret, "acct1", "23456") != code_mac(secret, "acct", "123456"));
}

BOOST_AUTO_TEST_CASE(code_matches_semantics) {
    const auto mac = code_mac(secret, alice, "012345");
    BOOST_TEST(code_matches(mac, secret, alice, "012345"));
    BOOST_TEST(!code_matches(mac, secret, alice, "012346"));
    BOOST_TEST(!code_matches(mac, secret, alice, "12345"));
    BOOST_TEST(!code_matches(mac, secret, alice, ""));
    BOOST_TEST(!code_matches(mac, secret, bob, "012345"));  // a copied MAC does not move accounts
    BOOST_TEST(!code_matches(mac, "another secret", alice, "012345"));
    BOOST_TEST(!code_matches(mac, "", alice, "012345"));    // no exception from an empty secret
    BOOST_TEST(!code_matches("", secret, alice, "012345"));
    BOOST_TEST(!code_matches(mac.substr(0, 31), secret, alice, "012345"));
    BOOST_TEST(!code_matches(mac + "x", secret, alice, "012345"));
    auto flipped = mac;
    flipped[31] = static_cast<char>(flipped[31] ^ 1);
    BOOST_TEST(!code_matches(flipped, secret, alice, "012345"));
}

namespace {

struct normalise_case {
    std::string_view input;
    std::optional<std::string_view> expected;
};

}  // namespace

BOOST_AUTO_TEST_CASE(normalise_table) {
    const normalise_case cases[] = {
        {"123456", "123456"},
        {"000000", "000000"},
        {"\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94\xEF\xBC\x95\xEF\xBC\x96", "123456"},
        {"\xEF\xBC\x90\xEF\xBC\x99" "1234", "091234"},         // full-width 0 and 9, mixed
        {"12\xEF\xBC\x93" "4\xEF\xBC\x95" "6", "123456"},        // alternating widths
        {"  123456", "123456"},
        {"123456\t", "123456"},
        {" \t 123456 \t ", "123456"},
        {"\xE3\x80\x80" "123456\xE3\x80\x80\xE3\x80\x80", "123456"},  // ideographic spaces
        {"\xE3\x80\x80 \t123456 \xE3\x80\x80", "123456"},
        {"", std::nullopt},
        {"   ", std::nullopt},
        {"\xE3\x80\x80", std::nullopt},
        {"12345", std::nullopt},            // too short
        {"1234567", std::nullopt},          // too long
        {"123 456", std::nullopt},          // inner space
        {"123\xE3\x80\x80" "456", std::nullopt},
        {"123-456", std::nullopt},
        {"12345a", std::nullopt},
        {"abcdef", std::nullopt},
        {"\xEF\xBC\xA1" "23456", std::nullopt},  // full-width A (U+FF21)
        {"\xEF\xBC\x8F" "23456", std::nullopt},  // U+FF0F, just below the full-width digits
        {"\xEF\xBC\x9A" "23456", std::nullopt},  // U+FF1A, just above them
        {"\xD9\xA1" "23456", std::nullopt},       // Arabic-Indic one: a digit, but not ours
        {"123456\n", std::nullopt},               // only spaces and tabs are stripped
        {"\r123456", std::nullopt},
        {"+123456", std::nullopt},
        {"123456\x80", std::nullopt},              // invalid UTF-8
        {"\xEF\xBC" "123456", std::nullopt},      // truncated full-width digit
        {"12345\xEF\xBC", std::nullopt},
        {"12345\xEF\xBC\x96\xBC", std::nullopt},  // stray continuation byte
        {"\xE3\x80" "123456", std::nullopt},      // truncated ideographic space
        {"12345\xC0\xB6", std::nullopt},          // overlong '6'
        {"123456\0"sv, std::nullopt},
    };
    for (const auto& c : cases) {
        BOOST_TEST_INFO("input of " << c.input.size() << " bytes: " << c.input);
        const auto got = normalise_code_input(c.input, 6);
        BOOST_TEST(got.has_value() == c.expected.has_value());
        if (got && c.expected) BOOST_TEST(*got == *c.expected);
    }
}

BOOST_AUTO_TEST_CASE(normalise_respects_length) {
    BOOST_TEST(normalise_code_input("1234", 4).value_or("-") == "1234");
    BOOST_TEST(normalise_code_input("12345678", 8).value_or("-") == "12345678");
    BOOST_TEST(!normalise_code_input("1234", 6).has_value());
    BOOST_TEST(!normalise_code_input("", 0).has_value());
    BOOST_TEST(!normalise_code_input("1", 0).has_value());
    BOOST_TEST(!normalise_code_input(std::string(10'000, '1'), 6).has_value());
}

BOOST_AUTO_TEST_CASE(generated_codes_survive_normalisation_and_match) {
    for (int i = 0; i < 50; ++i) {
        const auto code = generate_code(6);
        const auto typed = normalise_code_input(" " + code + "\xE3\x80\x80", 6);
        BOOST_TEST(typed.value_or("-") == code);
        BOOST_TEST(code_matches(code_mac(secret, alice, code), secret, alice, typed.value_or("")));
    }
}
