#include "server/http/router.hpp"

namespace nidan::server {

void router::add(const route_row& row, handler h) {
    if (row.prefix)
        add_prefix(row.method, row.path, std::move(h));
    else
        add(row.method, row.path, std::move(h));
    ++rows_added_;
}

void router::add(http::verb method, std::string path, handler h) {
    exact_[std::move(path)][method] = std::move(h);
}

void router::add_prefix(http::verb method, std::string prefix, handler h) {
    for (auto& [p, m] : prefixes_) {
        if (p == prefix) {
            m[method] = std::move(h);
            return;
        }
    }
    prefixes_.emplace_back(std::move(prefix), methods{{method, std::move(h)}});
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
    if (auto it = m->find(wanted); it != m->end()) return {&it->second, {}};
    std::string allow;
    for (const auto& [verb, h] : *m) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(http::to_string(verb));
        if (verb == http::verb::get) allow += ", HEAD";
    }
    return {nullptr, std::move(allow)};
}

}  // namespace nidan::server
