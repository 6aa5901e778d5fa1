#pragma once
// The backends' histograms as /metrics takes them (storage::metric_sample): a Prometheus
// histogram (core/base/histogram.hpp) that any storage thread records into on every job, with no
// lock and nothing allocated, read as one series of its family.
#include <array>
#include <chrono>
#include <string>

#include "core/base/histogram.hpp"
#include "storage/backend.hpp"

namespace nidan::storage {

// One series of the family `name`, told apart from its siblings by `labels` (`kind="read"` or
// empty): cumulative buckets, the last one +Inf.
metric_sample sample_of(const histogram& h, std::string name, std::string help, std::string labels = {});

class duration_histogram {
public:
    // Upper bounds in seconds, from a primary-key lookup on a local database to the longest
    // statement timeout worth telling apart; slower jobs land in +Inf.
    static constexpr std::array<double, 15> bounds{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,     0.25,   0.5,   1,      2.5,    5,     10};

    void record(std::chrono::steady_clock::duration d) noexcept { h_.record(d); }

    metric_sample sample(std::string name, std::string help, std::string labels) const {
        return sample_of(h_, std::move(name), std::move(help), std::move(labels));
    }

private:
    histogram h_{bounds, nanoseconds_per_second};
};

}  // namespace nidan::storage
