#pragma once
// The two-step login as a JSON API for scripts and load tests, per configured portal:
//   POST /api/v1/<id>/login     {"selfcare_id", "password"} -> {"token", "state", "code_sent_to"}
//   POST /api/v1/<id>/code      {"code"}                    -> {"token", "state": "authenticated"}
//   POST /api/v1/<id>/address   {"email", "phone"}          -> {"state", "code_sent_to"}
//   GET  /api/v1/<id>/session                               -> {"portal", "selfcare_id", "state"}
//   POST /api/v1/<id>/logout                                -> 204
// The session travels as "Authorization: Bearer <token>", never as a cookie, so a browser never
// sends it by itself and no CSRF token is needed. Errors: {"error": "<code>", "message": "..."}.
// Same steps, rules and counters as the HTML pages (server/steps/login_steps.hpp).
#include <memory>

#include "server/http/app_state.hpp"
#include "server/steps/portal_services.hpp"

namespace nidan::server {

// Adds the API routes of every portal to app.routes; must live as long as the router.
class api_site {
public:
    api_site(app_state& app, const portal_services& services);
    ~api_site();
    api_site(const api_site&) = delete;
    api_site& operator=(const api_site&) = delete;

private:
    struct flows;
    std::unique_ptr<flows> flows_;
};

}  // namespace nidan::server
