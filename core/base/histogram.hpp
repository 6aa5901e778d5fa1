#pragma once
// A Prometheus histogram with fixed buckets, for figures recorded on hot paths by any thread:
// recording is a short scan of the bounds and two relaxed atomic adds (its bucket, the sum), no
// lock, nothing allocated. A reader (/metrics) sees each figure exact, though the figures of one
// reading may be an observation or two apart; the count it reports is the sum of the buckets, so
// le="+Inf" always equals _count.
//
// Values are recorded as whole units (nanoseconds for durations, items for sizes) and shown in
// the bounds' unit (seconds, items): the sum stays an integer counter, and a bound compares as
// an integer.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nidan {

// Durations in seconds, from a static file's answer to the longest step worth telling apart.
inline constexpr std::array<double, 16> duration_bounds_s{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,   0.1,     0.25,   0.5,   1,      2.5,    5,     10};
// Counts of items (a group commit's closures...), by powers of two.
inline constexpr std::array<double, 11> size_bounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
// What one recorded unit is in the bounds' unit.
inline constexpr double nanoseconds_per_second = 1e-9;
inline constexpr double one_item = 1;

// One reading: (upper bound, observations <= bound), ascending and cumulative, the last bound
// +Inf; and the sum of the observations in the bounds' unit.
using histogram_buckets = std::vector<std::pair<double, std::uint64_t>>;

// alignas: the counters of two histograms never share a cache line, so two busy routes or steps
// recorded from two threads do not slow each other down.
class alignas(64) histogram {
public:
    static constexpr std::size_t max_bounds = 24;

    // Durations: duration_bounds_s, recorded in nanoseconds.
    histogram() : histogram(duration_bounds_s, nanoseconds_per_second) {}
    // bounds: ascending and finite, at most max_bounds, each a whole number of `unit`s; the
    // storage they point to must outlive the histogram (the constants above do). Throws
    // std::invalid_argument otherwise.
    histogram(std::span<const double> bounds, double unit);

    histogram(const histogram&) = delete;
    histogram& operator=(const histogram&) = delete;

    void record(std::uint64_t units) noexcept {
        std::size_t at = 0;
        // Prometheus buckets are "less than or equal": the first bound not below the value. A
        // scan from the smallest: most observations land in the first few buckets.
        while (at < bound_count_ && units > limits_[at]) ++at;
        counts_[at].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(units, std::memory_order_relaxed);
    }
    // For a histogram in nanoseconds; a negative duration counts as 0.
    void record(std::chrono::steady_clock::duration d) noexcept {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
        record(static_cast<std::uint64_t>(ns > 0 ? ns : 0));
    }

    histogram_buckets buckets() const;
    double sum() const noexcept;
    std::uint64_t count() const noexcept;

    // This histogram's series as append_histogram_series writes it.
    void append_series(std::string& out, std::string_view name, std::string_view labels = {}) const;

private:
    std::array<std::atomic<std::uint64_t>, max_bounds + 1> counts_{};  // per bucket, not cumulative
    std::atomic<std::uint64_t> sum_{0};
    std::array<std::uint64_t, max_bounds> limits_{};  // the bounds in units
    std::size_t bound_count_ = 0;
    std::span<const double> bounds_;
    double unit_;
};

// Records the time from its construction to its end into its histogram, once it has one (a
// request's is known only once it is routed). A coroutine that holds one for its whole body has
// every co_return timed (its locals end right after the value is handed over) and an escaping
// exception too.
class scoped_timer {
public:
    explicit scoped_timer(histogram* into = nullptr) noexcept : into_(into), started_(std::chrono::steady_clock::now()) {}
    explicit scoped_timer(histogram& into) noexcept : scoped_timer(&into) {}
    ~scoped_timer() {
        if (into_) into_->record(std::chrono::steady_clock::now() - started_);
    }
    scoped_timer(const scoped_timer&) = delete;
    scoped_timer& operator=(const scoped_timer&) = delete;

    void into(histogram& h) noexcept { into_ = &h; }

private:
    histogram* into_;
    std::chrono::steady_clock::time_point started_;
};

// Prometheus' text form of a number: the shortest decimal that reads back the same, without an
// exponent (bounds read "0.0005"); "+Inf" for infinity.
std::string prometheus_number(double v);

// The text of a label value: backslash, double quote and newline escaped.
std::string prometheus_label_value(std::string_view v);

// One series of a histogram family: its _bucket lines (cumulative, le="+Inf" last), _sum and
// _count, each with `labels` (`kind="read"`, or empty) before le. The family's HELP and TYPE
// lines are the caller's, once per family.
void append_histogram_series(std::string& out, std::string_view name, std::string_view labels,
                             const histogram_buckets& buckets, double sum);

}  // namespace nidan
