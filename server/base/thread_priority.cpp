#include "server/base/thread_priority.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.hpp"
#include "core/base/thread_name.hpp"

namespace nidan::server {

void prepare_hash_thread_once(const thread_priority& priority) {
    thread_local bool done = false;
    if (done) return;
    done = true;
    name_this_thread("nidan-hash");
    const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
    if (priority.idle) {
        // SCHED_IDLE ignores niceness; its one parameter, the static priority, must be 0.
        const sched_param param{};
        if (::sched_setscheduler(tid, SCHED_IDLE, &param) != 0)
            log::warn("hash.scheduling_failed").add("policy", "idle").add("error", std::strerror(errno));
        return;
    }
    if (priority.nice > 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), priority.nice) != 0)
        log::warn("hash.nice_failed").add("nice", static_cast<std::int64_t>(priority.nice)).add("error", std::strerror(errno));
}

}  // namespace nidan::server
