#include "server/steps/step_durations.hpp"

namespace nidan::server {

std::string_view name_of(timed_step s) {
    switch (s) {
    case timed_step::password: return "password";
    case timed_step::code: return "code";
    case timed_step::address: return "address";
    case timed_step::email_change: return "email_change";
    case timed_step::password_change: return "password_change";
    case timed_step::logout: return "logout";
    case timed_step::address_cancel: return "address_cancel";
    case timed_step::touch: return "touch";
    }
    return "unknown";
}

void step_durations::append_metrics(std::string& out) const {
    out += "# HELP nidan_login_step_duration_seconds Login steps from their start to their outcome (throttle delay, "
           "hash queue, Argon2id and storage included), by step.\n"
           "# TYPE nidan_login_step_duration_seconds histogram\n";
    for (const auto s : all_timed_steps)
        of(s).append_series(out, "nidan_login_step_duration_seconds", "step=\"" + std::string(name_of(s)) + "\"");
}

}  // namespace nidan::server
