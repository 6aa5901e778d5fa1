#include "server/api/api_routes.hpp"

#include "server/steps/step_outcomes.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <exception>
#include <map>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/account/account_rules.hpp"
#include "core/base/text.hpp"
#include "core/base/log.hpp"
#include "server/http/error_pages.hpp"
#include "server/http/error_response.hpp"
#include "server/api/json_keys.hpp"
#include "server/steps/login_steps.hpp"

namespace nidan::server {
namespace {

namespace json = boost::json;

// The requests are a few short strings; anything larger is refused before parsing (the body is
// bounded by server.max_body_bytes already, this bound is tighter).
constexpr std::size_t max_json_bytes = 4096;
constexpr unsigned max_json_depth = 4;

const char* state_name(session_state state) {
    return state == session_state::authenticated ? "authenticated" : "code_pending";
}

response json_reply(const request& req, http::status status, const json::object& body) {
    response res{status, req.version()};
    add_common_headers(res);
    res.set(http::field::cache_control, "no-store");
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    res.set(http::field::content_type, "application/json");
    if (status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer realm=\"nidan\"");
    res.keep_alive(req.keep_alive());
    res.body() = json::serialize(body);
    res.prepare_payload();
    return res;
}

// {"error": code, "message": message} plus any members of `more` (attempts_left, strikes).
response json_error(const request& req, http::status status, std::string_view code, std::string_view message,
                    json::object more = {});

// A step's refusal as its row of the outcome table says (server/steps/step_outcomes.hpp).
response refusal_of(const request& req, const outcome_row& row, json::object more = {}) {
    return json_error(req, row.status, row.api_error, row.api_message, std::move(more));
}

response json_error(const request& req, http::status status, std::string_view code, std::string_view message,
                    json::object more) {
    json::object body = std::move(more);
    body["error"] = code;
    body["message"] = message;
    auto res = json_reply(req, status, body);
    if (status == http::status::service_unavailable || status == http::status::too_many_requests)
        res.set(http::field::retry_after, status == http::status::service_unavailable ? "5" : "3600");
    return res;
}

response unauthenticated(const request& req) {
    return json_error(req, http::status::unauthorized, "unauthenticated", "A valid bearer token is required.");
}

response unavailable(const request& req) {
    return json_error(req, http::status::service_unavailable, "unavailable", "The service is temporarily unavailable; retry later.");
}

// The token of "Authorization: Bearer <token>"; "" when there is none.
std::string_view bearer_token(const request& req) {
    const std::string_view value = req[http::field::authorization];
    constexpr std::string_view scheme = "bearer";
    if (value.size() <= scheme.size() || !beast::iequals(value.substr(0, scheme.size()), scheme) || value[scheme.size()] != ' ')
        return {};
    auto token = value.substr(scheme.size() + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    return token;
}

bool is_json(const request& req) {
    const std::string_view type = req[http::field::content_type];
    auto media = type.substr(0, type.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    return beast::iequals(media, "application/json");
}

// A request body's string members, read by name.
class json_fields {
public:
    void put(std::string_view name, std::string value) { values_.emplace(std::string(name), std::move(value)); }
    // The member `name` (read_fields was told of it); "" for an absent optional member.
    const std::string& operator[](std::string_view name) const {
        const auto it = values_.find(name);
        if (it == values_.end()) throw std::logic_error("api: member not read: " + std::string(name));
        return it->second;
    }

private:
    std::map<std::string, std::string, std::less<>> values_;
};

// The body as a JSON object with the named string members and the optional ones ("" when
// absent). A member of another type than string, or invalid UTF-8, is refused by name; on any
// failure `refusal` holds the answer.
std::optional<json_fields> read_fields(const request& req, std::initializer_list<std::string_view> names,
                                                    response& refusal,
                                                    std::initializer_list<std::string_view> optional_names = {}) {
    if (!is_json(req)) {
        refusal = json_error(req, http::status::unsupported_media_type, "unsupported_media_type",
                             "The body must be application/json.");
        return std::nullopt;
    }
    if (req.body().size() > max_json_bytes) {
        refusal = json_error(req, http::status::payload_too_large, "payload_too_large", "The body is too large.");
        return std::nullopt;
    }
    json::parse_options options;
    options.max_depth = max_json_depth;
    json::error_code ec;
    json::value parsed;
    try {
        parsed = json::parse(req.body(), ec, json::storage_ptr(), options);
    } catch (const std::exception&) {
        ec = json::make_error_code(json::error::syntax);
    }
    const auto* object = ec ? nullptr : parsed.if_object();
    if (!object) {
        refusal = json_error(req, http::status::bad_request, "bad_request", "The body is not a JSON object.");
        return std::nullopt;
    }
    if (has_repeated_keys(req.body())) {
        refusal = json_error(req, http::status::bad_request, "bad_request", "A member appears more than once.");
        return std::nullopt;
    }
    json_fields values;
    for (const auto name : names) {
        const auto* member = object->if_contains(name);
        if (!member) {
            refusal = json_error(req, http::status::bad_request, "bad_request",
                                 "The member \"" + std::string(name) + "\" is missing.");
            return std::nullopt;
        }
        const auto* text = member->if_string();
        if (!text || !is_valid_utf8(std::string_view(text->data(), text->size()))) {
            refusal = json_error(req, http::status::bad_request, "bad_request",
                                 "The member \"" + std::string(name) + "\" must be a string.");
            return std::nullopt;
        }
        values.put(name, std::string(text->data(), text->size()));
    }
    for (const auto name : optional_names) {
        const auto* member = object->if_contains(name);
        const auto* text = member ? member->if_string() : nullptr;
        if (member && (!text || !is_valid_utf8(std::string_view(text->data(), text->size())))) {
            refusal = json_error(req, http::status::bad_request, "bad_request",
                                 "The member \"" + std::string(name) + "\" must be a string when present.");
            return std::nullopt;
        }
        values.put(name, text ? std::string(text->data(), text->size()) : std::string());
    }
    return values;
}

class api_flow {
public:
    api_flow(const portal_services& s, const portal_config& p)
        : portal_(p), base_("/api/v1/" + p.id), steps_(s, p) {}

    void add_routes(router& routes, const std::vector<route_row>& table);

private:
    using member = awaitable<response> (api_flow::*)(request_context&);
    awaitable<response> guarded(request_context& ctx, member m);

    awaitable<response> login(request_context& ctx);
    awaitable<response> code(request_context& ctx);
    awaitable<response> address(request_context& ctx);
    awaitable<response> session(request_context& ctx);
    awaitable<response> logout(request_context& ctx);

    awaitable<std::optional<current_session>> bearer_session(const request& req) {
        const std::string token(bearer_token(req));
        if (token.empty()) co_return std::nullopt;
        co_return co_await steps_.find_session(token);
    }

    const portal_config& portal_;
    std::string base_;
    login_steps steps_;
};

// Errors thrown below a handler (hash queue full, storage full ...) answer in JSON too.
awaitable<response> api_flow::guarded(request_context& ctx, member m) {
    std::exception_ptr failure;
    try {
        co_return co_await (this->*m)(ctx);
    } catch (...) {
        failure = std::current_exception();  // co_await is not allowed in a handler
    }
    const auto status = failed_request_status(failure, ctx.path);
    if (status == http::status::service_unavailable) co_return unavailable(ctx.req);
    co_return json_error(ctx.req, status, "internal_error", "The request failed.");
}

awaitable<response> api_flow::login(request_context& ctx) {
    const auto& req = ctx.req;
    response refusal;
    // device_token: what a code step of this account returned before; it spares the client the
    // per-account delays that failures from elsewhere cause, as the device cookie does for browsers.
    const auto fields = read_fields(req, {"selfcare_id", "password"}, refusal, {"device_token"});
    if (!fields) co_return refusal;
    const auto& id = (*fields)["selfcare_id"];
    const auto& password = (*fields)["password"];
    const std::string_view device_token = (*fields)["device_token"];
    const auto client = ctx.client.to_string();
    // A client that logs in again with its token ends that session, as a browser's cookie does.
    const auto old_session = co_await bearer_session(req);
    const std::string_view old_session_hash = old_session ? std::string_view(old_session->hash) : std::string_view{};
    // The mails' language: the request's (request_context), the portal's when it says none.
    const auto outcome = co_await steps_.password_step(id, password, client, device_token, old_session_hash, ctx.language);
    switch (outcome.result) {
    case password_result::code_sent:
    case password_result::address_required: {
        json::object body;
        body["token"] = outcome.session_id;
        body["state"] = outcome.result == password_result::code_sent ? "code_pending" : "address_required";
        if (outcome.result == password_result::code_sent) body["code_sent_to"] = outcome.masked_email;
        co_return json_reply(req, http::status::ok, body);
    }
    case password_result::busy: {
        auto res = refusal_of(req, outcome_of(outcome.result));
        res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(outcome.retry_after_s, 1)));
        co_return res;
    }
    case password_result::invalid_credentials:
    case password_result::too_many_codes:
    case password_result::locked:
    case password_result::unavailable:
        break;
    }
    co_return refusal_of(req, outcome_of(outcome.result));
}

awaitable<response> api_flow::code(request_context& ctx) {
    const auto& req = ctx.req;
    const auto current = co_await bearer_session(req);
    if (!current) co_return unauthenticated(req);
    response refusal;
    const auto fields = read_fields(req, {"code"}, refusal);
    if (!fields) co_return refusal;
    const auto client = ctx.client.to_string();
    const auto& raw_code = (*fields)["code"];
    const auto outcome = co_await steps_.code_step(*current, raw_code, client);
    switch (outcome.result) {
    case code_result::accepted: {
        json::object body;
        body["token"] = outcome.session_id;
        body["state"] = "authenticated";
        body["device_token"] = outcome.device_token;
        co_return json_reply(req, http::status::ok, body);
    }
    case code_result::wrong:
        co_return refusal_of(req, outcome_of(outcome.result), {{"attempts_left", outcome.attempts_left}});
    case code_result::expired: {
        const auto& row = outcome_of(outcome.result);
        co_return json_error(req, row.status, row.api_error,
                             "The code has expired (" + outcome.minutes + " minutes); log in again for a new one.");
    }
    case code_result::dead:
    case code_result::bad_format:
    case code_result::unavailable:
        break;
    }
    co_return refusal_of(req, outcome_of(outcome.result));
}

awaitable<response> api_flow::address(request_context& ctx) {
    const auto& req = ctx.req;
    const auto current = co_await bearer_session(req);
    if (!current || current->record.state != session_state::code_pending) co_return unauthenticated(req);
    response refusal;
    const auto fields = read_fields(req, {"email", "phone"}, refusal);
    if (!fields) co_return refusal;
    const auto client = ctx.client.to_string();
    const auto& email = (*fields)["email"];
    const auto& phone = (*fields)["phone"];
    const auto outcome = co_await steps_.address_step(*current, email, phone, client, ctx.language);
    switch (outcome.result) {
    case address_result::code_sent: {
        json::object body;
        body["state"] = "code_pending";
        body["code_sent_to"] = outcome.masked_email;
        co_return json_reply(req, http::status::ok, body);
    }
    case address_result::wrong_phone:
        co_return refusal_of(req, outcome_of(outcome.result), {{"strikes", outcome.strikes}});
    case address_result::bad_email:
    case address_result::bad_phone:
    case address_result::locked:
    case address_result::rate_limited:
    case address_result::unavailable:
    case address_result::not_offered:
    case address_result::no_account:
        break;
    }
    co_return refusal_of(req, outcome_of(outcome.result));
}

awaitable<response> api_flow::session(request_context& ctx) {
    const auto current = co_await bearer_session(ctx.req);
    if (!current) co_return unauthenticated(ctx.req);
    if (current->record.state == session_state::authenticated) co_await steps_.touch_step(*current);
    json::object body;
    body["portal"] = current->record.portal;
    body["selfcare_id"] = current->record.selfcare_id;
    body["state"] = state_name(current->record.state);
    co_return json_reply(ctx.req, http::status::ok, body);
}

awaitable<response> api_flow::logout(request_context& ctx) {
    const auto& req = ctx.req;
    const auto current = co_await bearer_session(req);
    if (!current) co_return unauthenticated(req);
    const auto client = ctx.client.to_string();
    if (co_await steps_.logout_step(*current, client) == logout_result::unavailable) co_return unavailable(req);
    response res{http::status::no_content, req.version()};
    add_common_headers(res);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    co_return res;
}

void api_flow::add_routes(router& routes, const std::vector<route_row>& table) {
    auto bind = [this](member m) -> handler { return [this, m](request_context& ctx) { return guarded(ctx, m); }; };
    for (const auto& row : table) {
        if (row.portal != portal_.id) continue;
        switch (row.kind) {
        case route_kind::api_login: routes.add(row, bind(&api_flow::login)); break;
        case route_kind::api_code: routes.add(row, bind(&api_flow::code)); break;
        case route_kind::api_address: routes.add(row, bind(&api_flow::address)); break;
        case route_kind::api_session: routes.add(row, bind(&api_flow::session)); break;
        case route_kind::api_logout: routes.add(row, bind(&api_flow::logout)); break;
        default: break;  // the portal's pages
        }
    }
}

}  // namespace

struct api_site::flows {
    std::vector<std::unique_ptr<api_flow>> all;
};

api_site::api_site(app_state& app, const portal_services& services) : flows_(std::make_unique<flows>()) {
    for (const auto& portal : services.cfg.portals) {
        flows_->all.push_back(std::make_unique<api_flow>(services, portal));
        flows_->all.back()->add_routes(app.routes, app.route_rows);
    }
}

api_site::~api_site() = default;

}  // namespace nidan::server
