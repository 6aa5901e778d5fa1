#include "core/render/language_choice.hpp"

#include "core/base/text.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>

namespace nidan::render {
namespace {

// Past these a header is cut: no browser sends more than a handful of ranges, and a cap keeps
// a hostile header's cost fixed.
constexpr std::size_t max_header_bytes = 4096;
constexpr std::size_t max_ranges = 32;
constexpr std::size_t max_tag_length = max_language_tag_length;
constexpr int max_weight = 1000;  // q=1, in thousandths

constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_lower_alpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_alpha(char c) noexcept { return is_lower_alpha(lower(c)); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lower(x) == lower(y);
           });
}

// Whether `longer` is `prefix` followed by a subtag: "en-gb" extends "en", "eng" does not.
bool extends(std::string_view longer, std::string_view prefix) noexcept {
    return longer.size() > prefix.size() && longer[prefix.size()] == '-' &&
           equal_ignoring_case(longer.substr(0, prefix.size()), prefix);
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// RFC 4647 section 2.1: language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*", any case.
bool is_language_range(std::string_view range) noexcept {
    if (range == "*") return true;
    if (range.empty() || range.size() > max_tag_length) return false;
    std::size_t subtag = 0;  // length of the current subtag
    bool first = true;
    for (const char c : range) {
        if (c == '-') {
            if (subtag == 0) return false;
            first = false;
            subtag = 0;
            continue;
        }
        if (!(is_alpha(c) || (!first && is_digit(c))) || ++subtag > 8) return false;
    }
    return subtag > 0;
}

// RFC 9110 section 12.4.2: qvalue = ("0" ["." 0*3DIGIT]) / ("1" ["." 0*3("0")]), in thousandths.
std::optional<int> parse_qvalue(std::string_view text) noexcept {
    if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
    const int units = text[0] - '0';
    if (text.size() == 1) return units * max_weight;
    if (text[1] != '.' || text.size() > 5) return std::nullopt;
    int thousandths = 0;
    int scale = 100;
    for (const char c : text.substr(2)) {
        if (!is_digit(c)) return std::nullopt;
        thousandths += (c - '0') * scale;
        scale /= 10;
    }
    if (units == 1 && thousandths != 0) return std::nullopt;
    return units * max_weight + thousandths;
}

struct weighted_range {
    std::string_view range;
    int weight = max_weight;
};

// One element of the header: a range, then optional parameters of which only q exists for
// Accept-Language. Anything else makes the element unusable, not the header.
std::optional<weighted_range> parse_element(std::string_view element) noexcept {
    const auto semicolon = element.find(';');
    weighted_range out{trim_ows(element.substr(0, semicolon)), max_weight};
    if (!is_language_range(out.range)) return std::nullopt;
    if (semicolon == std::string_view::npos) return out;
    const auto parameter = trim_ows(element.substr(semicolon + 1));
    if (parameter.size() < 2 || lower(parameter[0]) != 'q' || parameter[1] != '=') return std::nullopt;
    const auto weight = parse_qvalue(parameter.substr(2));
    if (!weight) return std::nullopt;
    out.weight = *weight;
    return out;
}

// The header's usable ranges in header order, within the caps.
std::vector<weighted_range> parse_accept_language(std::string_view header) {
    if (header.size() > max_header_bytes) {
        // The element cut by the limit is incomplete ("en-u" of "en-us"): drop it.
        header = header.substr(0, max_header_bytes);
        const auto comma = header.rfind(',');
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(0, comma);
    }
    std::vector<weighted_range> ranges;
    std::size_t elements = 0;
    while (!header.empty() && elements < max_ranges) {
        const auto comma = header.find(',');
        const auto element = trim_ows(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        if (element.empty()) continue;  // "a,,b": empty list elements are allowed and ignored
        ++elements;
        if (const auto range = parse_element(element)) ranges.push_back(*range);
    }
    return ranges;
}

class matcher {
public:
    matcher(const std::vector<std::string>& available, std::string_view default_tag)
        : available_(available), refused_(available.size(), false), default_tag_(default_tag) {}

    void refuse(std::string_view range) {
        if (range == "*") return;  // "nothing else": the default is still served
        for (std::size_t i = 0; i < available_.size(); ++i)
            if (equal_ignoring_case(available_[i], range) || extends(available_[i], range)) refused_[i] = true;
    }

    // The index of the available tag `range` gives, if any.
    std::optional<std::size_t> match(std::string_view range) const {
        if (range == "*") return any();
        std::optional<std::size_t> shorter;  // the longest available tag the range extends
        std::optional<std::size_t> longer;   // the first available tag extending the range
        for (std::size_t i = 0; i < available_.size(); ++i) {
            if (refused_[i]) continue;
            const std::string_view tag = available_[i];
            if (equal_ignoring_case(tag, range)) return i;
            if (extends(range, tag) && (!shorter || available_[*shorter].size() < tag.size())) shorter = i;
            if (!longer && extends(tag, range)) longer = i;
        }
        return shorter ? shorter : longer;
    }

private:
    std::optional<std::size_t> any() const {
        std::optional<std::size_t> first_allowed;
        for (std::size_t i = 0; i < available_.size(); ++i) {
            if (refused_[i]) continue;
            if (available_[i] == default_tag_) return i;
            if (!first_allowed) first_allowed = i;
        }
        return first_allowed;
    }

    const std::vector<std::string>& available_;
    std::vector<bool> refused_;  // by index into available_
    std::string_view default_tag_;
};

}  // namespace

std::string choose_language(std::string_view cookie_value, std::string_view accept_language,
                            const std::vector<std::string>& available, std::string_view default_tag) {
    if (!cookie_value.empty() && cookie_value.size() <= max_tag_length)
        for (const auto& tag : available)
            if (equal_ignoring_case(tag, cookie_value)) return tag;

    auto ranges = parse_accept_language(accept_language);
    matcher tags(available, default_tag);
    for (const auto& r : ranges)
        if (r.weight == 0) tags.refuse(r.range);
    std::ranges::stable_sort(ranges, std::ranges::greater{}, &weighted_range::weight);
    for (const auto& r : ranges) {
        if (r.weight == 0) break;
        if (const auto i = tags.match(r.range)) return available[*i];
    }
    return std::string(default_tag);
}

}  // namespace nidan::render
