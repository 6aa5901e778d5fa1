#define BOOST_TEST_MODULE tokens
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/base/tokens.hpp"

using namespace std::string_literals;
using namespace nidan;

namespace {

const std::string secret = "a server secret for tests";
constexpr std::string_view csrf = "login-csrf";
constexpr std::string_view device = "device";
constexpr std::int64_t now = 1'700'000'000;

bool is_base64url(std::string_view text) {
    for (const char c : text) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::string hex(std::string_view raw) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : raw) {
        const auto byte = static_cast<unsigned char>(c);
        out += digits[byte >> 4];
        out += digits[byte & 0xF];
    }
    return out;
}

struct token_pieces {
    std::string payload, expires, mac;
};

token_pieces pieces(const std::string& token) {
    const auto a = token.find('.');
    const auto b = token.find('.', a + 1);
    return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

std::string join(const token_pieces& p) { return p.payload + '.' + p.expires + '.' + p.mac; }

}  // namespace

BOOST_AUTO_TEST_CASE(random_tokens) {
    const auto token = random_token();
    BOOST_TEST(token.size() == 43u);  // 32 bytes, 256 bits, unpadded
    BOOST_TEST(is_base64url(token));
    BOOST_TEST(random_token(16).size() == 22u);
    BOOST_TEST(random_token(1).size() == 2u);
    BOOST_TEST(random_token(0).empty());
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(random_token());
    BOOST_TEST(seen.size() == 1000u);
}

// The bytes come from a per-thread pool refilled every 4 KiB: across refills and across threads
// no token repeats (a pool handing out the same bytes twice, or two threads sharing one, would).
BOOST_AUTO_TEST_CASE(random_tokens_from_pools_never_repeat) {
    constexpr int per_thread = 2000;  // 16-byte tokens: about 8 refills per thread
    std::vector<std::string> other(per_thread);
    std::thread worker([&] {
        for (auto& t : other) t = random_token(16);
    });
    std::set<std::string> seen;
    for (int i = 0; i < per_thread; ++i) seen.insert(random_token(16));
    worker.join();
    seen.insert(other.begin(), other.end());
    BOOST_TEST(seen.size() == 2u * per_thread);
    // A request bigger than a quarter of the pool bypasses it and is still random.
    BOOST_TEST(random_token(2048) != random_token(2048));
}

BOOST_AUTO_TEST_CASE(sha256_known_answers) {
    BOOST_TEST(sha256("").size() == 32u);
    BOOST_TEST(hex(sha256("")) ==
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    BOOST_TEST(hex(sha256("abc")) ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(hmac_known_answer) {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    BOOST_TEST(hex(hmac_sha256("Jefe", {"what do ya want for nothing?"})) ==
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Parts are joined with NUL bytes.
    BOOST_TEST(hmac_sha256("k", {"a", "b"}) == hmac_sha256("k", {"a\0b"s}));
    BOOST_TEST(hmac_sha256("k", {"a", "b"}) != hmac_sha256("k", {"ab"}));
    // Keys longer than a block are hashed first, by the HMAC definition; still works.
    BOOST_TEST(hmac_sha256(std::string(200, 'k'), {"x"}).size() == 32u);
    BOOST_CHECK_THROW(hmac_sha256("", {"x"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(hmac_known_answers_while_the_key_changes_between_calls) {
    // The keyed state is kept per thread: alternating keys must never mix them up.
    const std::string case1_key(20, '\x0b');
    const std::string case6_key(131, '\xaa');  // longer than a block: hashed first
    for (int round = 0; round < 2; ++round) {
        BOOST_TEST(hex(hmac_sha256(case1_key, {"Hi There"})) ==
                   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        BOOST_TEST(hex(hmac_sha256("Jefe", {"what do ya want for nothing?"})) ==
                   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        BOOST_TEST(hex(hmac_sha256(case6_key, {"Test Using Larger Than Block-Size Key - Hash Key First"})) ==
                   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        BOOST_TEST(hex(hmac_sha256("Jefe", {"what do ya want for nothing?"})) ==
                   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
    // A key that is a prefix of the cached one is a different key.
    BOOST_TEST(hmac_sha256("Jef", {"x"}) != hmac_sha256("Jefe", {"x"}));
}

BOOST_AUTO_TEST_CASE(constant_time_equal_semantics) {
    BOOST_TEST(constant_time_equal("", ""));
    BOOST_TEST(constant_time_equal("abc", "abc"));
    BOOST_TEST(constant_time_equal("a\0b"s, "a\0b"s));
    BOOST_TEST(!constant_time_equal("abc", "abd"));
    BOOST_TEST(!constant_time_equal("abc", "ab"));
    BOOST_TEST(!constant_time_equal("", "a"));
    BOOST_TEST(!constant_time_equal("a\0b"s, "a\0c"s));
}

BOOST_AUTO_TEST_CASE(round_trip) {
    for (const std::string& payload : {""s, "x"s, "session-binding"s, "a.b.c"s, "\0\xff\x01"s,
                                      std::string(1000, 'p')}) {
        const auto token = sign_token(secret, csrf, payload, now + 60);
        BOOST_TEST(std::count(token.begin(), token.end(), '.') == 2);
        const auto got = verify_token(secret, csrf, token, now);
        BOOST_TEST(got.has_value());
        BOOST_TEST(got.value_or("<none>") == payload);
    }
}

BOOST_AUTO_TEST_CASE(token_shape) {
    const auto p = pieces(sign_token(secret, device, "hello", now));
    BOOST_TEST(p.payload == "aGVsbG8");
    BOOST_TEST(p.expires == std::to_string(now));
    BOOST_TEST(p.mac.size() == 43u);
    BOOST_TEST(is_base64url(p.mac));
}

BOOST_AUTO_TEST_CASE(purpose_secret_and_expiry) {
    const auto token = sign_token(secret, device, "alice", now + 10);
    BOOST_TEST(verify_token(secret, device, token, now).has_value());
    BOOST_TEST(!verify_token(secret, csrf, token, now).has_value());  // device cookie is no CSRF token
    BOOST_TEST(!verify_token("other secret", device, token, now).has_value());
    BOOST_TEST(!verify_token("", device, token, now).has_value());
    BOOST_TEST(verify_token(secret, device, token, now + 9).has_value());
    BOOST_TEST(!verify_token(secret, device, token, now + 10).has_value());  // expiry is exclusive
    BOOST_TEST(!verify_token(secret, device, token, now + 1'000'000).has_value());
    BOOST_CHECK_THROW(sign_token("", device, "alice", now), std::invalid_argument);
    BOOST_CHECK_THROW(sign_token(secret, "de\0vice"s, "alice", now), std::invalid_argument);
    BOOST_TEST(!verify_token(secret, "de\0vice"s, token, now).has_value());
}

BOOST_AUTO_TEST_CASE(negative_and_extreme_expiry) {
    const auto max = std::numeric_limits<std::int64_t>::max();
    const auto min = std::numeric_limits<std::int64_t>::min();
    BOOST_TEST(verify_token(secret, csrf, sign_token(secret, csrf, "p", max), now).has_value());
    BOOST_TEST(!verify_token(secret, csrf, sign_token(secret, csrf, "p", min), now).has_value());
    BOOST_TEST(verify_token(secret, csrf, sign_token(secret, csrf, "p", -5), -6).has_value());
}

BOOST_AUTO_TEST_CASE(tampering_is_detected) {
    const auto token = sign_token(secret, csrf, "alice", now + 60);
    const auto p = pieces(token);

    auto other_payload = p;
    other_payload.payload = pieces(sign_token(secret, csrf, "mallory", now + 60)).payload;
    BOOST_TEST(!verify_token(secret, csrf, join(other_payload), now).has_value());

    auto later = p;
    later.expires = std::to_string(now + 999'999);
    BOOST_TEST(!verify_token(secret, csrf, join(later), now).has_value());

    // Same number, other spelling: refused before the MAC is even looked at.
    for (const std::string& spelling : {"0" + p.expires, "+" + p.expires, p.expires + " ",
                                       " " + p.expires, ""s, "-"s, "1e9"s, "99999999999999999999"s}) {
        auto respelled = p;
        respelled.expires = spelling;
        BOOST_TEST(!verify_token(secret, csrf, join(respelled), now).has_value());
    }

    auto flipped = p;
    flipped.mac[5] = flipped.mac[5] == 'A' ? 'B' : 'A';
    BOOST_TEST(!verify_token(secret, csrf, join(flipped), now).has_value());

    auto short_mac = p;
    short_mac.mac.pop_back();
    BOOST_TEST(!verify_token(secret, csrf, join(short_mac), now).has_value());

    auto long_mac = p;
    long_mac.mac += "AA";
    BOOST_TEST(!verify_token(secret, csrf, join(long_mac), now).has_value());

    // Non-canonical base64: the last character of a 43-character encoding carries 2 spare bits.
    auto spare_bits = p;
    spare_bits.mac.back() = spare_bits.mac.back() == 'B' ? 'C' : 'B';
    BOOST_TEST(!verify_token(secret, csrf, join(spare_bits), now).has_value());

    auto padded = p;
    padded.mac += "=";
    BOOST_TEST(!verify_token(secret, csrf, join(padded), now).has_value());

    BOOST_TEST(!verify_token(secret, csrf, token + ".", now).has_value());
    BOOST_TEST(!verify_token(secret, csrf, "." + token, now).has_value());
    BOOST_TEST(!verify_token(secret, csrf, token + "x", now).has_value());
}

BOOST_AUTO_TEST_CASE(garbage_never_verifies_or_throws) {
    const std::string garbage[] = {
        "",
        ".",
        "..",
        "...",
        "nodots",
        "one.dot",
        "a.b.c",
        "a.1.c",
        ".1.",
        "!!!.1.!!!",
        "\0.\0.\0"s,
        "\xff\xfe.\x80.\xc0",
        std::string(max_token_size + 1, 'A'),
        std::string(1'000'000, '.'),
        std::string(100'000, 'A') + "." + std::to_string(now + 60) + "." + std::string(43, 'A'),
    };
    for (const auto& g : garbage) {
        BOOST_TEST_INFO("garbage of " << g.size() << " bytes");
        BOOST_TEST(!verify_token(secret, csrf, g, now).has_value());
    }
}

BOOST_AUTO_TEST_CASE(size_limit) {
    BOOST_CHECK_THROW(sign_token(secret, csrf, std::string(max_token_size, 'p'), now),
                      std::length_error);
    // The largest payload that fits still verifies.
    std::string payload(2900, 'p');
    const auto token = sign_token(secret, csrf, payload, now + 1);
    BOOST_TEST(token.size() <= max_token_size);
    BOOST_TEST(verify_token(secret, csrf, token, now).value_or("") == payload);
}
