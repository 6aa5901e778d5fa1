#pragma once
// The hash threads run niced (hash.thread_nice), so that a saturated pool takes only the CPU the
// io threads leave.

namespace nidan::server {

// Sets the calling thread's niceness (Linux: per thread) once; later calls on the same thread
// do nothing. A failure is logged once and the thread keeps its priority: raising one's own
// niceness needs no privilege, so it fails only in odd sandboxes.
void nice_this_thread_once(int nice);

}  // namespace nidan::server
