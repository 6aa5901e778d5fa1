#pragma once
// From a complete request to its response: split the target, route, call the handler, and turn
// whatever the handler threw into a small error page. Knows nothing of sockets.
#include "server/http/app_state.hpp"

namespace nidan::server {

awaitable<response> dispatch(app_state& app, const request& req, const net::ip::address& client);

}  // namespace nidan::server
