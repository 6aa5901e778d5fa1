#define BOOST_TEST_MODULE response_wire
#include <boost/test/unit_test.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/serializer.hpp>

#include <string>

#include "server/http/response_wire.hpp"

using namespace nidan::server;

namespace {

// What Beast's own serializer makes of `res`: the reference our bytes must equal.
std::string beast_bytes(const response& res) {
    http::serializer<false, http::string_body> serializer{res};
    std::string out;
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
    BOOST_REQUIRE(!ec);
    return out;
}

std::string our_bytes(const response& res) {
    std::string out;
    BOOST_REQUIRE(append_response_bytes(res, out));
    return out;
}

response page(http::status status, unsigned version, std::string body) {
    response res{status, version};
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.insert(http::field::set_cookie, "a=1; Path=/; HttpOnly");
    res.insert(http::field::set_cookie, "b=2; Path=/; HttpOnly");
    res.set("X-Custom-Header", "value with spaces");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_page_is_the_same_bytes_as_beasts_serializer_makes) {
    const auto res = page(http::status::ok, 11, "<p>こんにちは</p>\n");
    const auto bytes = our_bytes(res);
    BOOST_TEST(bytes == beast_bytes(res));
    BOOST_TEST(bytes.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"));
    BOOST_TEST(bytes.ends_with("\r\n\r\n<p>こんにちは</p>\n"));
}

BOOST_AUTO_TEST_CASE(status_version_reason_and_connection_close_as_beast_writes_them) {
    for (auto status : {http::status::not_found, http::status::see_other, http::status::not_modified,
                        http::status::service_unavailable, http::status::request_header_fields_too_large}) {
        for (unsigned version : {10u, 11u}) {
            // A 304 carries no body (prepare_payload refuses one).
            auto res = page(status, version, status == http::status::not_modified ? "" : "x");
            res.keep_alive(false);
            BOOST_TEST(our_bytes(res) == beast_bytes(res));
        }
    }
    auto custom = page(http::status::ok, 11, "");
    custom.reason("Fine Thanks");
    BOOST_TEST(our_bytes(custom) == beast_bytes(custom));
    BOOST_TEST(our_bytes(custom).starts_with("HTTP/1.1 200 Fine Thanks\r\n"));
}

BOOST_AUTO_TEST_CASE(a_head_answer_keeps_its_length_without_a_body) {
    auto res = page(http::status::ok, 11, "");
    res.content_length(1234);
    const auto bytes = our_bytes(res);
    BOOST_TEST(bytes == beast_bytes(res));
    BOOST_TEST(bytes.find("Content-Length: 1234\r\n") != std::string::npos);
    BOOST_TEST(bytes.ends_with("\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(a_chunked_response_is_chunk_encoded) {
    response res{http::status::ok, 11};
    res.chunked(true);
    res.body() = "hello";
    const auto bytes = our_bytes(res);
    BOOST_TEST(bytes == beast_bytes(res));
    BOOST_TEST(bytes.find("5\r\nhello\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bytes_are_appended_after_what_the_buffer_holds) {
    const auto res = page(http::status::ok, 11, "body");
    std::string out = "previous";
    BOOST_REQUIRE(append_response_bytes(res, out));
    BOOST_TEST(out == "previous" + beast_bytes(res));
}
