#pragma once
// The wall clock in Unix seconds, the unit of every expiry we store. The login steps take it as
// an argument (tests choose the time); their callers and the operator commands read it here.
#include <cstdint>
#include <ctime>

namespace nidan {

inline std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace nidan
