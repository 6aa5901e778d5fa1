#include "storage/duration_histogram.hpp"

#include <algorithm>
#include <limits>

namespace nidan::storage {

void duration_histogram::record(std::chrono::steady_clock::duration d) noexcept {
    const auto ns = std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(), 0);
    const double seconds = static_cast<double>(ns) / 1e9;
    // Prometheus buckets are "less than or equal": the first bound not below the value.
    const auto at = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
    counts_[at].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

metric_sample duration_histogram::sample(std::string name, std::string help, std::string labels) const {
    metric_sample s{std::move(name), "histogram", std::move(help),
                    static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9, std::move(labels), {}};
    s.buckets.reserve(counts_.size());
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        cumulative += counts_[i].load(std::memory_order_relaxed);
        s.buckets.emplace_back(i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity(), cumulative);
    }
    return s;
}

}  // namespace nidan::storage
