#include "server/http/router.hpp"

namespace nidan::server {

void router::add(const route_row& row, handler h) {
    route r{std::move(h), row.default_language};
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
    if (!m) return {};
    const auto wanted = method == http::verb::head ? http::verb::get : method;
    if (auto it = m->find(wanted); it != m->end()) return {&it->second.target, it->second.default_language, {}};
    std::string allow;
    for (const auto& [verb, r] : *m) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(http::to_string(verb));
        if (verb == http::verb::get) allow += ", HEAD";
    }
    return {nullptr, {}, std::move(allow)};
}

}  // namespace nidan::server
