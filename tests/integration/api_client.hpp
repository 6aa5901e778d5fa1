#pragma once
// A JSON API client for the integration tests: one request per fresh loopback connection, the
// reply's JSON body parsed, and the request bodies of the login's two steps.
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nidan_test/raw_http.hpp"

namespace nidan_test {

struct api_reply {
    int status = 0;
    boost::json::value body;  // null when the body is empty or not JSON
    http_reply raw;
    std::string error() const {
        const auto* o = body.if_object();
        const auto* e = o ? o->if_contains("error") : nullptr;
        return e && e->is_string() ? std::string(e->get_string()) : std::string();
    }
    std::string text(const char* name) const {
        const auto* o = body.if_object();
        const auto* e = o ? o->if_contains(name) : nullptr;
        return e && e->is_string() ? std::string(e->get_string()) : std::string();
    }
    std::int64_t number(const char* name) const {
        const auto* o = body.if_object();
        const auto* e = o ? o->if_contains(name) : nullptr;
        return e && e->is_number() ? e->to_number<std::int64_t>() : -1;
    }
};

inline api_reply call(unsigned short port, const std::string& method, const std::string& path, const std::string& body,
                      const std::string& token = "", const std::string& content_type = "application/json",
                      const std::vector<std::pair<std::string, std::string>>& extra_headers = {}) {
    std::string bytes = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!token.empty()) bytes += "Authorization: Bearer " + token + "\r\n";
    for (const auto& [name, value] : extra_headers) bytes += name + ": " + value + "\r\n";
    if (method != "GET") {
        if (!content_type.empty()) bytes += "Content-Type: " + content_type + "\r\n";
        bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    bytes += "\r\n" + body;
    const auto reply = request(port, bytes);
    BOOST_TEST_REQUIRE(reply.has_value(), method << " " << path << ": no reply");
    api_reply out;
    out.status = reply->status;
    out.raw = *reply;
    if (!reply->body.empty()) {
        boost::json::error_code ec;
        auto parsed = boost::json::parse(reply->body, ec);
        if (!ec) out.body = std::move(parsed);
    }
    return out;
}

inline std::string login_body(const std::string& id, const std::string& pw, const std::string& device_token = "") {
    boost::json::object o;
    o["selfcare_id"] = id;
    o["password"] = pw;
    if (!device_token.empty()) o["device_token"] = device_token;
    return boost::json::serialize(o);
}

inline std::string code_body(const std::string& code) {
    boost::json::object o;
    o["code"] = code;
    return boost::json::serialize(o);
}

}  // namespace nidan_test
