#pragma once
// The one place where a domain error becomes an HTTP status.
#include <system_error>

#include "server/base/http_types.hpp"

namespace nidan::server {

http::status status_for(const std::error_code& ec);

}  // namespace nidan::server
