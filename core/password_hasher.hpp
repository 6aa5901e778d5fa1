#pragma once
// Argon2id password hashing through libsodium, stored as PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"), so the parameters travel with each hash and
// can be raised later without invalidating existing accounts.
//
// Thread safety: a password_hasher is immutable after construction except for the lazily computed
// dummy hash, which is guarded; every member may be called from many threads at once. Copies
// share that dummy hash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nidan {

// Defaults live in hash_config (core/config.hpp), not here, so there is one source of truth.
struct hash_params {
    std::uint32_t memory_kib;  // Argon2 m, in KiB
    std::uint32_t iterations;  // Argon2 t
};

class password_hasher {
public:
    // Initialises libsodium once per process. Throws std::invalid_argument when the parameters are
    // outside libsodium's Argon2id limits, std::runtime_error when libsodium cannot initialise.
    explicit password_hasher(hash_params params);

    // A fresh random salt each call, so hashing the same password twice gives different strings.
    // The password is taken by length: any bytes, including NUL, are hashed and none are dropped.
    // Throws std::runtime_error when the memory for the parameters cannot be allocated.
    std::string hash(std::string_view password) const;

    enum class verdict {
        mismatch,  // wrong password, or the stored string is not a usable Argon2id hash
        match,
        match_needs_rehash  // right password, but stored with parameters other than ours
    };

    // Constant-time comparison inside libsodium. Only Argon2id strings are accepted; anything else
    // (malformed, argon2i, scrypt, too long, embedded NUL) is a mismatch, never an exception,
    // because stored data must not be able to crash a login.
    verdict verify(std::string_view phc, std::string_view password) const;

    // Costs what verify() costs with our parameters, for the unknown-ID path, so response times do
    // not reveal which IDs exist. The dummy hash is computed on first use (shared by copies), so
    // the first call may throw what hash() throws.
    void verify_dummy(std::string_view password) const;

    // Shape check for ready-made hashes given to the CSV import:
    // "$argon2id$v=19$m=<KiB>,t=<iterations>,p=1$<base64 salt>$<base64 hash>", with values that
    // libsodium accepts. It does not judge whether the parameters are strong or affordable.
    static bool looks_like_phc(std::string_view phc);

    hash_params params() const noexcept { return params_; }

private:
    struct dummy_state;

    hash_params params_;
    unsigned long long opslimit_;
    std::size_t memlimit_;
    std::shared_ptr<dummy_state> dummy_;
};

}  // namespace nidan
