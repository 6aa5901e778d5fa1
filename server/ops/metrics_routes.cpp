#include "server/ops/metrics_routes.hpp"

#include "server/steps/step_outcomes.hpp"

#include "server/base/storage_bridge.hpp"

#include <string>
#include <vector>

#include "core/base/clock.hpp"
#include "core/base/histogram.hpp"
#include "core/login/login_context.hpp"
#include "server/http/error_pages.hpp"

namespace nidan::server {
namespace {

// The HELP and TYPE lines of one metric family.
void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void metric(std::string& out, const char* name, const char* type, const char* help, std::uint64_t value) {
    family(out, name, type, help);
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

std::string_view label(login::password_result r) { return outcome_of(r).metric; }
std::string_view label(login::code_result r) { return outcome_of(r).metric; }
std::string_view label(login::address_result r) { return outcome_of(r).metric; }
std::string_view label(login::address_cancel_result r) { return outcome_of(r).metric; }

// One counter family with a "result" label, every result listed (zeros included), so a graph
// has its series from the start.
template <class Results, class Count>
void labelled(std::string& out, const char* name, const char* help, const Results& results, Count count) {
    family(out, name, "counter", help);
    for (const auto r : results) {
        out += name;
        out += "{result=\"";
        out += label(r);
        out += "\"} ";
        out += std::to_string(count(r));
        out += '\n';
    }
}

// A histogram family without labels: HELP, TYPE, its one series.
void histogram_metric(std::string& out, const char* name, const char* help, const histogram& h) {
    family(out, name, "histogram", help);
    h.append_series(out, name);
}

// The backend's figures; the HELP and TYPE lines once per family, the series of a histogram
// family coming one after the other.
void storage_samples(std::string& out, const std::vector<storage::metric_sample>& samples) {
    const std::string* previous = nullptr;
    for (const auto& sample : samples) {
        if (!previous || *previous != sample.name) family(out, sample.name.c_str(), sample.type.c_str(), sample.help.c_str());
        previous = &sample.name;
        if (sample.type == "histogram") {
            append_histogram_series(out, sample.name, sample.labels, sample.buckets, sample.value);
            continue;
        }
        out += sample.name;
        out += ' ';
        out += std::to_string(static_cast<std::uint64_t>(sample.value));
        out += '\n';
    }
}

}  // namespace

void add_metrics_route(app_state& app, metrics_sources sources) {
    const handler serve = [&app, sources](request_context& ctx) -> awaitable<response> {
        storage::outbox_stats outbox;
        const auto read_ec = co_await read(sources.store, [&outbox](const storage::record_view& v) { outbox = v.outbox_statistics(); });
        if (read_ec) throw std::system_error(read_ec, "storage read");
        const auto now = unix_now();
        const auto& mail = sources.mail;
        std::string body;
        metric(body, "nidan_outbox_queued", "gauge", "Mails waiting for the relay.", outbox.queued);
        metric(body, "nidan_outbox_failed", "gauge", "Mails the relay refused for good or that expired, kept for the operator.", outbox.failed);
        metric(body, "nidan_outbox_oldest_age_seconds", "gauge", "Age of the oldest queued mail.",
               outbox.oldest_created_at ? static_cast<std::uint64_t>(std::max<std::int64_t>(now - outbox.oldest_created_at, 0)) : 0);
        metric(body, "nidan_mail_sent_total", "counter", "Mails the relay accepted.", mail.sent.load());
        metric(body, "nidan_mail_retried_total", "counter", "Delivery attempts that failed transiently.", mail.retried.load());
        metric(body, "nidan_mail_failed_total", "counter", "Mails refused for good or out of attempts.", mail.failed.load());
        metric(body, "nidan_mail_expired_total", "counter", "Code mails dropped because the code expired first.", mail.expired.load());
        metric(body, "nidan_smtp_connections_total", "counter", "Connections opened to the relay.", mail.connections.load());
        metric(body, "nidan_smtp_connection_failures_total", "counter", "Connections to the relay that failed.", mail.connection_failures.load());
        metric(body, "nidan_http_connections_open", "gauge", "Open HTTP connections.", app.connections.open());
        metric(body, "nidan_http_connections_refused_total", "counter", "Connections refused at server.max_connections.",
               app.connections.refused_server_full());
        metric(body, "nidan_http_connections_refused_per_client_total", "counter",
               "Connections refused at server.max_connections_per_client.", app.connections.refused_client_full());
        family(body, "nidan_http_request_duration_seconds", "histogram",
               "Requests from their dispatch to their response made (not written), by the route table's row "
               "(its path; unmatched: 404, 405, 400) and method (HEAD as GET).");
        for (const auto& timed : app.routes.timings())
            timed.timing.append_series(body, "nidan_http_request_duration_seconds", timed.labels);
        storage_samples(body, sources.store.metrics());
        metric(body, "nidan_hash_queue", "gauge", "Password hashes waiting or running.", sources.hashes.pending());
        histogram_metric(body, "nidan_hash_queue_wait_seconds", "Password hashes from their submission to their start on a hash thread.",
                         sources.hashes.queue_wait());
        histogram_metric(body, "nidan_hash_duration_seconds", "Password hashes and verifies on a hash thread (Argon2id).",
                         sources.hashes.durations());
        const auto& logins = sources.logins;
        labelled(body, "nidan_login_password_total", "Password steps by outcome.", login::all_password_results,
                 [&](auto r) { return logins.of(r); });
        labelled(body, "nidan_login_code_total", "Code steps by outcome.", login::all_code_results,
                 [&](auto r) { return logins.of(r); });
        labelled(body, "nidan_login_address_total", "Address-form steps by outcome.", login::all_address_results,
                 [&](auto r) { return logins.of(r); });
        labelled(body, "nidan_address_cancel_total", "Address changes cancelled from the registered address's link.",
                 login::all_address_cancel_results, [&](auto r) { return logins.of(r); });
        sources.steps.append_metrics(body);
        family(body, "nidan_login_refused_total", "counter",
               "Password checks the throttle refused unchecked (429), by reason.");
        for (const auto r : login::all_throttle_refusals) {
            body += "nidan_login_refused_total{reason=\"";
            body += name_of(r);
            body += "\"} ";
            body += std::to_string(logins.of(r));
            body += '\n';
        }
        metric(body, "nidan_login_checks_in_flight", "gauge", "Password checks running now.",
               sources.gate.in_flight(login::failures_per_address));
        metric(body, "nidan_login_delayed_waiting", "gauge", "Throttled password checks waiting out their delay or being checked.",
               sources.gate.served());
        metric(body, "nidan_login_queued", "gauge", "Throttled password checks waiting their address's turn.",
               sources.gate.queued());

        response res{http::status::ok, ctx.req.version()};
        add_common_headers(res);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.set(http::field::cache_control, "no-store");
        res.keep_alive(ctx.req.keep_alive());
        res.body() = std::move(body);
        res.prepare_payload();
        co_return res;
    };
    for (const auto& row : app.route_rows)
        if (row.kind == route_kind::metrics) app.routes.add(row, serve);
}

}  // namespace nidan::server
