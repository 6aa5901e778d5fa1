#pragma once
// GET /healthz: the process answers. GET /readyz: LMDB is open and takes a write, and the map
// has room; load balancers send traffic only while it says 200.
#include "server/http/router.hpp"
#include "storage/backend.hpp"

namespace nidan::server {

void add_health_routes(router& routes, const std::vector<route_row>& table, storage::backend& store);

}  // namespace nidan::server
