#include "core/base/tokens.hpp"
#include "core/base/sodium.hpp"

#include <sodium.h>

#include <array>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace nidan {
namespace {

const unsigned char* bytes_of(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

constexpr int b64_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

std::string to_base64url(std::string_view data) {
    std::string out(sodium_base64_ENCODED_LEN(data.size(), b64_variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes_of(data), data.size(), b64_variant);
    out.resize(out.size() - 1);  // the encoder's terminating NUL
    return out;
}

// Strict: libsodium rejects stray characters and non-zero trailing bits, so each payload has
// exactly one encoding and a token cannot be altered without touching the MAC input.
std::optional<std::string> from_base64url(std::string_view text) {
    std::vector<unsigned char> out(text.size() * 3 / 4 + 1);
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, &end,
                          b64_variant) != 0 ||
        end != text.data() + text.size())
        return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out.data()), length);
}

std::string format_int(std::int64_t value) {
    std::array<char, 24> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return std::string(buffer.data(), result.ptr);
}

// Only the form format_int() writes ("-5", "0", "17"; no '+', no leading zeros), so the MAC
// input for a given expiry is unique.
std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    if (result.ec != std::errc{} || result.ptr != text.data() + text.size()) return std::nullopt;
    if (format_int(value) != text) return std::nullopt;
    return value;
}

std::string token_mac(std::string_view secret, std::string_view purpose, std::string_view payload,
                      std::string_view expires) {
    return hmac_sha256(secret, {purpose, payload, expires});
}

struct token_parts {
    std::string_view payload;
    std::string_view expires;
    std::string_view mac;
};

std::optional<token_parts> split_token(std::string_view token) {
    const auto first = token.find('.');
    if (first == std::string_view::npos) return std::nullopt;
    const auto second = token.find('.', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    const auto rest = token.substr(second + 1);
    if (rest.find('.') != std::string_view::npos) return std::nullopt;
    return token_parts{token.substr(0, first), token.substr(first + 1, second - first - 1), rest};
}

std::optional<std::string> verify_parts(std::string_view secret, std::string_view purpose,
                                        const token_parts& parts, std::int64_t now) {
    const auto payload = from_base64url(parts.payload);
    const auto mac = from_base64url(parts.mac);
    const auto expires = parse_int(parts.expires);
    if (!payload || !mac || !expires) return std::nullopt;
    // The MAC is checked before the expiry so that the answer for a forged token never depends
    // on the forged expiry.
    if (!constant_time_equal(*mac, token_mac(secret, purpose, *payload, parts.expires)))
        return std::nullopt;
    if (now >= *expires) return std::nullopt;
    return payload;
}

// Random bytes from a per-thread pool: randombytes_buf is one getrandom system call, and every
// login form asks for a token. One refill serves 256 16-byte tokens. No lock (the pool is the
// thread's own); each byte is handed out once and wiped from the pool as it goes.
class random_pool {
public:
    void fill(unsigned char* out, std::size_t n) {
        if (n > bytes_.size() / 4) {
            randombytes_buf(out, n);
            return;
        }
        if (used_ + n > bytes_.size()) {
            randombytes_buf(bytes_.data(), bytes_.size());
            used_ = 0;
        }
        std::memcpy(out, bytes_.data() + used_, n);
        sodium_memzero(bytes_.data() + used_, n);
        used_ += n;
    }
    ~random_pool() { sodium_memzero(bytes_.data(), bytes_.size()); }

private:
    std::array<unsigned char, 4096> bytes_{};
    std::size_t used_ = bytes_.size();
};

// HMAC's first step depends on the key alone (the inner and outer pads, two SHA-256 blocks,
// and one more hash when the key is longer than a block): done once per key and thread, it is
// copied for each MAC. Every page carries a signed token, so this was most of the MAC's cost.
// The cached copy is the key's own derivative and stays with the process's other secrets.
crypto_auth_hmacsha256_state keyed_hmac_state(std::string_view key) {
    thread_local std::string cached_key;
    thread_local crypto_auth_hmacsha256_state cached{};
    if (cached_key.empty() || !constant_time_equal(cached_key, key)) {
        crypto_auth_hmacsha256_init(&cached, bytes_of(key), key.size());
        cached_key.assign(key);
    }
    return cached;
}

void random_bytes(void* out, std::size_t n) {
    thread_local random_pool pool;
    pool.fill(static_cast<unsigned char*>(out), n);
}

}  // namespace

std::uint64_t random_u64() {
    ensure_sodium();
    std::uint64_t value = 0;
    random_bytes(&value, sizeof value);
    return value;
}

std::string random_token(std::size_t bytes) {
    ensure_sodium();
    std::string raw(bytes, '\0');
    random_bytes(raw.data(), raw.size());
    auto token = to_base64url(raw);
    sodium_memzero(raw.data(), raw.size());
    return token;
}

std::string sha256(std::string_view data) {
    ensure_sodium();
    std::string out(crypto_hash_sha256_BYTES, '\0');
    crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), bytes_of(data), data.size());
    return out;
}

std::string hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts) {
    if (key.empty()) throw std::invalid_argument("hmac_sha256: empty key");
    ensure_sodium();
    static constexpr unsigned char separator = 0;
    crypto_auth_hmacsha256_state state = keyed_hmac_state(key);
    bool first = true;
    for (const auto part : parts) {
        if (!first) crypto_auth_hmacsha256_update(&state, &separator, 1);
        first = false;
        crypto_auth_hmacsha256_update(&state, bytes_of(part), part.size());
    }
    std::string out(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
    sodium_memzero(&state, sizeof state);
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;  // sodium_memcmp would be handed possibly null pointers
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sign_token(std::string_view secret, std::string_view purpose, std::string_view payload,
                       std::int64_t expires_at) {
    if (purpose.find('\0') != std::string_view::npos)
        throw std::invalid_argument("sign_token: purpose contains NUL");
    const auto expires = format_int(expires_at);
    auto token = to_base64url(payload) + '.' + expires + '.' +
                 to_base64url(token_mac(secret, purpose, payload, expires));
    if (token.size() > max_token_size) throw std::length_error("sign_token: payload too large");
    return token;
}

std::optional<std::string> verify_token(std::string_view secret, std::string_view purpose,
                                        std::string_view token, std::int64_t now) noexcept {
    if (secret.empty() || purpose.find('\0') != std::string_view::npos ||
        token.size() > max_token_size)
        return std::nullopt;
    const auto parts = split_token(token);
    if (!parts) return std::nullopt;
    try {
        return verify_parts(secret, purpose, *parts, now);
    } catch (...) {
        // Allocation failure or libsodium refusing to start: the token simply does not verify.
        return std::nullopt;
    }
}

}  // namespace nidan
