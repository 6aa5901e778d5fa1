#pragma once
// Method + path to handler. Tells an unknown path (404) from a known path with another method
// (405 + Allow). GET routes answer HEAD too.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "server/base/http_types.hpp"
#include "server/http/route_table.hpp"

namespace nidan::server {

struct request_context {
    const request& req;
    std::string_view path;   // target without the query
    std::string_view query;  // after '?', may be empty
    net::ip::address client;
    // The language the answer is in (server/http/request_language.hpp), decided once by dispatch
    // when the route is known, since the route has the default.
    std::string language;
};

using handler = std::function<awaitable<response>(request_context&)>;

class router {
public:
    // A row of the route table (server/http/route_table.hpp) and its handler: how every route
    // gets here.
    void add(const route_row& row, handler h);
    // Rows added so far: the app checks that each row of the table got its handler.
    std::size_t rows_added() const { return rows_added_; }

    struct match {
        const handler* target = nullptr;     // null: see allow
        std::string_view default_language;   // the row's, with a target
        std::string allow;                   // non-empty with a null target: 405
    };
    match find(http::verb method, std::string_view path) const;

private:
    struct route {
        handler target;
        std::string default_language;
    };
    using methods = std::map<http::verb, route>;
    const methods* lookup(std::string_view path) const;

    std::map<std::string, methods, std::less<>> exact_;
    std::vector<std::pair<std::string, methods>> prefixes_;
    std::size_t rows_added_ = 0;
};

}  // namespace nidan::server
