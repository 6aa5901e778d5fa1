#include "server/ops/health_routes.hpp"

#include "core/base/log.hpp"
#include "server/http/error_pages.hpp"
#include "server/base/storage_bridge.hpp"

namespace nidan::server {
namespace {

response plain(const request& req, http::status status, std::string body) {
    response res{status, req.version()};
    add_common_headers(res);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace

void add_health_routes(router& routes, const std::vector<route_row>& table, storage::backend& store) {
    const handler healthz = [](request_context& ctx) -> awaitable<response> {
        co_return plain(ctx.req, http::status::ok, "ok\n");
    };
    const handler readyz = [&store](request_context& ctx) -> awaitable<response> {
        // An empty write proves the storage takes writes: the LMDB write lock and writer thread,
        // or a database connection that commits.
        const auto ec = co_await write(store, [](storage::record_store&) {});
        if (ec) co_return plain(ctx.req, http::status::service_unavailable, "not ready: storage: " + ec.message() + "\n");
        if (const auto why = store.not_ready_reason(); !why.empty()) {
            log::warn("storage.not_ready").add("reason", why);
            co_return plain(ctx.req, http::status::service_unavailable, "not ready: " + why + "\n");
        }
        co_return plain(ctx.req, http::status::ok, "ready\n");
    };
    for (const auto& row : table) {
        if (row.kind == route_kind::healthz) routes.add(row, healthz);
        if (row.kind == route_kind::readyz) routes.add(row, readyz);
    }
}

}  // namespace nidan::server
