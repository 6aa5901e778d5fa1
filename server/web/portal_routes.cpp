#include "server/web/portal_routes.hpp"

#include "core/base/clock.hpp"
#include "core/web/cookies.hpp"
#include "server/web/language_switch.hpp"
#include "server/web/page_response.hpp"
#include "server/web/portal_flow.hpp"
#include "server/base/storage_bridge.hpp"
#include "core/web/cookie_names.hpp"

namespace nidan::server {

struct portal_site::flows {
    std::vector<std::unique_ptr<portal_flow>> all;
};

portal_site::portal_site(app_state& app, portal_services services) : flows_(std::make_unique<flows>()) {
    for (const auto& portal : services.cfg.portals) {
        flows_->all.push_back(std::make_unique<portal_flow>(services, portal, app.errors));
        flows_->all.back()->add_routes(app.routes, app.route_rows);
    }

    // GET /auth/verify/<portal>: 200 only for a session of that portal. GET /auth/verify: 200 for
    // an authenticated session of any portal (the headers say which), served only with
    // auth.verify_any_portal = true and otherwise 404: self-care IDs are unique only within a
    // portal, so a proxy guarding one portal's services that asked it would let in the same ID
    // of another portal.
    const auto verify = [services](const request_context& ctx, std::string_view portal) -> awaitable<response> {
        response res{http::status::unauthorized, ctx.req.version()};
        add_page_headers(res);
        res.keep_alive(ctx.req.keep_alive());
        const auto cookie = find_cookie(ctx.req[http::field::cookie],
                                        cookie_name(cookie_names::session, services.cfg.tls.enabled || services.cfg.server.behind_tls));
        if (cookie) {
            std::optional<session_record> record;
            const auto ec = co_await read(services.store, [&](const storage::record_view& r) {
                record = login::authenticated_session(r, *cookie, unix_now());
            });
            if (ec) throw std::system_error(ec, "storage read");
            if (record && (portal.empty() || record->portal == portal)) {
                res.result(http::status::ok);
                res.set("X-Nidan-Portal", record->portal);
                res.set("X-Nidan-Selfcare-Id", record->selfcare_id);
            }
        }
        res.prepare_payload();
        co_return res;
    };
    // The language switch of every page (server/web/language_switch.hpp): back to ?next=, or to
    // the first portal's login page.
    const bool secure = services.cfg.tls.enabled || services.cfg.server.behind_tls;
    const auto home = services.cfg.portals.front().login_path;
    for (const auto& row : app.route_rows) {
        switch (row.kind) {
        case route_kind::language_switch:
            app.routes.add(row, [language = row.language, secure, home](request_context& ctx) -> awaitable<response> {
                co_return switch_language(ctx.req, language, secure, home);
            });
            break;
        case route_kind::verify_any:
            app.routes.add(row, [verify](request_context& ctx) -> awaitable<response> { co_return co_await verify(ctx, {}); });
            break;
        case route_kind::verify_portal:
            app.routes.add(row, [verify, id = row.portal](request_context& ctx) -> awaitable<response> {
                co_return co_await verify(ctx, id);
            });
            break;
        default: break;
        }
    }
}

portal_site::~portal_site() = default;

}  // namespace nidan::server
