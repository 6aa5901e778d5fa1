#include "server/http/request_language.hpp"

#include <algorithm>

#include "core/render/language_choice.hpp"
#include "core/web/cookies.hpp"

namespace nidan::server {

std::string request_language(const request& req, const std::vector<std::string>& languages, std::string_view fallback,
                             bool secure) {
    const auto cookie = find_cookie(req[http::field::cookie], cookie_name(language_cookie, secure));
    const std::string_view chosen = cookie ? *cookie : std::string_view{};
    const bool known = std::find(languages.begin(), languages.end(), fallback) != languages.end();
    const std::string_view by_default = known ? fallback : std::string_view(languages.front());
    return render::choose_language(chosen, req[http::field::accept_language], languages, by_default);
}

}  // namespace nidan::server
