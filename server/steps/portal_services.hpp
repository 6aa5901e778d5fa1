#pragma once
// What the login steps of every portal share, for the HTML pages and the JSON API alike: the
// config, the store, the hash pool, the templates, the gate and the counters. Copied into each
// portal's flows; every member outlives them (server/app/server_app.cpp owns them).
#include <atomic>
#include <functional>
#include <string>

#include "core/mail/code_mailer.hpp"
#include "core/config/config.hpp"
#include "core/login/login_metrics.hpp"
#include "core/security/password_hasher.hpp"
#include "core/render/template_store.hpp"
#include "server/base/hash_pool.hpp"
#include "server/steps/shared_attempt_gate.hpp"
#include "server/steps/step_durations.hpp"
#include "storage/backend.hpp"

namespace nidan::server {

struct portal_services {
    const config& cfg;
    storage::backend& store;
    hash_pool& hashes;
    const password_hasher& hasher;
    const template_store& templates;
    const code_mailer& mailer;
    shared_attempt_gate& gate;          // one delayed password check per address and account
    login::login_metrics& outcomes;     // counted per step outcome, for /metrics
    step_durations& durations;          // each step's time, for /metrics
    const std::atomic<bool>& stopping;  // set at shutdown: throttling waits end early
    std::function<void()> mail_queued;  // wakes the delivery loop after a commit
    std::string server_secret;          // from `meta`: MACs of codes, signed tokens
};

}  // namespace nidan::server
