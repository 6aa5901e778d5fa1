#include "server/portal_routes.hpp"

#include <boost/beast/core/string.hpp>

#include <ctime>

#include "core/account_rules.hpp"
#include "core/cookies.hpp"
#include "core/form_data.hpp"
#include "core/log.hpp"
#include "core/tokens.hpp"
#include "server/api_routes.hpp"
#include "server/login_steps.hpp"
#include "server/page_response.hpp"
#include "storage/login_store.hpp"

namespace nidan::server {
namespace {

constexpr std::int64_t login_form_lifetime_s = 2 * 3600;
constexpr std::string_view login_csrf_purpose = "login-csrf";
const char* const msg_bad_credentials = "セルフケアIDまたはセルフケアパスワードが正しくありません。";
const char* const msg_form_expired = "画面の有効期限が切れました。もう一度入力してください。";
const char* const msg_bad_form = "入力内容を読み取れませんでした。もう一度入力してください。";
const char* const msg_too_many_mails =
    "認証コードの送信回数が上限に達しました。しばらく時間をおいてから、もう一度ログインしてください。";
const char* const msg_wrong_code = "認証コードが正しくありません。もう一度入力してください。";
const char* const msg_code_format = "認証コードは半角数字で入力してください。";
const char* const msg_code_dead =
    "認証コードの入力回数が上限を超えました。もう一度セルフケアログインページからログインし直してください。";
const char* const msg_bad_address = "メールアドレスを正しく入力してください。";
const char* const msg_bad_phone = "連絡先電話番号を半角数字(ハイフン無し)で正しく入力してください。";
const char* const msg_wrong_phone = "入力された連絡先電話番号が、登録されている電話番号と一致しません。";
const char* const msg_try_later = "ログインの試行が続いています。しばらく時間をおいてから再度お試しください。";
const char* const msg_unavailable = "ただいま混み合っています。しばらくしてから再度お試しください。";

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

// The rule a refused new password broke: someone who typed a very long one must not be told it is
// too short. (Invalid UTF-8, the policy's third refusal, never gets here: the form reader refuses it.)
std::string new_password_rule(std::string_view replacement, std::size_t min_chars) {
    if (replacement.size() > password_config::max_length)
        return "新しいパスワードは" + std::to_string(password_config::max_length) + "バイト以内で入力してください。";
    return "新しいパスワードは" + std::to_string(min_chars) + "文字以上で入力してください。";
}

class portal_flow {
public:
    portal_flow(portal_services s, const portal_config& p, const error_pages& errors)
        : s_(s), portal_(p), errors_(errors), base_("/portal/" + p.id), steps_(std::move(s), p) {}

    void add_routes(router& routes);

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
    // kept_email: the address the customer typed, shown again after a refusal.
    response render_account(const request& req, http::status status, const current_session& session,
                            const std::string& notice, const std::string& error, const std::string& kept_email = "");
    std::optional<current_session> authenticated_post(const request& req, std::optional<form_data>& form, response& refusal);
    awaitable<response> logout(request_context& ctx);

    response render_login(const request& req, http::status status, const std::string& error, const std::string& id);
    response render_code(const request& req, http::status status, const current_session& session, const std::string& error);
    response render_address(const request& req, http::status status, const current_session& session,
                            const std::string& error, const std::string& email, const std::string& phone);
    // Which lock the notice is about: the password login (throttle.account_lock_after) or the
    // address form (address.phone_strikes).
    enum class locked_form { password, address };
    response render_locked(const request& req, locked_form form);
    template_data page_data() const;

    std::optional<current_session> load_session(const request& req) const;
    std::string session_cookie(const std::string& id) const;
    std::string expired_session_cookie() const;
    bool secure() const { return s_.cfg.tls.enabled || s_.cfg.server.behind_tls; }
    static bool same_origin(const request& req);
    static bool is_form(const request& req);

    portal_services s_;
    const portal_config& portal_;
    const error_pages& errors_;
    std::string base_;
    login_steps steps_;
};

template_data portal_flow::page_data() const {
    template_data data;
    data.set("portal_title", portal_.title.empty() ? portal_.name : portal_.title);
    data.set("operator", s_.cfg.operator_info.name);
    data.set("mail_domain", s_.cfg.operator_info.mail_domain);
    data.set("support_phone", s_.cfg.operator_info.support_phone);
    data.set("support_hours", s_.cfg.operator_info.support_hours);
    data.set("enquiry_url", s_.cfg.operator_info.enquiry_url);
    data.set("login_url", portal_.login_path);
    return data;
}

bool portal_flow::same_origin(const request& req) {
    // Browsers send these on cross-site form posts; a request without them (an old browser, a
    // script) still needs the CSRF token.
    const auto site = req["Sec-Fetch-Site"];
    if (!site.empty() && site != "same-origin" && site != "none") return false;
    const auto origin = req[http::field::origin];
    if (origin.empty()) return true;
    const auto host = req[http::field::host];
    return origin == "http://" + std::string(host) || origin == "https://" + std::string(host);
}

bool portal_flow::is_form(const request& req) {
    const auto type = req[http::field::content_type];
    return beast::iequals(type.substr(0, type.find(';')), "application/x-www-form-urlencoded");
}

std::optional<current_session> portal_flow::load_session(const request& req) const {
    const auto cookie = find_cookie(req[http::field::cookie], cookie_name("nidan_session", secure()));
    if (!cookie) return std::nullopt;
    return steps_.find_session(*cookie);
}

std::string portal_flow::session_cookie(const std::string& id) const {
    return set_cookie_value("nidan_session", id, {secure(), std::nullopt});
}

std::string portal_flow::expired_session_cookie() const {
    return set_cookie_value("nidan_session", "x", {secure(), 0});
}

response portal_flow::render_login(const request& req, http::status status, const std::string& error, const std::string& id) {
    // A fresh signed token per form: the same value goes into a cookie and a hidden field
    // (double submit), so a cross-site form cannot log the victim into the attacker's account.
    const auto token = sign_token(s_.server_secret, login_csrf_purpose, random_token(16), now_s() + login_form_lifetime_s);
    auto data = page_data();
    data.set("action", portal_.login_path);
    data.set("csrf", token);
    data.set("selfcare_id", id);
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("login.html", data),
                     {set_cookie_value("nidan_login", token, {secure(), login_form_lifetime_s})});
}

response portal_flow::render_code(const request& req, http::status status, const current_session& session,
                                  const std::string& error) {
    auto data = page_data();
    data.set("action", base_ + "/code");
    data.set("csrf", session.record.csrf_secret);
    data.set("lifetime_minutes", std::to_string((s_.cfg.code.lifetime.count() + 59) / 60));
    data.set("address_link_text", portal_.address_link_text);
    data.set("address_url", base_ + "/address");
    if (!portal_.code_screen_note.empty()) data.set("code_screen_note", portal_.code_screen_note);
    if (const auto pending = steps_.pending_code(session)) {
        data.set("masked_email", pending->masked_email);
        data.set("to_new_address", pending->to_new_address);
    }
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("code.html", data));
}

awaitable<response> portal_flow::login_page(request_context& ctx) {
    co_return render_login(ctx.req, http::status::ok, "", "");
}

awaitable<response> portal_flow::login_submit(request_context& ctx) {
    const auto& req = ctx.req;
    const auto client = ctx.client.to_string();
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    if (!is_form(req)) co_return errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form) co_return render_login(req, http::status::bad_request, msg_bad_form, "");
    const std::string id(form->get("selfcare_id"));
    const std::string password(form->get("password"));
    const auto now = now_s();

    const auto csrf = form->get("csrf");
    const auto csrf_cookie = find_cookie(req[http::field::cookie], cookie_name("nidan_login", secure()));
    if (!csrf_cookie || !constant_time_equal(*csrf_cookie, csrf) ||
        !verify_token(s_.server_secret, login_csrf_purpose, csrf, now)) {
        log::audit("login.csrf_refused").add("portal", portal_.id).add("client", client);
        co_return render_login(req, http::status::forbidden, msg_form_expired, is_valid_utf8(id) ? id : "");
    }

    const auto device_cookie = find_cookie(req[http::field::cookie], cookie_name("nidan_device", secure()));
    const std::string_view device_token = device_cookie ? *device_cookie : std::string_view{};
    const auto old_session = load_session(req);
    const std::string_view old_session_hash = old_session ? std::string_view(old_session->hash) : std::string_view{};
    const auto outcome = co_await steps_.password_step(id, password, client, device_token, old_session_hash);
    const auto shown_id = is_valid_utf8(id) ? id : std::string();
    switch (outcome.result) {
    case password_result::code_sent:
        co_return see_other(req, base_ + "/code", {session_cookie(outcome.session_id)});
    case password_result::address_required:
        co_return see_other(req, base_ + "/address", {session_cookie(outcome.session_id)});
    case password_result::invalid_credentials:
        co_return render_login(req, http::status::unauthorized, msg_bad_credentials, shown_id);
    case password_result::too_many_codes:
        co_return render_login(req, http::status::too_many_requests, msg_too_many_mails, shown_id);
    case password_result::locked:
        co_return render_locked(req, locked_form::password);
    case password_result::busy:
        co_return render_login(req, http::status::too_many_requests, msg_try_later, shown_id);
    case password_result::unavailable:
        break;
    }
    co_return render_login(req, http::status::service_unavailable, msg_unavailable, shown_id);
}

awaitable<response> portal_flow::code_page(request_context& ctx) {
    // An authenticated session comes here to confirm a new address from the account page.
    auto session = load_session(ctx.req);
    if (!session) co_return see_other(ctx.req, portal_.login_path);
    co_return render_code(ctx.req, http::status::ok, *session, "");
}

awaitable<response> portal_flow::code_submit(request_context& ctx) {
    const auto& req = ctx.req;
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    if (!is_form(req)) co_return errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
    auto session = load_session(req);
    if (!session) co_return see_other(req, portal_.login_path);
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form) co_return render_code(req, http::status::bad_request, *session, msg_bad_form);
    if (!constant_time_equal(form->get("csrf"), session->record.csrf_secret)) {
        log::audit("code.csrf_refused").add("portal", portal_.id).add("client", ctx.client.to_string());
        co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    }
    const auto raw_code = form->get("code");
    const auto client = ctx.client.to_string();
    const auto outcome = co_await steps_.code_step(*session, raw_code, client);
    const auto& id = session->record.selfcare_id;
    switch (outcome.result) {
    case code_result::accepted:
        co_return see_other(req, base_ + "/home",
                            {session_cookie(outcome.session_id),
                             set_cookie_value("nidan_device", outcome.device_token, {secure(), device_lifetime_s})});
    case code_result::wrong:
        co_return render_code(req, http::status::unauthorized, *session, msg_wrong_code);
    case code_result::dead:
        co_return render_login(req, http::status::unauthorized, msg_code_dead, id);
    case code_result::bad_format:
        co_return render_code(req, http::status::bad_request, *session, msg_code_format);
    case code_result::unavailable:
        co_return render_code(req, http::status::service_unavailable, *session, msg_unavailable);
    case code_result::expired:
        break;
    }
    co_return render_login(req, http::status::unauthorized,
                           "ログイン認証コードの有効期限(" + outcome.minutes +
                               "分)が過ぎました。もう一度ログインし直して、ログイン認証コードを再度入手してください。",
                           id);
}

response portal_flow::render_address(const request& req, http::status status, const current_session& session,
                                     const std::string& error, const std::string& email, const std::string& phone) {
    auto data = page_data();
    data.set("action", base_ + "/address");
    data.set("csrf", session.record.csrf_secret);
    data.set("email", email);
    data.set("phone", phone);
    data.set("back_url", base_ + "/code");
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("address.html", data));
}

response portal_flow::render_locked(const request& req, locked_form form) {
    auto data = page_data();
    data.set(form == locked_form::password ? "password_locked" : "address_locked", true);
    data.set("phone_strikes", std::to_string(s_.cfg.address.phone_strikes));
    return html_page(req, http::status::forbidden, s_.templates.render("locked.html", data));
}

awaitable<response> portal_flow::address_page(request_context& ctx) {
    auto session = load_session(ctx.req);
    if (!session || session->record.state != session_state::code_pending)
        co_return see_other(ctx.req, portal_.login_path);
    if (steps_.address_form_locked(*session)) co_return render_locked(ctx.req, locked_form::address);
    co_return render_address(ctx.req, http::status::ok, *session, "", "", "");
}

awaitable<response> portal_flow::address_submit(request_context& ctx) {
    const auto& req = ctx.req;
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    if (!is_form(req)) co_return errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
    auto session = load_session(req);
    if (!session || session->record.state != session_state::code_pending) co_return see_other(req, portal_.login_path);
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form) co_return render_address(req, http::status::bad_request, *session, msg_bad_form, "", "");
    if (!constant_time_equal(form->get("csrf"), session->record.csrf_secret)) {
        log::audit("address.csrf_refused").add("portal", portal_.id).add("client", ctx.client.to_string());
        co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    }
    const std::string email(form->get("email"));
    const std::string phone_raw(form->get("phone"));
    // Nothing is stored for input that breaks the rules; the values are shown again to fix.
    const auto client = ctx.client.to_string();
    const auto outcome = co_await steps_.address_step(*session, email, phone_raw, client);
    switch (outcome.result) {
    case address_result::code_sent:
        co_return see_other(req, base_ + "/code");
    case address_result::bad_email:
        co_return render_address(req, http::status::bad_request, *session, msg_bad_address, email, phone_raw);
    case address_result::bad_phone:
        co_return render_address(req, http::status::bad_request, *session, msg_bad_phone, email, phone_raw);
    case address_result::wrong_phone:
        co_return render_address(req, http::status::unauthorized, *session, msg_wrong_phone, email, "");
    case address_result::locked:
        co_return render_locked(req, locked_form::address);
    case address_result::rate_limited:
        co_return render_address(req, http::status::too_many_requests, *session, msg_too_many_mails, email, phone_raw);
    case address_result::unavailable:
        co_return render_address(req, http::status::service_unavailable, *session, msg_unavailable, email, phone_raw);
    case address_result::no_account:
        break;
    }
    co_return see_other(req, portal_.login_path, {expired_session_cookie()});
}

awaitable<response> portal_flow::home_page(request_context& ctx) {
    auto session = load_session(ctx.req);
    if (!session || session->record.state != session_state::authenticated)
        co_return see_other(ctx.req, portal_.login_path);
    co_await steps_.touch_step(*session);
    auto data = page_data();
    data.set("csrf", session->record.csrf_secret);
    data.set("logout_action", base_ + "/logout");
    data.set("selfcare_id", session->record.selfcare_id);
    if (portal_.home == "menu") {
        kainjow::mustache::data items{kainjow::mustache::data::type::list};
        for (const auto& item : portal_.menu) {
            template_data entry;
            entry.set("label", item.label);
            entry.set("url", item.url);
            items << entry;
        }
        data.set("menu", items);
        if (!portal_.manual_url.empty()) data.set("manual_url", portal_.manual_url);
        co_return html_page(ctx.req, http::status::ok, s_.templates.render("menu.html", data));
    }
    co_return render_account(ctx.req, http::status::ok, *session, "", "");
}

response portal_flow::render_account(const request& req, http::status status, const current_session& session,
                                     const std::string& notice, const std::string& error, const std::string& kept_email) {
    auto data = page_data();
    data.set("csrf", session.record.csrf_secret);
    data.set("logout_action", base_ + "/logout");
    data.set("selfcare_id", session.record.selfcare_id);
    const auto acct = steps_.account_of(session);
    if (acct && !acct->email.empty()) data.set("masked_email", log::mask_email(acct->email));
    if (acct && !acct->phone.empty()) data.set("masked_phone", log::mask_phone(acct->phone));
    data.set("email_action", base_ + "/email");
    data.set("password_action", base_ + "/password");
    data.set("min_password", std::to_string(s_.cfg.password.min_length));
    if (!notice.empty()) data.set("notice", notice);
    if (!error.empty()) data.set("error", error);
    if (!kept_email.empty()) data.set("new_email", kept_email);
    return html_page(req, status, s_.templates.render("account.html", data));
}

// The checks every form behind the login shares; on refusal `refusal` holds the answer.
std::optional<current_session> portal_flow::authenticated_post(const request& req, std::optional<form_data>& form,
                                                                            response& refusal) {
    if (!same_origin(req)) {
        refusal = errors_.make(http::status::forbidden, req.version(), req.keep_alive());
        return std::nullopt;
    }
    if (!is_form(req)) {
        refusal = errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
        return std::nullopt;
    }
    auto session = load_session(req);
    if (!session || session->record.state != session_state::authenticated) {
        refusal = see_other(req, portal_.login_path);
        return std::nullopt;
    }
    std::string form_error;
    form = parse_form(req.body(), form_error);
    if (!form) {
        refusal = render_account(req, http::status::bad_request, *session, "", msg_bad_form);
        return std::nullopt;
    }
    if (!constant_time_equal(form->get("csrf"), session->record.csrf_secret)) {
        refusal = errors_.make(http::status::forbidden, req.version(), req.keep_alive());
        return std::nullopt;
    }
    return session;
}

awaitable<response> portal_flow::change_email(request_context& ctx) {
    const auto& req = ctx.req;
    std::optional<form_data> form;
    response refusal;
    auto session = authenticated_post(req, form, refusal);
    if (!session) co_return refusal;
    const std::string email(form->get("new_email"));
    switch (co_await steps_.email_change_step(*session, email)) {
    case email_change_result::code_sent:
        co_return see_other(req, base_ + "/code");
    case email_change_result::bad_email:
        co_return render_account(req, http::status::bad_request, *session, "", msg_bad_address, email);
    case email_change_result::rate_limited:
        co_return render_account(req, http::status::too_many_requests, *session, "", msg_too_many_mails, email);
    case email_change_result::unavailable:
        break;
    }
    co_return render_account(req, http::status::service_unavailable, *session, "", msg_unavailable, email);
}

awaitable<response> portal_flow::change_password(request_context& ctx) {
    const auto& req = ctx.req;
    std::optional<form_data> form;
    response refusal;
    auto session = authenticated_post(req, form, refusal);
    if (!session) co_return refusal;
    const std::string current(form->get("current_password"));
    const std::string replacement(form->get("new_password"));
    const auto client = ctx.client.to_string();
    switch (co_await steps_.password_change_step(*session, current, replacement, client)) {
    case password_change_result::changed:
        co_return render_account(req, http::status::ok, *session, "パスワードを変更しました。", "");
    case password_change_result::bad_password:
        co_return render_account(req, http::status::bad_request, *session, "",
                                 new_password_rule(replacement, s_.cfg.password.min_length));
    case password_change_result::wrong_password:
        co_return render_account(req, http::status::unauthorized, *session, "", "現在のパスワードが正しくありません。");
    case password_change_result::no_account:
        co_return see_other(req, portal_.login_path, {expired_session_cookie()});
    case password_change_result::busy:
        co_return render_account(req, http::status::too_many_requests, *session, "", msg_try_later);
    case password_change_result::unavailable:
        break;
    }
    co_return render_account(req, http::status::service_unavailable, *session, "", msg_unavailable);
}

awaitable<response> portal_flow::logout(request_context& ctx) {
    const auto& req = ctx.req;
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    auto session = load_session(req);
    if (!session) co_return see_other(req, portal_.login_path, {expired_session_cookie()});
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form || !constant_time_equal(form->get("csrf"), session->record.csrf_secret))
        co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    const auto client = ctx.client.to_string();
    const auto result = co_await steps_.logout_step(*session, client);
    if (result == logout_result::unavailable) co_return errors_.make(http::status::service_unavailable, req.version(), req.keep_alive());
    co_return see_other(req, portal_.login_path, {expired_session_cookie()});
}

void portal_flow::add_routes(router& routes) {
    auto bind = [this](awaitable<response> (portal_flow::*member)(request_context&)) {
        return [this, member](request_context& ctx) { return (this->*member)(ctx); };
    };
    routes.add(http::verb::get, portal_.login_path, bind(&portal_flow::login_page));
    routes.add(http::verb::post, portal_.login_path, bind(&portal_flow::login_submit));
    routes.add(http::verb::get, base_ + "/code", bind(&portal_flow::code_page));
    routes.add(http::verb::post, base_ + "/code", bind(&portal_flow::code_submit));
    routes.add(http::verb::get, base_ + "/address", bind(&portal_flow::address_page));
    routes.add(http::verb::post, base_ + "/address", bind(&portal_flow::address_submit));
    routes.add(http::verb::get, base_ + "/home", bind(&portal_flow::home_page));
    if (portal_.home == "account") {
        routes.add(http::verb::post, base_ + "/email", bind(&portal_flow::change_email));
        routes.add(http::verb::post, base_ + "/password", bind(&portal_flow::change_password));
    }
    routes.add(http::verb::post, base_ + "/logout", bind(&portal_flow::logout));
}

}  // namespace

struct portal_site::flows {
    std::vector<std::unique_ptr<portal_flow>> all;
    std::unique_ptr<api_site> api;
};

portal_site::portal_site(app_state& app, portal_services services) : flows_(std::make_unique<flows>()) {
    for (const auto& portal : services.cfg.portals) {
        flows_->all.push_back(std::make_unique<portal_flow>(services, portal, app.errors));
        flows_->all.back()->add_routes(app.routes);
    }
    flows_->api = std::make_unique<api_site>(app, services);

    // GET /auth/verify: 200 for an authenticated session of any portal (the headers say which);
    // GET /auth/verify/<portal>: 200 only for a session of that portal. Self-care IDs are unique
    // only within a portal, so a proxy guarding one portal's services must ask the second way.
    const auto verify = [services](const request_context& ctx, std::string_view portal) -> response {
        response res{http::status::unauthorized, ctx.req.version()};
        add_page_headers(res);
        res.keep_alive(ctx.req.keep_alive());
        const auto cookie = find_cookie(ctx.req[http::field::cookie],
                                        cookie_name("nidan_session", services.cfg.tls.enabled || services.cfg.server.behind_tls));
        if (cookie) {
            std::optional<session_record> record;
            {
                auto txn = services.env.begin_read();
                record = login::authenticated_session(storage::login_reader(txn), *cookie, now_s());
            }
            if (record && (portal.empty() || record->portal == portal)) {
                res.result(http::status::ok);
                res.set("X-Nidan-Portal", record->portal);
                res.set("X-Nidan-Selfcare-Id", record->selfcare_id);
            }
        }
        res.prepare_payload();
        return res;
    };
    app.routes.add(http::verb::get, "/auth/verify",
                   [verify](request_context& ctx) -> awaitable<response> { co_return verify(ctx, {}); });
    for (const auto& portal : services.cfg.portals) {
        app.routes.add(http::verb::get, "/auth/verify/" + portal.id,
                       [verify, id = portal.id](request_context& ctx) -> awaitable<response> { co_return verify(ctx, id); });
    }
}

portal_site::~portal_site() = default;

}  // namespace nidan::server
