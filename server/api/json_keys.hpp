#pragma once
// Whether a JSON text repeats a key inside one object. RFC 8259 leaves the meaning of
// {"code": "1", "code": "2"} to the reader, and Boost.JSON keeps the last one, while a proxy or
// logger in front of us may read the first: the API refuses such bodies instead of guessing, as
// the HTML forms refuse a repeated field.
#include <string_view>

namespace nidan::server {

// False also for text that is not JSON (the caller's parse reports that).
bool has_repeated_keys(std::string_view json_text);

}  // namespace nidan::server
