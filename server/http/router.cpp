#include "server/http/router.hpp"

namespace nidan::server {
namespace {

// The methods unmatched requests are told apart by; any other counts as "other", HEAD as GET.
constexpr std::array<http::verb, 2> unmatched_methods{http::verb::get, http::verb::post};

std::string labels_of(std::string_view route, std::string_view method) {
    return "route=\"" + prometheus_label_value(route) + "\",method=\"" + prometheus_label_value(method) + "\"";
}

}  // namespace

router::router() {
    for (std::size_t i = 0; i <= unmatched_methods.size(); ++i) {
        const auto method = i < unmatched_methods.size() ? std::string(http::to_string(unmatched_methods[i])) : "other";
        unmatched_[i] = &timings_.emplace_back(labels_of("unmatched", method)).timing;
    }
}

histogram& router::unmatched(http::verb method) const {
    if (method == http::verb::head) method = http::verb::get;
    std::size_t i = 0;
    while (i < unmatched_methods.size() && unmatched_methods[i] != method) ++i;
    return *unmatched_[i];
}

router::route router::make_route(const route_row& row, handler h) {
    // The row's path, never the request's: one series per row however many paths a prefix takes.
    histogram* timing = &timings_.emplace_back(labels_of(row.path, std::string(http::to_string(row.method)))).timing;
    return {std::move(h), row.default_language, timing};
}

void router::add(const route_row& row, handler h) {
    route r = make_route(row, std::move(h));
    ++rows_added_;
    if (!row.prefix) {
        exact_[row.path][row.method] = std::move(r);
        return;
    }
    for (auto& [p, m] : prefixes_) {
        if (p == row.path) {
            m[row.method] = std::move(r);
            return;
        }
    }
    prefixes_.emplace_back(row.path, methods{{row.method, std::move(r)}});
}

const router::methods* router::lookup(std::string_view path) const {
    if (auto it = exact_.find(path); it != exact_.end()) return &it->second;
    for (const auto& [prefix, m] : prefixes_) {
        if (path.starts_with(prefix)) return &m;
    }
    return nullptr;
}

router::match router::find(http::verb method, std::string_view path) const {
    const methods* m = lookup(path);
    if (!m) return {nullptr, {}, {}, &unmatched(method)};
    const auto wanted = method == http::verb::head ? http::verb::get : method;
    if (auto it = m->find(wanted); it != m->end()) {
        const route& r = it->second;
        return {&r.target, r.default_language, {}, r.timing};
    }
    std::string allow;
    for (const auto& [verb, r] : *m) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(http::to_string(verb));
        if (verb == http::verb::get) allow += ", HEAD";
    }
    return {nullptr, {}, std::move(allow), &unmatched(method)};
}

}  // namespace nidan::server
