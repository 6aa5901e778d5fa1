#include "server/http/response_wire.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/serializer.hpp>

#include <charconv>

namespace nidan::server {
namespace {

bool append_with_beast(const response& res, std::string& out) {
    http::serializer<false, http::string_body> serializer{res};
    beast::error_code ec;
    while (!ec && !serializer.is_done()) {
        serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
            const auto size = net::buffer_size(buffers);
            const auto at = out.size();
            out.resize(at + size);
            net::buffer_copy(net::buffer(out.data() + at, size), buffers);
            serializer.consume(size);
        });
    }
    return !ec;
}

}  // namespace

bool append_response_bytes(const response& res, std::string& out) {
    if (res.chunked()) return append_with_beast(res, out);
    const auto reason = res.reason();
    std::size_t size = 16 + reason.size() + res.body().size();
    for (const auto& field : res) size += field.name_string().size() + field.value().size() + 4;
    out.reserve(out.size() + size);

    out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char code[8];
    const auto [end, ec] = std::to_chars(code, code + sizeof code, res.result_int());
    out.append(code, end);
    out += ' ';
    out += reason;
    out += "\r\n";
    for (const auto& field : res) {
        out += field.name_string();
        out += ": ";
        out += field.value();
        out += "\r\n";
    }
    out += "\r\n";
    out += res.body();
    return true;
}

}  // namespace nidan::server
