#pragma once
// The hash threads may run below the io threads (hash.thread_nice, hash.thread_scheduling), so
// that a saturated pool takes only the CPU the io threads leave.

namespace nidan::server {

struct thread_priority {
    int nice = 0;       // 0..19; 0 leaves the niceness as it is
    bool idle = false;  // Linux SCHED_IDLE: run only when no other thread wants the core
    bool lowered() const { return nice > 0 || idle; }
};

// Applies `priority` to the calling thread once (Linux: niceness and policy are per thread);
// later calls on the same thread do nothing. A failure is logged once and the thread keeps its
// priority: lowering one's own needs no privilege, so it fails only in odd sandboxes.
void lower_this_thread_once(const thread_priority& priority);

// A hash pool thread's first job: names it nidan-hash and applies `priority`, once.
void name_and_lower_this_thread_once(const thread_priority& priority);

}  // namespace nidan::server
