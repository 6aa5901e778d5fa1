#include "core/security/hash_cost.hpp"

namespace nidan {
namespace {

// 64 bits: a factor up to 64 times a memory_kib up to 4194304 does not fit in 32.
std::uint64_t ceiling(std::uint32_t ours, std::uint32_t factor) noexcept {
    return std::uint64_t{ours} * factor;
}

void append(std::string& reasons, const std::string& reason) {
    if (!reasons.empty()) reasons += "; ";
    reasons += reason;
}

}  // namespace

hash_cost_bounds cost_bounds_of(const hash_config& c) noexcept {
    return {c.max_cost_factor, c.import_min_memory_kib, c.import_min_iterations};
}

bool within_cost_ceiling(const phc_cost& stored, hash_params ours, std::uint32_t max_factor) noexcept {
    if (max_factor == 0) return true;
    return stored.memory_kib <= ceiling(ours.memory_kib, max_factor) &&
           stored.iterations <= ceiling(ours.iterations, max_factor);
}

problem import_cost_problem(const phc_cost& stored, hash_params ours, const hash_cost_bounds& bounds) {
    std::string reasons;
    const std::string m = "password: argon2id hash with m=" + std::to_string(stored.memory_kib) + " KiB, ";
    const std::string t = "password: argon2id hash with t=" + std::to_string(stored.iterations) + ", ";
    const std::string factor = "hash.max_cost_factor (" + std::to_string(bounds.max_factor) + ")";
    if (stored.parallelism != 1)
        append(reasons, "password: argon2id hash with p=" + std::to_string(stored.parallelism) +
                            ", only p=1 is supported");
    if (bounds.max_factor != 0 && stored.memory_kib > ceiling(ours.memory_kib, bounds.max_factor))
        append(reasons, m + "above " + factor + " x hash.memory_kib (" + std::to_string(ours.memory_kib) +
                            ") = " + std::to_string(ceiling(ours.memory_kib, bounds.max_factor)) + " KiB");
    if (stored.memory_kib < bounds.min_memory_kib)
        append(reasons, m + "below hash.import_min_memory_kib (" + std::to_string(bounds.min_memory_kib) + ")");
    if (bounds.max_factor != 0 && stored.iterations > ceiling(ours.iterations, bounds.max_factor))
        append(reasons, t + "above " + factor + " x hash.iterations (" + std::to_string(ours.iterations) +
                            ") = " + std::to_string(ceiling(ours.iterations, bounds.max_factor)));
    if (stored.iterations < bounds.min_iterations)
        append(reasons, t + "below hash.import_min_iterations (" + std::to_string(bounds.min_iterations) + ")");
    if (reasons.empty()) return std::nullopt;
    return reasons;
}

}  // namespace nidan
