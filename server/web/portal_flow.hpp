#pragma once
// One portal's HTML pages: the login steps (portal_login_pages.cpp), the pages behind the login
// (portal_account_pages.cpp), and what they share (portal_flow.cpp: page data, cookies, CSRF
// origin checks, rendering). Each handler reads its form, calls a step of login_steps and
// presents the outcome; the rules are core's.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/render/prerendered_page.hpp"
#include "core/web/form_data.hpp"
#include "server/http/error_pages.hpp"
#include "server/base/http_types.hpp"
#include "server/steps/login_steps.hpp"
#include "server/web/portal_routes.hpp"
#include "server/http/router.hpp"

namespace nidan::server {

// The login form's signed double-submit token: its purpose and how long a form stays usable.
inline constexpr std::int64_t login_form_lifetime_s = 2 * 3600;
inline constexpr std::string_view login_csrf_purpose = "login-csrf";

// The pages' messages: keys of the language catalogs (templates/lang/<tag>.toml), whose
// Japanese is the manual's wording where it has one.
inline constexpr std::string_view msg_bad_credentials = "message.bad_credentials";
inline constexpr std::string_view msg_form_expired = "message.form_expired";
inline constexpr std::string_view msg_bad_form = "message.bad_form";
inline constexpr std::string_view msg_too_many_mails = "message.too_many_mails";
inline constexpr std::string_view msg_wrong_code = "message.wrong_code";
inline constexpr std::string_view msg_code_format = "message.code_format";
inline constexpr std::string_view msg_code_dead = "message.code_dead";
inline constexpr std::string_view msg_bad_address = "message.bad_address";
inline constexpr std::string_view msg_bad_phone = "message.bad_phone";
inline constexpr std::string_view msg_wrong_phone = "message.wrong_phone";
inline constexpr std::string_view msg_try_later = "message.try_later";
inline constexpr std::string_view msg_unavailable = "message.unavailable";

// What a POST of the pages must carry besides a same-origin, urlencoded body (form_checks.cpp).
enum class form_kind {
    login_token,      // no session yet: the signed double-submit token (login form, cancel link)
    any_session,      // a session in any state and its CSRF secret (code form, logout)
    pending_session,  // a session still waiting for its code (address form)
    signed_in,        // an authenticated session (the account page's changes)
};

// Why check_form refused a POST; each is one audit line "form.refused" with this as reason.
enum class form_refusal { none, cross_site, not_a_form, no_session, bad_form, bad_csrf };

struct checked_form {
    form_refusal refusal = form_refusal::none;
    std::optional<form_data> form;            // set unless the body was never read or unreadable
    std::optional<current_session> session;   // set when the kind needs one and it was found
    bool ok() const { return refusal == form_refusal::none; }
};

class portal_flow {
public:
    portal_flow(portal_services s, const portal_config& p, const error_pages& errors);

    // Binds the table's rows of this portal's pages.
    void add_routes(router& routes, const std::vector<route_row>& table);

private:
    awaitable<response> login_page(request_context& ctx);
    awaitable<response> login_submit(request_context& ctx);
    awaitable<response> code_page(request_context& ctx);
    awaitable<response> code_submit(request_context& ctx);
    awaitable<response> address_page(request_context& ctx);
    awaitable<response> address_submit(request_context& ctx);
    awaitable<response> home_page(request_context& ctx);
    awaitable<response> change_email(request_context& ctx);
    awaitable<response> change_password(request_context& ctx);
    // kept_email: the address the customer typed, shown again after a refusal. The texts are
    // views (of literals, or of the caller's named strings): a temporary std::string in a
    // co_await expression is what g++ 12 may destroy twice (GCC bug 100611, see
    // server/base/storage_bridge.hpp).
    awaitable<response> render_account(const request_context& ctx, http::status status, const current_session& session,
                                       std::string_view notice, std::string_view error, std::string_view kept_email = {});
    // Every POST's checks in one order: same origin, urlencoded body, the session the route
    // needs, a readable form, its CSRF token. A refusal is logged (audit "form.refused": portal,
    // route, reason, client; the form parser's error for bad_form, never a field's value).
    awaitable<checked_form> check_form(request_context& ctx, form_kind kind);
    // check_form for the account page's forms: nullopt with `refusal` set (an unreadable form
    // shows the account page again with the message) when refused.
    awaitable<std::optional<checked_form>> account_form(request_context& ctx, response& refusal);
    // The refusals every form answers alike: 403 (cross_site, bad_csrf), 415 (not_a_form), back to
    // the login page (no_session). Forms answer bad_form with their own page.
    response refuse_form(const request_context& ctx, form_refusal refusal) const;
    awaitable<response> logout(request_context& ctx);
    // The link in the notice to the registered address (core/login/address_change.hpp): GET shows what
    // it will do (mail scanners follow links), POST does it.
    awaitable<response> cancel_page(request_context& ctx);
    awaitable<response> cancel_submit(request_context& ctx);
    response render_cancel(const request_context& ctx, http::status status, std::string_view state, const std::string& token);

    // The pages are in the request's language (request_context::language).
    // The login page as most views get it (a GET of the login path, no message, no ID), per
    // language: rendered at start with a slot for the form's token.
    void prerender_login_pages();
    response render_login(const request_context& ctx, http::status status, const std::string& error, const std::string& id);
    // The double-submit token of the forms before a session exists (login, cancel link): the
    // same signed value in a cookie and a hidden field.
    std::pair<std::string, std::string> fresh_form_token() const;  // {token, Set-Cookie value}
    bool form_token_ok(const request& req, std::string_view field) const;
    awaitable<response> render_code(const request_context& ctx, http::status status, const current_session& session,
                                    std::string_view error);
    response render_address(const request_context& ctx, http::status status, const current_session& session,
                            const std::string& error, const std::string& email, const std::string& phone);
    // Which lock the notice is about: the password login (throttle.account_lock_after) or the
    // address form (address.phone_strikes).
    // password: the failures' lock; support: `nidan user lock`; address: the phone strikes;
    // address_cancelled: a change cancelled from the registered address's link;
    // not_offered: address_change.only_without_working_address keeps the account off the form.
    enum class locked_form { password, support, address, address_cancelled, not_offered };
    response render_locked(const request_context& ctx, locked_form form);
    // The address form's notice for this session's account (address or address_cancelled).
    static locked_form address_lock_of(login::address_lock lock);
    // What every page shows: the language, its switch, the portal's and the operator's texts.
    template_data page_data(const request_context& ctx) const;
    // The login template's data: the page's, the form's token, the ID typed so far and the error.
    template_data login_page_data(const request_context& ctx, const std::string& token, const std::string& id,
                                  const std::string& error) const;
    // A text of the customer's language; the reference stays valid as long as the templates.
    const std::string& message(const request_context& ctx, std::string_view key) const;
    // An error page in the customer's language.
    response refuse(const request_context& ctx, http::status status) const;

    awaitable<std::optional<current_session>> load_session(const request& req);
    std::string session_cookie(const std::string& id) const;
    std::string expired_session_cookie() const;
    // Deletes the device cookie: "forget this device" at logout, on a shared computer.
    std::string expired_device_cookie() const;
    bool secure() const { return s_.cfg.tls.enabled || s_.cfg.server.behind_tls; }
    // Under TLS or behind_tls only the https origin of the Host counts as same-origin.
    bool same_origin(const request& req) const;
    static bool is_form(const request& req);

    portal_services s_;
    const portal_config& portal_;
    const error_pages& errors_;
    std::string base_;
    login_steps steps_;
    std::map<std::string, render::prerendered_page, std::less<>> first_login_pages_;
};

}  // namespace nidan::server
