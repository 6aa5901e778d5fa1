#include "server/base/thread_priority.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.hpp"

namespace nidan::server {

void nice_this_thread_once(int nice) {
    thread_local bool done = false;
    if (done) return;
    done = true;
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    if (::setpriority(PRIO_PROCESS, tid, nice) != 0)
        log::warn("hash.nice_failed").add("nice", static_cast<std::int64_t>(nice)).add("error", std::strerror(errno));
}

}  // namespace nidan::server
