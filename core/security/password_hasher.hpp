#pragma once
// Argon2id password hashing through libsodium, stored as PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"), so the parameters travel with each hash and
// can be raised later without invalidating existing accounts.
//
// Passwords are hashed in Unicode NFKC (core/base/nfkc.hpp, NIST SP 800-63B 5.1.1.2), so every entry
// point (login, the account page, `nidan user add/passwd/import`) gets the same rule. Hashes made
// before that rule, or imported from elsewhere, may hold a password as typed: verify() accepts
// those too and asks for a re-hash, which then stores the NFKC form. Text that is not valid UTF-8
// has no NFKC form and is hashed and checked as typed; the account rules refuse it as a new
// password (core/account/account_rules.hpp), so it only reaches the hasher as a login attempt or as the
// unknown password behind an imported hash. Byte limits apply to the text as typed: NFKC at most
// multiplies it by 18 code points, which Argon2id's cost does not notice.
//
// Thread safety: a password_hasher is immutable after construction except for the lazily computed
// dummy hash, which is guarded; every member may be called from many threads at once. Copies
// share that dummy hash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nidan {

// Defaults live in hash_config (core/config/config.hpp), not here, so there is one source of truth.
struct hash_params {
    std::uint32_t memory_kib;  // Argon2 m, in KiB
    std::uint32_t iterations;  // Argon2 t
};

// The cost a PHC string names. Parallelism is kept so that a caller can say why a string with
// p != 1 is refused; libsodium only ever writes p = 1.
struct phc_cost {
    std::uint32_t memory_kib = 0;
    std::uint32_t iterations = 0;
    std::uint32_t parallelism = 0;
};

class password_hasher {
public:
    // Initialises libsodium once per process. Throws std::invalid_argument when the parameters are
    // outside libsodium's Argon2id limits, std::runtime_error when libsodium cannot initialise.
    // max_cost_factor (hash.max_cost_factor) > 0: verify() refuses, without computing it, a stored
    // hash whose memory or iterations exceed that many times ours (core/security/hash_cost.hpp); 0 checks
    // every affordable hash.
    explicit password_hasher(hash_params params, std::uint32_t max_cost_factor = 0);

    // A fresh random salt each call, so hashing the same password twice gives different strings.
    // Hashes the NFKC form (the text as typed when it is not valid UTF-8). Taken by length: any
    // bytes, including NUL, are hashed and none are dropped.
    // Throws std::runtime_error when the memory for the parameters cannot be allocated.
    std::string hash(std::string_view password) const;

    enum class verdict {
        mismatch,  // wrong password, or the stored string is not a usable Argon2id hash
        match,
        match_needs_rehash  // right password, but stored with parameters other than ours, or
                            // stored as typed where the NFKC form differs
    };

    // Checks the NFKC form of the password; when that does not match and the text as typed
    // differs from it, checks the text as typed too (a hash made before normalisation), which
    // answers match_needs_rehash. So a check costs one Argon2id computation, or two for a wrong
    // password that NFKC changes. Constant-time comparison inside libsodium. Only Argon2id strings
    // are accepted; anything else (malformed, argon2i, scrypt, too long, embedded NUL, beyond
    // max_cost_factor) is a mismatch, never an exception, because stored data must not be able to
    // crash a login. A hash beyond max_cost_factor costs verify_dummy() instead and logs a warning
    // (password.hash_too_costly, with its parameters, never the password).
    verdict verify(std::string_view phc, std::string_view password) const;

    // Costs what verify() costs for the same password against a wrong hash with our parameters
    // (one computation, two when NFKC changes the password), for the unknown-ID path, so response
    // times do not reveal which IDs exist. The dummy hash is computed on first use (shared by
    // copies), so the first call may throw what hash() throws.
    void verify_dummy(std::string_view password) const;

    // Shape check for ready-made hashes given to the CSV import:
    // "$argon2id$v=19$m=<KiB>,t=<iterations>,p=1$<base64 salt>$<base64 hash>", with values that
    // libsodium accepts. It does not judge whether the parameters are strong or affordable
    // (core/security/hash_cost.hpp does).
    static bool looks_like_phc(std::string_view phc);

    // The m, t and p of a string of that shape with any p; nullopt for any other string.
    static std::optional<phc_cost> cost_of(std::string_view phc);

    // Argon2id computations (hash or verify) made by password_hasher on the calling thread since
    // it started: lets tests count the work of a check without timing it.
    static std::uint64_t computations_on_this_thread() noexcept;

    hash_params params() const noexcept { return params_; }

private:
    struct dummy_state;

    hash_params params_;
    std::uint32_t max_cost_factor_;
    unsigned long long opslimit_;
    std::size_t memlimit_;
    std::shared_ptr<dummy_state> dummy_;
};

}  // namespace nidan
