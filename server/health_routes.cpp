#include "server/health_routes.hpp"

#include "core/log.hpp"
#include "server/error_pages.hpp"
#include "server/storage_bridge.hpp"

namespace nidan::server {
namespace {

// Past this share of the map, writes may soon fail with storage_full: stop taking traffic.
constexpr double readiness_map_limit = 0.95;

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

void add_health_routes(router& routes, storage::environment& env, storage::writer& writer) {
    routes.add(http::verb::get, "/healthz", [](request_context& ctx) -> awaitable<response> {
        co_return plain(ctx.req, http::status::ok, "ok\n");
    });

    routes.add(http::verb::get, "/readyz", [&env, &writer](request_context& ctx) -> awaitable<response> {
        // An empty write through the writer proves the environment is open, the write lock can
        // be taken and the writer thread is alive.
        const auto ec = co_await write(writer, [](storage::write_txn&) {});
        if (ec) co_return plain(ctx.req, http::status::service_unavailable, "not ready: storage: " + ec.message() + "\n");
        const auto usage = env.stats();
        const double used = usage.map_bytes ? static_cast<double>(usage.used_bytes) / static_cast<double>(usage.map_bytes) : 1.0;
        if (used > readiness_map_limit) {
            log::warn("storage.nearly_full").add("used_fraction", used).add("hint", "raise storage.map_size_mib");
            co_return plain(ctx.req, http::status::service_unavailable,
                            "not ready: storage map nearly full (raise storage.map_size_mib)\n");
        }
        co_return plain(ctx.req, http::status::ok, "ready\n");
    });
}

}  // namespace nidan::server
