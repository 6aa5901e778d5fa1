#pragma once
// The hash threads may run below the io threads (hash.thread_nice, hash.thread_scheduling), so
// that a saturated pool takes only the CPU the io threads leave.

namespace nidan::server {

struct thread_priority {
    int nice = 0;       // 0..19; 0 leaves the niceness as it is
    bool idle = false;  // Linux SCHED_IDLE: run only when no other thread wants the core
};

// A hash pool thread's first job: names the calling thread nidan-hash and applies `priority`
// (Linux: niceness and policy are per thread); later calls on the same thread do nothing. A
// failure is logged once and the thread keeps its priority: lowering one's own needs no
// privilege, so it fails only in odd sandboxes.
void prepare_hash_thread_once(const thread_priority& priority);

}  // namespace nidan::server
