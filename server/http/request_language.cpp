#include "server/http/request_language.hpp"

#include "core/render/language_choice.hpp"
#include "core/web/cookies.hpp"

namespace nidan::server {

std::string request_language(const request& req, const template_store& templates, std::string_view fallback,
                             bool secure) {
    const auto cookie = find_cookie(req[http::field::cookie], cookie_name(language_cookie, secure));
    const std::string_view chosen = cookie ? *cookie : std::string_view{};
    const std::string_view by_default =
        !fallback.empty() && templates.has_language(fallback) ? fallback : std::string_view(templates.default_language());
    return render::choose_language(chosen, req[http::field::accept_language], templates.languages(), by_default);
}

}  // namespace nidan::server
