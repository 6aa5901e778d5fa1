#pragma once
// How long each login step takes, from its call to its outcome (the throttle's wait, the hash
// queue, Argon2id and the storage transaction included), for GET /metrics: where a slow login
// spends its time. One histogram per step, recorded by login_steps for the pages and the API alike.
#include <array>
#include <string>
#include <string_view>

#include "core/base/histogram.hpp"

namespace nidan::server {

enum class timed_step { password, code, address, email_change, password_change, logout, address_cancel, touch };

inline constexpr std::array all_timed_steps{timed_step::password,        timed_step::code,
                                            timed_step::address,         timed_step::email_change,
                                            timed_step::password_change, timed_step::logout,
                                            timed_step::address_cancel,  timed_step::touch};

// The metric's `step` label.
std::string_view name_of(timed_step s);

class step_durations {
public:
    histogram& of(timed_step s) noexcept { return steps_[static_cast<std::size_t>(s)]; }
    const histogram& of(timed_step s) const noexcept { return steps_[static_cast<std::size_t>(s)]; }

    // The family nidan_login_step_duration_seconds, HELP and TYPE included: one series per step.
    void append_metrics(std::string& out) const;

private:
    std::array<histogram, all_timed_steps.size()> steps_;
};

}  // namespace nidan::server
