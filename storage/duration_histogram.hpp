#pragma once
// A Prometheus histogram of durations that any storage thread records into on every job: one
// relaxed atomic add to its bucket and one to the sum, no lock, nothing allocated. A reader
// (/metrics) sees each figure exact, though the figures of one reading may be an observation or
// two apart; the count it reports is the sum of the buckets, so +Inf always equals _count.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "storage/backend.hpp"

namespace nidan::storage {

class duration_histogram {
public:
    // Upper bounds in seconds, from a primary-key lookup on a local database to the longest
    // statement timeout worth telling apart; slower jobs land in +Inf.
    static constexpr std::array<double, 15> bounds{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,     0.25,   0.5,   1,      2.5,    5,     10};

    void record(std::chrono::steady_clock::duration d) noexcept;

    // One series of the family `name`, told apart from its siblings by `labels` (`kind="read"`
    // or empty): cumulative buckets, the last one +Inf.
    metric_sample sample(std::string name, std::string help, std::string labels) const;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};  // per bucket, not cumulative
    std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace nidan::storage
