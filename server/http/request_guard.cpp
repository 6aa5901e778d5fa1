#include "server/http/request_guard.hpp"

#include "core/base/text.hpp"

#include <boost/beast/core/string.hpp>

#include <optional>
#include <string>

namespace nidan::server {
namespace {

// A Content-Length value may be a list ("5, 5") when a proxy merged duplicates; every element must
// be the same run of digits.
std::optional<std::string_view> single_length(std::string_view value) {
    std::optional<std::string_view> seen;
    while (true) {
        auto comma = value.find(',');
        auto item = trim_ows(value.substr(0, comma));
        if (item.empty()) return std::nullopt;
        for (char c : item) {
            if (c < '0' || c > '9') return std::nullopt;
        }
        if (seen && *seen != item) return std::nullopt;
        seen = item;
        if (comma == std::string_view::npos) return seen;
        value.remove_prefix(comma + 1);
    }
}

}  // namespace

std::optional<std::string_view> framing_problem(const http::request_header<>& header) {
    int hosts = 0;
    int transfer_encodings = 0;
    std::string_view transfer_encoding;
    std::optional<std::string_view> content_length;
    for (const auto& field : header) {
        switch (field.name()) {
        case http::field::host: ++hosts; break;
        case http::field::transfer_encoding:
            ++transfer_encodings;
            transfer_encoding = trim_ows(field.value());
            break;
        case http::field::content_length: {
            auto length = single_length(field.value());
            if (!length) return "malformed Content-Length";
            if (content_length && *content_length != *length) return "conflicting Content-Length headers";
            content_length = length;
            break;
        }
        default: break;
        }
    }
    if (hosts > 1) return "more than one Host header";
    // HTTP/1.0 clients may omit Host (RFC 9112 section 3.2 requires it from 1.1 on).
    if (hosts == 0 && header.version() >= 11) return "missing Host header";
    if (transfer_encodings > 0) {
        if (content_length) return "Content-Length together with Transfer-Encoding";
        if (transfer_encodings > 1 || !beast::iequals(transfer_encoding, "chunked"))
            return "unsupported Transfer-Encoding (only a single \"chunked\" is accepted)";
        if (header.version() < 11) return "chunked Transfer-Encoding on HTTP/1.0";
    }
    return std::nullopt;
}

}  // namespace nidan::server
