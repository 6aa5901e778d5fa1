#include "core/password_hasher.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace nidan {
namespace {

// sodium_init() is itself idempotent, but a function-local static also gives every caller a
// happens-before edge with the one successful initialisation.
void ensure_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

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
bool consume_u32(std::string_view& text) {
    std::size_t n = 0;
    std::uint64_t value = 0;
    while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
        value = value * 10 + static_cast<std::uint64_t>(text[n] - '0');
        if (value > std::numeric_limits<std::uint32_t>::max()) return false;
        ++n;
    }
    if (n == 0 || (n > 1 && text[0] == '0')) return false;
    text.remove_prefix(n);
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

bool has_phc_shape(std::string_view text) {
    return consume(text, "$argon2id$v=19$m=") && consume_u32(text) && consume(text, ",t=") &&
           consume_u32(text) && consume(text, ",p=1$") && consume_b64(text) && consume(text, "$") &&
           consume_b64(text) && text.empty();
}

}  // namespace

struct password_hasher::dummy_state {
    std::once_flag once;
    std::string phc;
};

password_hasher::password_hasher(hash_params params)
    : params_(params),
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
    if (password.size() > crypto_pwhash_PASSWD_MAX)
        throw std::invalid_argument("password too long to hash");
    phc_buffer out{};
    if (crypto_pwhash_str_alg(out.data(), password_ptr(password), password.size(), opslimit_,
                              memlimit_, crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("password hashing failed: out of memory");
    return std::string(out.data());
}

password_hasher::verdict password_hasher::verify(std::string_view phc,
                                                 std::string_view password) const {
    // The shape check keeps argon2i, other versions and p != 1 out even though libsodium would
    // verify some of them: we only ever store what hash() writes.
    if (!looks_like_phc(phc) || password.size() > crypto_pwhash_PASSWD_MAX)
        return verdict::mismatch;
    const auto stored = to_c_string(phc);
    if (!stored) return verdict::mismatch;
    // The argon2id-specific members of the crypto_pwhash_str family: the generic ones would also
    // accept argon2i strings. A failure here is a wrong password or unaffordable stored
    // parameters (ENOMEM); both must read as a mismatch.
    if (crypto_pwhash_argon2id_str_verify(stored->data(), password_ptr(password),
                                          password.size()) != 0)
        return verdict::mismatch;
    return crypto_pwhash_argon2id_str_needs_rehash(stored->data(), opslimit_, memlimit_) == 0
               ? verdict::match
               : verdict::match_needs_rehash;
}

void password_hasher::verify_dummy(std::string_view password) const {
    std::call_once(dummy_->once, [this] {
        // The dummy's password is never compared for real; random bytes keep it unguessable.
        std::array<char, 32> secret{};
        randombytes_buf(secret.data(), secret.size());
        dummy_->phc = hash(std::string_view(secret.data(), secret.size()));
    });
    // The verdict is meaningless by design; only the work done matters.
    static_cast<void>(verify(dummy_->phc, password));
}

bool password_hasher::looks_like_phc(std::string_view phc) {
    if (!has_phc_shape(phc)) return false;
    const auto stored = to_c_string(phc);
    if (!stored) return false;
    ensure_sodium();
    // needs_rehash fully decodes the string (base64 padding bits, salt and hash lengths, memory
    // bounds) without hashing anything; -1 means libsodium would refuse it.
    return crypto_pwhash_argon2id_str_needs_rehash(stored->data(),
                                                   crypto_pwhash_argon2id_OPSLIMIT_MIN,
                                                   crypto_pwhash_argon2id_MEMLIMIT_MIN) != -1;
}

}  // namespace nidan
