#include "server/http/route_table.hpp"

#include <algorithm>

namespace nidan::server {
namespace {

constexpr auto get = http::verb::get;
constexpr auto post = http::verb::post;

// The portal's language, operator.language when it has none or for the rows of no portal.
std::string default_language_of(const config& cfg, std::string_view portal) {
    const auto it = std::find_if(cfg.portals.begin(), cfg.portals.end(), [portal](const auto& p) { return p.id == portal; });
    return it == cfg.portals.end() || it->language.empty() ? cfg.operator_info.language : it->language;
}

}  // namespace

std::vector<route_row> route_table(const config& cfg, const std::vector<std::string>& languages) {
    std::vector<route_row> rows;
    const auto add = [&rows, &cfg](http::verb method, std::string path, route_kind kind, std::string portal,
                                   std::string description) {
        auto language = default_language_of(cfg, portal);
        rows.push_back({method, std::move(path), false, kind, std::move(portal), {}, std::move(description), std::move(language)});
    };
    // Rows whose answers hold no customer text: no language is worked out for them.
    const auto add_plain = [&rows](http::verb method, std::string path, route_kind kind, std::string portal,
                                   std::string description) {
        rows.push_back({method, std::move(path), false, kind, std::move(portal), {}, std::move(description), {}});
    };
    for (const auto& p : cfg.portals) {
        const auto base = "/portal/" + p.id;
        const auto& id = p.id;
        add(get, p.login_path, route_kind::login_page, id, "the login page (step 1)");
        add(post, p.login_path, route_kind::login_submit, id, "self-care ID and password");
        add(get, base + "/code", route_kind::code_page, id, "the code page (step 2)");
        add(post, base + "/code", route_kind::code_submit, id, "the code from the mail");
        add(get, base + "/address", route_kind::address_page, id, "the address form (no mail address, or none arriving)");
        add(post, base + "/address", route_kind::address_submit, id, "a new address and the contact phone number");
        add(get, base + "/home", route_kind::home_page, id, p.home == "menu" ? "after login: the menu" : "after login: the account page");
        if (p.home == "account") {
            add(post, base + "/email", route_kind::change_email, id, "the account page's address change");
            add(post, base + "/password", route_kind::change_password, id, "the account page's password change");
        }
        add(post, base + "/logout", route_kind::logout, id, "logout");
        add(get, base + "/address/cancel", route_kind::cancel_page, id, "the notice's cancel link: what it will do");
        add(post, base + "/address/cancel", route_kind::cancel_submit, id, "the notice's cancel link: do it");
        const auto api = "/api/v1/" + p.id;
        add(post, api + "/login", route_kind::api_login, id, "API step 1: {selfcare_id, password}");
        add(post, api + "/code", route_kind::api_code, id, "API step 2: {code}");
        add(post, api + "/address", route_kind::api_address, id, "API address form: {email, phone}");
        add(get, api + "/session", route_kind::api_session, id, "API: the bearer token's session");
        add(post, api + "/logout", route_kind::api_logout, id, "API logout");
        add_plain(get, "/auth/verify/" + p.id, route_kind::verify_portal, id, "reverse proxies: 200 for a session of this portal, else 401");
    }
    if (cfg.auth.verify_any_portal)
        add_plain(get, "/auth/verify", route_kind::verify_any, {}, "reverse proxies: 200 for a session of any portal, else 401");
    for (const auto& language : languages)
        rows.push_back({get, "/lang/" + language, false, route_kind::language_switch, {}, language,
                        "the language switch: to " + language + ", back to ?next=", {}});
    rows.push_back({get, "/static/", true, route_kind::static_files, {}, {}, "stylesheet and images (server.static_dir)", {}});
    add_plain(get, "/healthz", route_kind::healthz, {}, "the process answers");
    add_plain(get, "/readyz", route_kind::readyz, {}, "storage takes writes: send traffic");
    add_plain(get, "/metrics", route_kind::metrics, {}, "Prometheus text format");
    return rows;
}

std::string describe(const std::vector<route_row>& rows) {
    std::size_t width = 0;
    for (const auto& r : rows) width = std::max(width, r.path.size() + (r.prefix ? 1 : 0));
    std::string out;
    for (const auto& r : rows) {
        std::string method(http::to_string(r.method));
        method.resize(std::max<std::size_t>(method.size(), 5), ' ');
        auto path = r.prefix ? r.path + "*" : r.path;
        path.resize(width, ' ');
        out += method + " " + path + "  " + (r.portal.empty() ? "" : r.portal + ": ") + r.description + "\n";
    }
    return out;
}

}  // namespace nidan::server
