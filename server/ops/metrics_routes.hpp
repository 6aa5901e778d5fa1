#pragma once
// GET /metrics: counters and gauges for the operator in the Prometheus text format (outbox
// depth and age, mails sent/retried/failed/expired, open connections, queue lengths), and the
// latency histograms: each route's requests, each login step, the hash queue and its hashes.

#include "core/security/attempt_gate.hpp"
#include "core/login/login_metrics.hpp"
#include "server/base/hash_pool.hpp"
#include "server/http/app_state.hpp"
#include "server/smtp/mail_delivery.hpp"
#include "server/steps/step_durations.hpp"
#include "storage/backend.hpp"

namespace nidan::server {

struct metrics_sources {
    storage::backend& store;
    const delivery_metrics& mail;
    const hash_pool& hashes;
    const login::login_metrics& logins;
    const step_durations& steps;
    const login::attempt_gate& gate;
};

void add_metrics_route(app_state& app, metrics_sources sources);

}  // namespace nidan::server
