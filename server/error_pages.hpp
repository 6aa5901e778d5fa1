#pragma once
// The small pages for HTTP errors (400, 404, 405, 413, 431, 500, 503 ...), rendered once at
// startup from templates/error.html so answering an error costs no rendering.
#include <map>
#include <string>

#include "core/template_store.hpp"
#include "server/http_types.hpp"

namespace nidan::server {

class error_pages {
public:
    explicit error_pages(const template_store& templates);
    // A complete response; Allow, Retry-After and the like are added by the caller.
    response make(http::status status, unsigned version, bool keep_alive) const;

private:
    std::map<http::status, std::string> bodies_;
};

// Headers every response carries (nosniff, framing denial, referrer policy).
void add_common_headers(response& res);

}  // namespace nidan::server
