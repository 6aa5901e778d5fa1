#pragma once
// Every route nidan serves, in one list built from the config: the portals' pages, the JSON API,
// /auth/verify, the language switch, static files, health and metrics. The router is filled from
// it (each part binds the rows of its kinds, and the app refuses to start when a row is left
// without a handler), its 404/405 answers follow from it, and `nidan routes` prints it for
// operators and tests. A path is spelled here and nowhere else.
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

enum class route_kind {
    // A portal's pages (portal = its id).
    login_page, login_submit, code_page, code_submit, address_page, address_submit, home_page, change_email,
    change_password, logout, cancel_page, cancel_submit,
    // A portal's JSON API.
    api_login, api_code, api_address, api_session, api_logout,
    // For reverse proxies: one portal's sessions, or any portal's (auth.verify_any_portal).
    verify_portal, verify_any,
    // The language switch (language = its tag).
    language_switch,
    static_files, healthz, readyz, metrics,
};

struct route_row {
    http::verb method;
    std::string path;
    bool prefix = false;    // every path under `path` (which ends in '/')
    route_kind kind;
    std::string portal;     // the portal's id, for the portal kinds
    std::string language;   // the tag, for language_switch
    std::string description;
    // The request's language when neither its cookie nor Accept-Language decides
    // (server/http/request_language.hpp): a portal's rows have the portal's, the other rows with
    // text operator.language. Empty for the rows whose answers hold no customer text (health,
    // metrics, static files, /auth/verify, the language switch): dispatch then skips the work.
    std::string default_language;
};

// `languages`: the templates' catalogs, the default first.
std::vector<route_row> route_table(const config& cfg, const std::vector<std::string>& languages);

// "GET     /selfcare/SelfcareLogin.in    ip-phone: the login page": one line per row.
std::string describe(const std::vector<route_row>& rows);

}  // namespace nidan::server
