#pragma once
// Refuses requests whose framing two HTTP implementations could read differently (request
// smuggling), whatever Beast's parser accepted: the checks run on the parsed header before any
// body is read.
#include <optional>
#include <string_view>

#include "server/base/http_types.hpp"

namespace nidan::server {

// A short reason for the 400 page and the log; nullopt when the header is acceptable.
std::optional<std::string_view> framing_problem(const http::request_header<>& header);

}  // namespace nidan::server
