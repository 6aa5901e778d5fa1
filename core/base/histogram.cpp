#include "core/base/histogram.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace nidan {

histogram::histogram(std::span<const double> bounds, double unit) : bound_count_(bounds.size()), bounds_(bounds), unit_(unit) {
    if (bounds.size() > max_bounds || !(unit > 0)) throw std::invalid_argument("histogram: too many bounds or no unit");
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        const double units = bounds[i] / unit;
        const double whole = std::round(units);
        // A bound between two units could not be compared exactly as an integer.
        if (!std::isfinite(units) || whole < 0 || std::abs(units - whole) > 1e-6 * std::max(whole, 1.0) ||
            (i > 0 && !(bounds[i] > bounds[i - 1])))
            throw std::invalid_argument("histogram: bounds must ascend, each a whole number of units");
        limits_[i] = static_cast<std::uint64_t>(whole);
    }
}

histogram_buckets histogram::buckets() const {
    histogram_buckets out;
    out.reserve(bound_count_ + 1);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bound_count_; ++i) {
        cumulative += counts_[i].load(std::memory_order_relaxed);
        out.emplace_back(i < bound_count_ ? bounds_[i] : std::numeric_limits<double>::infinity(), cumulative);
    }
    return out;
}

double histogram::sum() const noexcept {
    const auto units = static_cast<double>(sum_.load(std::memory_order_relaxed));
    // Divided by the units per bound-unit when there are several (1e9 ns a second): the quotient
    // is the double nearest the exact sum, so 123000 ns reads "0.000123".
    return unit_ < 1 ? units / std::round(1 / unit_) : units * unit_;
}

std::uint64_t histogram::count() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i <= bound_count_; ++i) n += counts_[i].load(std::memory_order_relaxed);
    return n;
}

void histogram::append_series(std::string& out, std::string_view name, std::string_view labels) const {
    append_histogram_series(out, name, labels, buckets(), sum());
}

std::string prometheus_number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    char buf[400];  // the longest fixed form of a double
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

std::string prometheus_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void append_histogram_series(std::string& out, std::string_view name, std::string_view labels,
                             const histogram_buckets& buckets, double sum) {
    const auto line = [&](std::string_view suffix, std::string_view le, const std::string& value) {
        out += name;
        out += suffix;
        if (!labels.empty() || !le.empty()) {
            out += '{';
            out += labels;
            if (!le.empty()) {
                if (!labels.empty()) out += ',';
                out += "le=\"";
                out += le;
                out += '"';
            }
            out += '}';
        }
        out += ' ';
        out += value;
        out += '\n';
    };
    for (const auto& [bound, count] : buckets) line("_bucket", prometheus_number(bound), std::to_string(count));
    line("_sum", {}, prometheus_number(sum));
    line("_count", {}, std::to_string(buckets.empty() ? 0 : buckets.back().second));
}

}  // namespace nidan
