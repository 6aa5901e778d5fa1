#pragma once
// Names the calling thread, so that `top -H`, `ps -L` and perf show which of nidan's threads
// takes the CPU (nidan-io-N, nidan-hash, nidan-writer ...). Linux keeps 15 bytes of a name; a
// longer one is cut. The main thread keeps the program's name: killall and systemd read it.
#include <string_view>

namespace nidan {

void name_this_thread(std::string_view name) noexcept;

}  // namespace nidan
