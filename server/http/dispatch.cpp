#include "server/http/dispatch.hpp"

#include "server/http/error_response.hpp"

namespace nidan::server {

awaitable<response> dispatch(app_state& app, const request& req, const net::ip::address& client) {
    // Until the response is made (not written): the time a request spends in nidan, by route.
    scoped_timer timer;
    const std::string_view target = req.target();
    // Only origin-form targets ("/path?query"); absolute-form and "*" are for proxies.
    if (target.empty() || target.front() != '/') {
        timer.into(app.routes.unmatched(req.method()));
        co_return app.errors.make(http::status::bad_request, req.version(), false);
    }
    const auto question = target.find('?');
    request_context ctx{req, target.substr(0, question),
                        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1),
                        client_address(req, client, app.trusted_proxies), {}};

    const auto match = app.routes.find(req.method(), ctx.path);
    timer.into(*match.timing);
    // Decided here once: the handlers, their pages and the error pages below all read it. Rows
    // with no text have no default, and get a language only if an error page needs one.
    if (!match.target)
        ctx.language = app.language_of(req, app.cfg.operator_info.language);
    else if (!match.default_language.empty())
        ctx.language = app.language_of(req, match.default_language);
    if (!match.target) {
        if (match.allow.empty())
            co_return app.errors.make(http::status::not_found, req.version(), req.keep_alive(), ctx.path, ctx.language);
        auto res =
            app.errors.make(http::status::method_not_allowed, req.version(), req.keep_alive(), ctx.path, ctx.language);
        res.set(http::field::allow, match.allow);
        co_return res;
    }

    std::exception_ptr failure;
    try {
        auto res = co_await (*match.target)(ctx);
        if (req.method() == http::verb::head) {
            // Same headers as GET, no body (RFC 9110 section 9.3.2).
            const auto length = res.body().size();
            res.body().clear();
            if (res.result() != http::status::not_modified) res.content_length(length);
        }
        co_return res;
    } catch (...) {
        failure = std::current_exception();  // co_await is not allowed in a handler
    }
    if (ctx.language.empty()) ctx.language = app.language_of(req, app.cfg.operator_info.language);
    auto res = app.errors.make(failed_request_status(failure, ctx.path), req.version(), req.keep_alive(), ctx.path,
                               ctx.language);
    if (res.result() == http::status::service_unavailable) res.set(http::field::retry_after, "5");
    co_return res;
}

}  // namespace nidan::server
