#pragma once
// An exception that escaped a request handler becomes an answer here, for the pages and the API
// alike: logged once (storage.full with its hint for a full LMDB map, request.failed otherwise)
// and mapped to its status by status_for (error_status.hpp). The caller only chooses the body's
// form (an error page, a JSON error).
#include <exception>
#include <string_view>

#include "server/base/http_types.hpp"

namespace nidan::server {

// `failure` is std::current_exception() of a catch (...) around a handler; `path` the request's.
http::status failed_request_status(std::exception_ptr failure, std::string_view path);

}  // namespace nidan::server
