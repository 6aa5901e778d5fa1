#include "core/security/password_hasher.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/security/hash_cost.hpp"
#include "core/base/log.hpp"
#include "core/base/nfkc.hpp"
#include "core/base/sodium.hpp"

namespace nidan {
namespace {

thread_local std::uint64_t computations = 0;

// libsodium reads stored hashes as NUL-terminated strings of fewer than crypto_pwhash_STRBYTES
// bytes. A string_view that does not fit, or that hides a NUL, cannot be a hash we wrote.
using phc_buffer = std::array<char, crypto_pwhash_STRBYTES>;

std::optional<phc_buffer> to_c_string(std::string_view phc) {
    if (phc.size() >= crypto_pwhash_STRBYTES || phc.find('\0') != std::string_view::npos)
        return std::nullopt;
    phc_buffer buffer{};
    std::memcpy(buffer.data(), phc.data(), phc.size());
    return buffer;
}

// libsodium dislikes a null pointer even with length 0 on some paths; an empty literal is safe.
const char* password_ptr(std::string_view password) {
    return password.empty() ? "" : password.data();
}

bool is_b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool consume(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) return false;
    text.remove_prefix(prefix.size());
    return true;
}

// A decimal without sign or leading zeros that fits in 32 bits, as Argon2 encoders write it.
bool consume_u32(std::string_view& text, std::uint32_t& out) {
    std::size_t n = 0;
    std::uint64_t value = 0;
    while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
        value = value * 10 + static_cast<std::uint64_t>(text[n] - '0');
        if (value > std::numeric_limits<std::uint32_t>::max()) return false;
        ++n;
    }
    if (n == 0 || (n > 1 && text[0] == '0')) return false;
    text.remove_prefix(n);
    out = static_cast<std::uint32_t>(value);
    return true;
}

bool consume_b64(std::string_view& text) {
    std::size_t n = 0;
    while (n < text.size() && is_b64_char(text[n])) ++n;
    // Unpadded base64 never leaves a single character in the last group.
    if (n == 0 || n % 4 == 1) return false;
    text.remove_prefix(n);
    return true;
}

// "$argon2id$v=19$m=<u32>,t=<u32>,p=<u32>$<b64>$<b64>", nothing around it.
std::optional<phc_cost> parse_phc(std::string_view text) {
    phc_cost cost;
    if (consume(text, "$argon2id$v=19$m=") && consume_u32(text, cost.memory_kib) && consume(text, ",t=") &&
        consume_u32(text, cost.iterations) && consume(text, ",p=") && consume_u32(text, cost.parallelism) &&
        consume(text, "$") && consume_b64(text) && consume(text, "$") && consume_b64(text) && text.empty())
        return cost;
    return std::nullopt;
}

bool argon2id_matches(const phc_buffer& stored, std::string_view password) {
    ++computations;
    // The argon2id-specific member of the crypto_pwhash_str family: the generic one would also
    // accept argon2i strings. A failure here is a wrong password or unaffordable stored
    // parameters (ENOMEM); both must read as a mismatch.
    return crypto_pwhash_argon2id_str_verify(stored.data(), password_ptr(password), password.size()) == 0;
}

}  // namespace

struct password_hasher::dummy_state {
    std::once_flag once;
    std::string phc;
};

password_hasher::password_hasher(hash_params params, std::uint32_t max_cost_factor)
    : params_(params),
      max_cost_factor_(max_cost_factor),
      opslimit_(params.iterations),
      memlimit_(static_cast<std::size_t>(params.memory_kib) * 1024U),
      dummy_(std::make_shared<dummy_state>()) {
    ensure_sodium();
    // Compare in 64 bits: memory_kib * 1024 can exceed a 32-bit size_t.
    const std::uint64_t memlimit_bytes = std::uint64_t{params.memory_kib} * 1024U;
    if (memlimit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        memlimit_bytes > crypto_pwhash_argon2id_MEMLIMIT_MAX)
        throw std::invalid_argument("hash memory_kib " + std::to_string(params.memory_kib) +
                                    " is outside libsodium's Argon2id limits");
    if (params.iterations < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        params.iterations > crypto_pwhash_argon2id_OPSLIMIT_MAX)
        throw std::invalid_argument("hash iterations " + std::to_string(params.iterations) +
                                    " is outside libsodium's Argon2id limits");
}

std::string password_hasher::hash(std::string_view password) const {
    const auto normal = nfkc(password);
    const std::string_view hashed = normal ? std::string_view(*normal) : password;
    if (hashed.size() > crypto_pwhash_PASSWD_MAX) throw std::invalid_argument("password too long to hash");
    phc_buffer out{};
    ++computations;
    if (crypto_pwhash_str_alg(out.data(), password_ptr(hashed), hashed.size(), opslimit_, memlimit_,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("password hashing failed: out of memory");
    return std::string(out.data());
}

password_hasher::verdict password_hasher::verify(std::string_view phc, std::string_view password) const {
    // The shape check keeps argon2i, other versions and p != 1 out even though libsodium would
    // verify some of them: we only ever store what hash() writes.
    if (!looks_like_phc(phc) || password.size() > crypto_pwhash_PASSWD_MAX) return verdict::mismatch;
    const auto stored = to_c_string(phc);
    if (!stored) return verdict::mismatch;
    if (const auto cost = cost_of(phc); !within_cost_ceiling(*cost, params_, max_cost_factor_)) {
        log::warn("password.hash_too_costly")
            .add("m", cost->memory_kib)
            .add("t", cost->iterations)
            .add("max_cost_factor", max_cost_factor_);
        verify_dummy(password);
        return verdict::mismatch;
    }
    const bool ours = crypto_pwhash_argon2id_str_needs_rehash(stored->data(), opslimit_, memlimit_) == 0;
    const auto normal = nfkc(password);
    if (argon2id_matches(*stored, normal ? std::string_view(*normal) : password))
        return ours ? verdict::match : verdict::match_needs_rehash;
    // Hashed as typed before passwords were normalised (or imported so): right, but to be
    // stored again in NFKC.
    if (normal && *normal != password && argon2id_matches(*stored, password)) return verdict::match_needs_rehash;
    return verdict::mismatch;
}

void password_hasher::verify_dummy(std::string_view password) const {
    std::call_once(dummy_->once, [this] {
        // The dummy's password is never compared for real; random bytes keep it unguessable.
        std::array<char, 32> secret{};
        randombytes_buf(secret.data(), secret.size());
        dummy_->phc = hash(std::string_view(secret.data(), secret.size()));
    });
    // The verdict is meaningless by design; only the work done matters. The dummy never matches,
    // so this is verify()'s most costly path for this password, as a wrong password's check is.
    static_cast<void>(verify(dummy_->phc, password));
}

bool password_hasher::looks_like_phc(std::string_view phc) {
    const auto cost = parse_phc(phc);
    if (!cost || cost->parallelism != 1) return false;
    const auto stored = to_c_string(phc);
    if (!stored) return false;
    ensure_sodium();
    // needs_rehash fully decodes the string (base64 padding bits, salt and hash lengths, memory
    // bounds) without hashing anything; -1 means libsodium would refuse it.
    return crypto_pwhash_argon2id_str_needs_rehash(stored->data(),
                                                   crypto_pwhash_argon2id_OPSLIMIT_MIN,
                                                   crypto_pwhash_argon2id_MEMLIMIT_MIN) != -1;
}

std::optional<phc_cost> password_hasher::cost_of(std::string_view phc) { return parse_phc(phc); }

std::uint64_t password_hasher::computations_on_this_thread() noexcept { return computations; }

}  // namespace nidan
