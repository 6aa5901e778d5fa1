#pragma once
// Method + path to handler. Tells an unknown path (404) from a known path with another method
// (405 + Allow). GET routes answer HEAD too.
//
// Each row also gets its latency histogram here, made when the row is added (and one per method
// for the requests no row takes): a request finds its histogram with its route, so timing it costs
// no lookup of its own. /metrics reads them all through timings().
#include <array>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "core/base/histogram.hpp"
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
    router();

    // A row of the route table (server/http/route_table.hpp) and its handler: how every route
    // gets here.
    void add(const route_row& row, handler h);
    // Rows added so far: the app checks that each row of the table got its handler.
    std::size_t rows_added() const { return rows_added_; }

    struct match {
        const handler* target = nullptr;     // null: see allow
        std::string_view default_language;   // the row's, with a target
        std::string allow;                   // non-empty with a null target: 405
        // Where the request's time goes: its row's (a HEAD request is its GET row's), or the
        // unmatched one of its method (404, 405). Never null.
        histogram* timing = nullptr;
    };
    match find(http::verb method, std::string_view path) const;
    // For a request refused before routing (a target that is not a path).
    histogram& unmatched(http::verb method) const;

    // One latency series: its labels (`route="/healthz",method="GET"`) and histogram.
    struct timed_route {
        std::string labels;
        histogram timing;
        explicit timed_route(std::string l) : labels(std::move(l)) {}
    };
    // The unmatched series, then every row's in the order added. Filled at startup only, before
    // any request.
    const std::deque<timed_route>& timings() const { return timings_; }

private:
    struct route {
        handler target;
        std::string default_language;
        histogram* timing = nullptr;
    };
    route make_route(const route_row& row, handler h);
    using methods = std::map<http::verb, route>;
    const methods* lookup(std::string_view path) const;

    std::map<std::string, methods, std::less<>> exact_;
    std::vector<std::pair<std::string, methods>> prefixes_;
    std::size_t rows_added_ = 0;
    // A deque: its elements stay put as rows are added, so the routes' pointers stay valid.
    std::deque<timed_route> timings_;
    // 404, 405 and 400: by method, GET (HEAD too, as for the rows), POST and any other.
    std::array<histogram*, 3> unmatched_{};
};

}  // namespace nidan::server
