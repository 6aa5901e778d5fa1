#pragma once
// The two-step login of every configured portal, as HTML pages:
//   GET/POST <login_path>          step 1: self-care ID and password
//   GET/POST /portal/<id>/code     step 2: the code from the mail
//   GET      /portal/<id>/home     after login: account details or the service menu
//   GET/POST /portal/<id>/address  the address form (mail unknown or not arriving)
//   POST     /portal/<id>/email, /portal/<id>/password   the account page's changes
//   POST     /portal/<id>/logout
//   GET      /auth/verify/<id>     for reverse proxies (nginx auth_request): 200 or 401
//   GET      /auth/verify          the same for a session of any portal (headers say which);
//                                  only with auth.verify_any_portal = true, else 404
// Sessions live in LMDB under the SHA-256 of their id; the cookie carries only the id.
// The pages are in server/web/portal_flow.hpp; the rules in core/, run by server/steps/login_steps.hpp,
// shared with the JSON API (server/api/api_routes.hpp, /api/v1/<id>/...).
#include <memory>

#include "server/http/app_state.hpp"
#include "server/steps/portal_services.hpp"

namespace nidan::server {

// Adds every portal's pages and /auth/verify to app.routes; the routes call into this object,
// which must live as long as the router.
class portal_site {
public:
    portal_site(app_state& app, portal_services services);
    ~portal_site();
    portal_site(const portal_site&) = delete;
    portal_site& operator=(const portal_site&) = delete;

private:
    struct flows;
    std::unique_ptr<flows> flows_;
};

}  // namespace nidan::server
