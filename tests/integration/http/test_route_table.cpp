// The route table (server/http/route_table.hpp) against a real `nidan serve`: every row that
// `nidan routes` prints is served (never 404 or 405), every other method on its path is 405 with
// an Allow header naming exactly the table's methods, and a path outside the table is 404.
#define BOOST_TEST_MODULE route_table
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nidan_test/process.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"

using namespace nidan_test;
using namespace std::chrono_literals;

namespace {

struct row {
    std::string method;
    std::string path;
    bool prefix = false;
};

const std::vector<std::string> settings{"auth.verify_any_portal=true"};

std::vector<row> printed_routes() {
    std::vector<std::string> args{"routes", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                  "server.templates_dir=" + source_dir() + "/templates"};
    for (const auto& s : settings) args.insert(args.end(), {"--set", s});
    const auto result = run_nidan(args, "", 30s);
    BOOST_TEST_REQUIRE(result.exit_code == 0, result.err);
    std::vector<row> rows;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        row r;
        words >> r.method >> r.path;
        if (r.path.ends_with('*')) {
            r.path.pop_back();
            r.prefix = true;
        }
        rows.push_back(r);
    }
    return rows;
}

std::string request_line(const std::string& method, const std::string& path) {
    const bool body = method == "POST" || method == "PUT" || method == "PATCH";
    return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
           (body ? "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n" : "") + "\r\n";
}

std::set<std::string> allow_of(const std::string& header) {
    std::set<std::string> out;
    std::istringstream in(header);
    for (std::string m; std::getline(in, m, ',');) {
        while (!m.empty() && m.front() == ' ') m.erase(m.begin());
        out.insert(m);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_row_is_served_and_nothing_else) {
    const auto rows = printed_routes();
    // Three portals of 18 or 15 rows, the proxies' any-portal row, two languages, static, health, metrics.
    BOOST_TEST_REQUIRE(rows.size() > 50u);
    temp_dir dir;
    server_process server((dir.path() / "data").string(), settings);

    std::map<std::string, std::set<std::string>> methods_of;  // path -> methods in the table
    for (const auto& r : rows) {
        const auto path = r.prefix ? r.path + "style.css" : r.path;
        methods_of[path].insert(r.method);
        const auto reply = request(server.port(), request_line(r.method, path));
        BOOST_TEST_REQUIRE(reply.has_value(), r.method << " " << path);
        BOOST_TEST(reply->status != 404, r.method << " " << path);
        BOOST_TEST(reply->status != 405, r.method << " " << path);
        BOOST_TEST(reply->status < 500, r.method << " " << path << ": " << reply->status);
    }
    for (const auto& [path, methods] : methods_of) {
        auto expected = methods;
        if (expected.contains("GET")) expected.insert("HEAD");
        for (const std::string other : {"PUT", "DELETE", "PATCH", "POST", "GET"}) {
            if (methods.contains(other)) continue;
            const auto reply = request(server.port(), request_line(other, path));
            BOOST_TEST_REQUIRE(reply.has_value());
            BOOST_TEST(reply->status == 405, other << " " << path << ": " << reply->status);
            BOOST_TEST((allow_of(reply->header("allow")) == expected), other << " " << path << ": Allow "
                                                                               << reply->header("allow"));
        }
    }
    for (const std::string stray : {"/", "/portal/ip-phone", "/portal/nosuch/code", "/api/v1/ip-phone/unknown",
                                    "/lang/fr", "/auth/verify/nosuch", "/selfcare/SelfcareLogin.in/x"}) {
        const auto reply = get(server.port(), stray);
        BOOST_TEST_REQUIRE(reply.has_value());
        BOOST_TEST(reply->status == 404, stray << ": " << reply->status);
    }
}

BOOST_AUTO_TEST_CASE(the_table_follows_the_config) {
    std::vector<std::string> args{"routes", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                  "server.templates_dir=" + source_dir() + "/templates"};
    const auto result = run_nidan(args, "", 30s);
    BOOST_TEST_REQUIRE(result.exit_code == 0, result.err);
    // Without auth.verify_any_portal, no /auth/verify of any portal; menu portals have no account forms.
    BOOST_TEST(result.out.find("GET   /auth/verify ") == std::string::npos, result.out);
    BOOST_TEST(result.out.find("/auth/verify/mc050") != std::string::npos);
    BOOST_TEST(result.out.find("/portal/mc050/password") == std::string::npos);
    BOOST_TEST(result.out.find("/portal/ip-phone/password") != std::string::npos);
    BOOST_TEST(result.out.find("/lang/en") != std::string::npos);
    const auto bad = run_nidan({"routes", "--set", "server.listen=nowhere"}, "", 30s);
    BOOST_TEST(bad.exit_code == 2, bad.out << bad.err);
}
