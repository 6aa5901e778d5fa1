#pragma once
// What every connection shares for the life of the server. Built by server/app/server_app.cpp.
#include <atomic>

#include "core/config/config.hpp"
#include "server/http/client_address.hpp"
#include "server/http/connection_tracker.hpp"
#include "server/http/error_pages.hpp"
#include "server/http/request_language.hpp"
#include "server/http/router.hpp"

namespace nidan::server {

struct app_state {
    const config& cfg;
    // Every route (server/http/route_table.hpp); `routes` is filled from it.
    const std::vector<route_row> route_rows;
    router routes;
    const error_pages& errors;
    connection_tracker connections;
    std::atomic<bool> stopping{false};
    const std::vector<net::ip::address> trusted_proxies;
    // The templates' languages, the default first: what a request's language is chosen from.
    const std::vector<std::string> languages;

    app_state(const config& c, const error_pages& e, const std::vector<std::string>& template_languages)
        : cfg(c), route_rows(route_table(c, template_languages)), errors(e), connections(c.server.max_connections, c.server.max_connections_per_client), trusted_proxies(parse_proxies(c.server.trusted_proxies)), languages(template_languages) {}

    // The request's language; `fallback` (a route's default; operator.language for answers of
    // no route) when neither its cookie nor Accept-Language decides.
    std::string language_of(const request& req, std::string_view fallback) const {
        return request_language(req, languages, fallback, cfg.tls.enabled || cfg.server.behind_tls);
    }
};

}  // namespace nidan::server
