#include "server/app/server_app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "core/base/clock.hpp"
#include "core/base/log.hpp"
#include "core/base/thread_name.hpp"
#include "core/mail/sealed_mail.hpp"
#include "core/render/template_store.hpp"
#include "server/http/app_state.hpp"
#include "server/app/file_modes.hpp"
#include "server/base/hash_pool.hpp"
#include "server/ops/health_routes.hpp"
#include "server/http/listener.hpp"
#include "server/smtp/mail_delivery.hpp"
#include "server/ops/metrics_routes.hpp"
#include "server/api/api_routes.hpp"
#include "server/web/portal_routes.hpp"
#include "server/app/secret_file.hpp"
#include "server/http/static_files.hpp"
#include "server/base/storage_bridge.hpp"
#include "storage/open/open_backend.hpp"
#include "server/base/awaitables.hpp"

namespace nidan::server {
namespace {

// Every configured portal's texts are in the default language's catalog (the others have the
// same keys, message_catalogs checks that), and its language, if it names one, is a catalog's:
// a portal added to the config without its texts stops the start, naming the key to add.
void check_portal_texts(const config& cfg, const template_store& templates) {
    const auto& reference = templates.default_language();
    const auto require = [&](const std::string& key) {
        if (!templates.has_text(reference, key))
            throw config_error(key, "missing in the language catalog templates/lang/" + reference +
                                        ".toml (every [[portal]] needs its texts there)");
    };
    for (const auto& portal : cfg.portals) {
        const auto base = "portal." + portal.id + ".";
        for (const auto* field : {"name", "title", "address_link_text", "code_screen_note"}) require(base + field);
        for (const auto& item : portal.menu) require(base + "menu." + item.id);
        if (!portal.language.empty() && !templates.has_language(portal.language))
            throw config_error("portal." + portal.id + ".language",
                               "no catalog templates/lang/" + portal.language + ".toml");
    }
    if (!templates.has_language(cfg.operator_info.language))
        throw config_error("operator.language", "no catalog templates/lang/" + cfg.operator_info.language + ".toml");
}
// Bounds one sweep's write transaction so it never holds the writer for long.
constexpr std::size_t sweep_batch = 10000;

std::unique_ptr<net::ssl::context> make_tls_context(const tls_config& c) {
    if (!c.enabled) return nullptr;
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    beast::error_code ec;
    ctx->use_certificate_chain_file(c.cert_file.string(), ec);
    if (ec) throw config_error("tls.cert_file", "cannot load " + c.cert_file.string() + ": " + ec.message());
    ctx->use_private_key_file(c.key_file.string(), net::ssl::context::pem, ec);
    if (ec) throw config_error("tls.key_file", "cannot load " + c.key_file.string() + ": " + ec.message());
    return ctx;
}

tcp::endpoint resolve_listen(const host_port& listen) {
    beast::error_code ec;
    auto host = listen.host == "localhost" ? std::string("127.0.0.1") : listen.host;
    auto address = net::ip::make_address(host, ec);
    if (ec) throw config_error("server.listen", "not an IP address: " + listen.host);
    return {address, listen.port};
}

std::vector<std::unique_ptr<net::io_context>> make_io_contexts(unsigned count) {
    std::vector<std::unique_ptr<net::io_context>> contexts;
    for (unsigned i = 0; i < std::max(count, 1u); ++i) contexts.push_back(std::make_unique<net::io_context>(1));
    return contexts;
}

// How long a shared attempt gate's entry counts unless its node renews or releases it: a
// check's longest delay, with a minute for its read, its place in the hash queue and its hash.
std::chrono::milliseconds gate_entry_life(const throttle_config& t) {
    return std::max(t.address_max_delay, t.account_max_delay) + std::chrono::minutes(1);
}

}  // namespace

struct server_app::parts {
    config cfg;
    std::unique_ptr<storage::backend> store;
    template_store templates;
    error_pages errors;
    static_files statics;
    hash_pool hashes;
    std::unique_ptr<net::ssl::context> tls;
    app_state state;
    // Declared after everything a coroutine frame may refer to: the io_context destroys
    // pending frames first.
    password_hasher hasher;
    code_mailer mailer;
    login::attempt_gate gate;
    shared_attempt_gate nodes_gate;
    login::login_metrics outcomes;
    step_durations durations;
    std::unique_ptr<portal_site> portals;
    std::unique_ptr<api_site> api;
    // One io_context per io thread, each run by exactly one thread: a connection lives on one of
    // them for its whole life, so its handlers need no strand and the threads share no reactor
    // lock. io_contexts[0] also runs the acceptor, the mail delivery, the sweep and the signals.
    std::vector<std::unique_ptr<net::io_context>> io_contexts;
    net::io_context& ioc;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
    mail_delivery delivery;
    tcp::acceptor acceptor;
    net::signal_set signals;
    net::steady_timer sweep_timer;

    explicit parts(config c)
        : cfg(std::move(c)),
          store(storage::open_backend(cfg.storage)),
          templates(cfg.server.templates_dir, cfg.operator_info.language),
          errors(templates),
          statics(cfg.server.static_dir, cfg.server.static_max_age),
          hashes(cfg.hash.threads, cfg.hash.max_queue,
                 thread_priority{.nice = cfg.hash.thread_nice, .idle = cfg.hash.scheduling == hash_scheduling::idle}),
          tls(make_tls_context(cfg.tls)),
          state(cfg, errors, templates.languages()),
          hasher(hash_params{cfg.hash.memory_kib, cfg.hash.iterations}, cfg.hash.max_cost_factor),
          mailer(cfg, templates),
          nodes_gate(gate, *store, gate_entry_life(cfg.throttle)),
          io_contexts(make_io_contexts(cfg.server.io_threads)),
          ioc(*io_contexts.front()),
          delivery(ioc, cfg, *store),
          acceptor(ioc),
          signals(ioc, SIGINT, SIGTERM),
          sweep_timer(ioc) {
        check_portal_texts(cfg, templates);
        warn_exposed_files(cfg);
        add_health_routes(state.routes, state.route_rows, *store);
        add_metrics_route(state, {*store, delivery.metrics(), hashes, outcomes, durations, gate});
        // The dummy hash for unknown IDs is made now, so the first such login is not slower.
        hasher.verify_dummy("");
        auto secret = load_server_secret();
        delivery.set_outbox_key(mail::outbox_key(secret));
        const portal_services services{cfg,       *store,     hashes,         hasher,
                                       templates, mailer,     nodes_gate,     outcomes,
                                       durations, state.stopping, [this] { delivery.notify(); }, std::move(secret)};
        portals = std::make_unique<portal_site>(state, services);
        api = std::make_unique<api_site>(state, services);
        for (const auto& row : state.route_rows)
            if (row.kind == route_kind::static_files)
                state.routes.add(row, [this](request_context& ctx) -> awaitable<response> {
                    if (auto res = statics.serve(ctx.req, ctx.path)) co_return std::move(*res);
                    // Static rows get no language in dispatch (the hit needs none); the miss's page does.
                    co_return errors.make(http::status::not_found, ctx.req.version(), ctx.req.keep_alive(), {},
                                          state.language_of(ctx.req, cfg.operator_info.language));
                });
        // Each row of the table has its handler, or the table and the code have drifted apart.
        if (state.routes.rows_added() != state.route_rows.size())
            throw std::logic_error("route table: " + std::to_string(state.route_rows.size()) + " rows, " +
                                   std::to_string(state.routes.rows_added()) + " bound");        bind();
    }

    // Created on first start; keys the code MACs and the signed form tokens. With
    // storage.secret_file it lives only in that file: one already in LMDB moves there (issued
    // tokens stay valid) and is erased from LMDB once the file holds it.
    std::string load_server_secret() {
        constexpr std::size_t bytes = 32;
        std::string secret;
        if (cfg.storage.secret_file.empty()) {
            storage::write_now(*store, [&secret](storage::record_store& s) {
                secret = s.get_or_create_secret(storage::server_secret_name, bytes);
            });
            return secret;
        }
        std::optional<std::string> stored;
        storage::write_now(*store, [&](storage::record_store& s) {
            stored = s.get_secret(storage::server_secret_name);
            secret = load_secret_file(cfg.storage.secret_file, bytes, stored);
            if (stored) s.erase_secret(storage::server_secret_name);
        });
        if (stored)
            log::info("secret.moved_out_of_storage").add("file", cfg.storage.secret_file.string())
                .add("tokens_kept", *stored == secret ? "yes" : "no");
        return secret;
    }

    void bind() {
        const auto endpoint = resolve_listen(cfg.server.listen);
        beast::error_code ec;
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) acceptor.bind(endpoint, ec);
        if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec) throw config_error("server.listen", "cannot listen on " + cfg.server.listen.to_string() + ": " + ec.message());
    }

    awaitable<void> sweep_loop() {
        for (;;) {
            sweep_timer.expires_after(cfg.storage.sweep_interval);
            auto [ec] = co_await sweep_timer.async_wait(use_tuple);
            if (ec || state.stopping) co_return;
            std::size_t removed = 0;
            const auto now = unix_now();
            auto write_ec = co_await write(*store, [&removed, now](storage::record_store& s) {
                removed = s.sweep_expired(now, sweep_batch);
            });
            if (write_ec) log::warn("storage.sweep_failed").add("error", write_ec.message());
            else if (removed) log::info("storage.swept").add("removed", static_cast<std::uint64_t>(removed));
        }
    }

    awaitable<void> shutdown_on_signal() {
        auto [ec, signal] = co_await signals.async_wait(use_tuple);
        if (ec) co_return;
        log::info("server.stopping").add("signal", signal).add("open_connections", static_cast<std::uint64_t>(state.connections.open()));
        state.stopping = true;
        beast::error_code ignored;
        acceptor.close(ignored);
        sweep_timer.cancel();
        delivery.stop();
        state.connections.close_idle();

        net::steady_timer poll(ioc);
        const auto deadline = std::chrono::steady_clock::now() + cfg.server.shutdown_grace;
        while (state.connections.open() > 0 && std::chrono::steady_clock::now() < deadline) {
            poll.expires_after(std::chrono::milliseconds(10));
            co_await poll.async_wait(use_tuple);
        }
        if (auto left = state.connections.open(); left > 0) {
            log::warn("server.shutdown_grace_expired").add("cancelled_connections", static_cast<std::uint64_t>(left))
                .add("hint", "raise server.shutdown_grace_ms");
            state.connections.close_all();
        }
        keep_running.clear();
        for (auto& context : io_contexts) context->stop();
    }

    // The next io_context for a new connection, in turn.
    net::any_io_executor next_connection_executor() {
        const auto i = next_context.fetch_add(1, std::memory_order_relaxed) % io_contexts.size();
        return io_contexts[i]->get_executor();
    }
    std::atomic<std::size_t> next_context{0};

    std::string listening_url() const {
        const auto ep = acceptor.local_endpoint();
        const auto host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
        return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(ep.port());
    }
};

server_app::server_app(config cfg) : parts_(std::make_unique<parts>(std::move(cfg))) {}

server_app::~server_app() = default;

int server_app::run() {
    auto& p = *parts_;
    for (auto& context : p.io_contexts) p.keep_running.push_back(net::make_work_guard(*context));
    net::co_spawn(p.ioc, accept_connections(p.acceptor, p.state, p.tls.get(), [&p] { return p.next_connection_executor(); }),
                  net::detached);
    net::co_spawn(p.ioc, p.sweep_loop(), net::detached);
    net::co_spawn(p.ioc, p.shutdown_on_signal(), net::detached);
    p.delivery.start();
    // Another node's queued mail (PostgreSQL's NOTIFY): looked at now, not at the next poll.
    // Set here, once nothing can fail before run() stops the store.
    p.store->on_mail_queued([&p] { p.delivery.notify(); });

    const auto url = p.listening_url();
    log::info("server.started").add("url", url).add("io_threads", p.cfg.server.io_threads)
        .add("hash_threads", p.cfg.hash.threads).add("data_dir", p.cfg.storage.data_dir.string());
    std::cout << "listening on " << url << std::endl;

    std::vector<std::thread> threads;
    // This (main) thread runs io context 0 and keeps the program's name.
    for (std::size_t i = 1; i < p.io_contexts.size(); ++i)
        threads.emplace_back([i, &context = *p.io_contexts[i]] {
            name_this_thread("nidan-io-" + std::to_string(i));
            context.run();
        });
    p.ioc.run();
    for (auto& t : threads) t.join();

    p.hashes.stop();
    p.store->stop();
    log::info("server.stopped");
    log::flush();
    return 0;
}

}  // namespace nidan::server
