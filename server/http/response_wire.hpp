#pragma once
// A response as the bytes that go on the wire, written into one buffer. Beast's serializer
// hands out its pieces as nested buffer sequences, and walking them cost about 6 % of the
// server's CPU on small pages (perf, login page under wrk). Our responses carry their length
// (prepare_payload or content_length), so their bytes are simply status line, fields, blank
// line, body.
#include <string>

#include "server/base/http_types.hpp"

namespace nidan::server {

// Appends `res` to `out`. A chunked response falls back to Beast's serializer, which encodes
// the chunks; false only if that serializer fails.
bool append_response_bytes(const response& res, std::string& out);

}  // namespace nidan::server
