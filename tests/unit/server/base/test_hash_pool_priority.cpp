#define BOOST_TEST_MODULE hash_pool_priority
#include <boost/test/unit_test.hpp>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "server/base/hash_pool.hpp"

using namespace nidan;
using namespace nidan::server;

namespace {

struct observed {
    int policy = -1;
    int nice = -100;
    std::string name;
};

// What the scheduler says of the thread that ran one job of a pool built with `priority`.
observed job_thread_priority(thread_priority priority) {
    hash_pool pool(1, 4, priority);
    net::io_context io;
    observed seen;
    net::co_spawn(
        io,
        [&]() -> awaitable<void> {
            auto look = [] {
                const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
                errno = 0;
                char name[16] = {};
                ::pthread_getname_np(::pthread_self(), name, sizeof name);
                return observed{::sched_getscheduler(tid), ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid)), name};
            };
            seen = co_await pool.run(look);
        },
        net::detached);
    io.run();
    pool.stop();
    return seen;
}

}  // namespace

BOOST_AUTO_TEST_CASE(idle_scheduling_puts_the_hash_threads_on_sched_idle) {
    const auto seen = job_thread_priority(thread_priority{.nice = 0, .idle = true});
    BOOST_TEST(seen.policy == SCHED_IDLE);
}

BOOST_AUTO_TEST_CASE(a_niceness_lowers_the_hash_threads_only) {
    const int own = ::getpriority(PRIO_PROCESS, 0);
    const auto seen = job_thread_priority(thread_priority{.nice = 7, .idle = false});
    BOOST_TEST(seen.policy == SCHED_OTHER);
    BOOST_TEST(seen.nice == std::max(own, 7));
    // The calling (io) thread keeps its own.
    BOOST_TEST(::getpriority(PRIO_PROCESS, 0) == own);
    BOOST_TEST(::sched_getscheduler(0) == SCHED_OTHER);
}

BOOST_AUTO_TEST_CASE(the_default_leaves_the_hash_threads_as_the_io_threads) {
    const auto seen = job_thread_priority(thread_priority{});
    BOOST_TEST(seen.name == "nidan-hash");
    BOOST_TEST(seen.policy == ::sched_getscheduler(0));
    BOOST_TEST(seen.nice == ::getpriority(PRIO_PROCESS, 0));
}
