#pragma once
// How costly a stored or imported Argon2id hash may be compared with the configured parameters.
// A PHC string carries its own m and t, and every check of that account's password pays them: a
// hash imported with m = 4 GiB would take 4 GiB per login attempt on each hash thread (a memory
// DoS), and a costly or a cheap one answers measurably slower or faster than an unknown ID (a
// timing signal); a cheap one is also cheap to crack when the database leaks.
//  - Ceiling, at import and at every check (password_hasher's max_cost_factor): m at most
//    max_factor x hash.memory_kib and t at most max_factor x hash.iterations, so a check costs at
//    most max_factor times our memory and max_factor squared times our time. Lowering
//    hash.memory_kib or hash.iterations below 1/max_factor of what stored hashes use makes those
//    hashes fail until their passwords are set again (the log says password.hash_too_costly).
//  - Floor, at import only: m at least min_memory_kib and t at least min_iterations. A weak stored
//    hash still verifies, and its next successful login re-hashes it with our parameters.
//  - Parallelism must be 1: what libsodium writes and what password_hasher accepts.
#include <cstdint>
#include <string>

#include "core/base/error.hpp"
#include "core/config/config.hpp"
#include "core/security/password_hasher.hpp"

namespace nidan {

struct hash_cost_bounds {
    std::uint32_t max_factor = 0;  // 0: no ceiling
    std::uint32_t min_memory_kib = 0;
    std::uint32_t min_iterations = 0;
};

// hash.max_cost_factor, hash.import_min_memory_kib, hash.import_min_iterations.
hash_cost_bounds cost_bounds_of(const hash_config& c) noexcept;

// True when stored is within the ceiling of ours (always, when max_factor is 0).
bool within_cost_ceiling(const phc_cost& stored, hash_params ours, std::uint32_t max_factor) noexcept;

// For the CSV import: nullopt when stored passes the ceiling, the floor and p = 1; otherwise every
// problem, "; "-separated, each starting with "password: " and naming the config key that sets
// the bound, e.g. "password: argon2id hash with m=4194304 KiB, above hash.max_cost_factor (4) x
// hash.memory_kib (8192) = 32768 KiB".
problem import_cost_problem(const phc_cost& stored, hash_params ours, const hash_cost_bounds& bounds);

}  // namespace nidan
