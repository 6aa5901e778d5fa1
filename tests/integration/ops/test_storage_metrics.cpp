// The histograms of /metrics against the real `nidan serve`, well formed as Prometheus reads them
// (cumulative buckets in rising order, +Inf last and equal to _count) and counting what requests
// make. The latency ones after a login through the pages: the routes' (by the route table's row,
// never the request's path), the login steps', the hash queue's and, on LMDB, the writer's batch
// sizes. On PostgreSQL (the integration_pg entry): the round-trip histograms of the pool,
// nidan_storage_db_seconds and nidan_storage_queue_wait_seconds, one series per kind of job; on
// LMDB, which has no pool and no round trips, neither family is there.
#define BOOST_TEST_MODULE storage_metrics
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api_client.hpp"
#include "portal_client.hpp"
#include "nidan_test/login_world.hpp"
#include "nidan_test/postgres_server.hpp"
#include "nidan_test/raw_http.hpp"

using namespace nidan_test;

namespace {

const std::vector<world_account> accounts{{"ip-phone", "taro", "taro@example.jp", "09012345678"},
                                          {"ip-phone", "hanako", "hanako@example.jp", "09012345679"},
                                          {"mc050", "jiro", "jiro@example.jp", "05011112222"}};

struct series {
    std::vector<std::pair<std::string, std::uint64_t>> buckets;  // le as written, count; in body order
    std::optional<double> sum;
    std::optional<std::uint64_t> count;
};

// The series of histogram `family` in a Prometheus text body, by their labels other than le
// (`kind="read"`; "" for a family without labels).
std::map<std::string, series> series_of(const std::string& body, const std::string& family) {
    std::map<std::string, series> out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(family + "_")) continue;
        const auto space = line.rfind(' ');
        BOOST_TEST_REQUIRE(space != std::string::npos, line);
        const auto brace = line.find('{');
        const auto name_end = std::min(brace, space);
        const auto suffix = line.substr(family.size() + 1, name_end - family.size() - 1);
        std::string labels;
        if (brace != std::string::npos) {
            BOOST_TEST_REQUIRE(line[space - 1] == '}', line);
            labels = line.substr(brace + 1, space - 1 - brace - 1);
        }
        const auto value = line.substr(space + 1);
        std::string le;
        if (const auto le_at = labels.find("le=\""); le_at != std::string::npos) {
            BOOST_TEST_REQUIRE(labels.ends_with("\""), line);
            le = labels.substr(le_at + 4, labels.size() - le_at - 5);
            labels = labels.substr(0, le_at == 0 ? 0 : le_at - 1);
        }
        auto& s = out[labels];
        if (suffix == "bucket") {
            BOOST_TEST_REQUIRE(!le.empty(), line);
            s.buckets.emplace_back(le, std::stoull(value));
        } else if (suffix == "sum") {
            s.sum = std::stod(value);
        } else if (suffix == "count") {
            s.count = std::stoull(value);
        } else {
            BOOST_FAIL("unexpected sample " << line);
        }
    }
    return out;
}

// Checks what Prometheus requires of every series of the family, HELP and TYPE once; returns
// each series' _count by its labels.
std::map<std::string, std::uint64_t> histogram_counts(const std::string& body, const std::string& family) {
    BOOST_TEST(count_of(body, "# TYPE " + family + " histogram\n") == 1u, family);
    BOOST_TEST(count_of(body, "# HELP " + family + " ") == 1u, family);
    std::map<std::string, std::uint64_t> counts;
    for (const auto& [labels, s] : series_of(body, family)) {
        BOOST_TEST_CONTEXT(family << "{" << labels << "}") {
            BOOST_TEST_REQUIRE(s.buckets.size() >= 2u);
            BOOST_TEST(s.buckets.back().first == "+Inf");
            double previous_le = -1;
            std::uint64_t previous_count = 0;
            for (std::size_t i = 0; i + 1 < s.buckets.size(); ++i) {
                const auto le = std::stod(s.buckets[i].first);
                BOOST_TEST(le > previous_le, s.buckets[i].first);
                BOOST_TEST(s.buckets[i].second >= previous_count, s.buckets[i].first);
                previous_le = le;
                previous_count = s.buckets[i].second;
            }
            BOOST_TEST(s.buckets.back().second >= previous_count);
            BOOST_TEST_REQUIRE(s.count.has_value());
            BOOST_TEST_REQUIRE(s.sum.has_value());
            BOOST_TEST(*s.count == s.buckets.back().second);
            BOOST_TEST(*s.sum >= 0.0);
            BOOST_TEST(std::isfinite(*s.sum));
            counts[labels] = *s.count;
        }
    }
    return counts;
}

// The storage histograms: one series per kind of job, read and write, each of which has summed
// some time once it counted a job.
std::map<std::string, std::uint64_t> checked_counts(const std::string& body, const std::string& family) {
    const auto all = histogram_counts(body, family);
    BOOST_TEST(all.size() == 2u, family);
    std::map<std::string, std::uint64_t> counts;
    for (const char* kind : {"read", "write"}) {
        BOOST_TEST_CONTEXT(family << " kind=" << kind) {
            const auto found = all.find("kind=\"" + std::string(kind) + "\"");
            BOOST_TEST_REQUIRE((found != all.end()));
            counts[kind] = found->second;
        }
    }
    for (const auto& [labels, s] : series_of(body, family))
        if (*s.count > 0) BOOST_TEST(*s.sum > 0.0, family << "{" << labels << "}");
    return counts;
}

std::string metrics_body(unsigned short port) {
    const auto reply = get(port, "/metrics");
    BOOST_TEST_REQUIRE(reply.has_value());
    BOOST_TEST_REQUIRE(reply->status == 200);
    return reply->body;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_round_trip_histograms_count_every_job_on_postgres) {
    login_world w(accounts);
    const auto before = metrics_body(w.port());
    if (!postgres_backend_selected()) {
        BOOST_TEST(before.find("nidan_storage_db_seconds") == std::string::npos);
        BOOST_TEST(before.find("nidan_storage_queue_wait_seconds") == std::string::npos);
        return;
    }
    const auto db_before = checked_counts(before, "nidan_storage_db_seconds");
    const auto wait_before = checked_counts(before, "nidan_storage_queue_wait_seconds");

    // Each password step writes (its session, code and mail) in at least one transaction; each
    // /metrics reads the outbox's figures in one.
    for (const auto& a : accounts) {
        const auto reply = call(w.port(), "POST", "/api/v1/" + a.portal + "/login", login_body(a.id, account_password));
        BOOST_TEST_REQUIRE(reply.status == 200, reply.raw.body);
    }
    constexpr std::uint64_t reads = 4;
    for (std::uint64_t i = 0; i < reads; ++i) (void)metrics_body(w.port());

    const auto after = metrics_body(w.port());
    const auto db_after = checked_counts(after, "nidan_storage_db_seconds");
    const auto wait_after = checked_counts(after, "nidan_storage_queue_wait_seconds");
    // `before` was rendered after its own read had been counted, so the reads counted since are
    // at least those of the four /metrics between and the last one.
    BOOST_TEST(db_after.at("write") >= db_before.at("write") + accounts.size());
    BOOST_TEST(db_after.at("read") >= db_before.at("read") + reads + 1);
    // Every job waits in the queue once, however briefly.
    BOOST_TEST(wait_after.at("write") >= wait_before.at("write") + accounts.size());
    BOOST_TEST(wait_after.at("read") >= wait_before.at("read") + reads + 1);
    BOOST_TEST(metric_value(after, "nidan_storage_errors_total") == 0);
}

BOOST_AUTO_TEST_CASE(a_login_through_the_pages_shows_in_the_latency_histograms) {
    login_world w(accounts);
    const portal_account taro{"ip-phone", "/selfcare/SelfcareLogin.in", "taro", "taro@example.jp",
                              "09012345678", "*******5678", false};
    const auto before = metrics_body(w.port());
    const std::string login_get = "route=\"/selfcare/SelfcareLogin.in\",method=\"GET\"";
    const std::string login_post = "route=\"/selfcare/SelfcareLogin.in\",method=\"POST\"";
    const std::string code_post = "route=\"/portal/ip-phone/code\",method=\"POST\"";
    // Every series is there from the start, at zero.
    const auto routes_before = histogram_counts(before, "nidan_http_request_duration_seconds");
    for (const auto& labels : {login_get, login_post, code_post}) {
        BOOST_TEST_REQUIRE(routes_before.count(labels) == 1u, labels);
        BOOST_TEST(routes_before.at(labels) == 0u, labels);
    }

    browser b(w.port());
    log_in(w, b, taro);  // the login page, its POST, the code page, the code's POST
    BOOST_TEST_REQUIRE(get(w.port(), "/static/style.css")->status == 200);
    BOOST_TEST_REQUIRE(get(w.port(), "/static/no-such-file.css")->status == 404);
    BOOST_TEST_REQUIRE(get(w.port(), "/no/such/route")->status == 404);

    const auto after = metrics_body(w.port());
    const auto routes = histogram_counts(after, "nidan_http_request_duration_seconds");
    BOOST_TEST(routes.at(login_get) == 1u);
    BOOST_TEST(routes.at(login_post) == 1u);
    BOOST_TEST(routes.at(code_post) == 1u);
    BOOST_TEST(routes.at("route=\"/portal/ip-phone/code\",method=\"GET\"") == 1u);
    // Both static requests in the prefix row's one series, the stray path in unmatched's: the
    // request's own path is never a label.
    BOOST_TEST(routes.at("route=\"/static/\",method=\"GET\"") == 2u);
    BOOST_TEST(routes.at("route=\"unmatched\",method=\"GET\"") == 1u);
    BOOST_TEST(after.find("style.css") == std::string::npos);
    BOOST_TEST(after.find("/no/such/route") == std::string::npos);
    BOOST_TEST(routes.size() == routes_before.size());
    // The /metrics before this one.
    BOOST_TEST(routes.at("route=\"/metrics\",method=\"GET\"") >= 1u);

    const auto steps = histogram_counts(after, "nidan_login_step_duration_seconds");
    BOOST_TEST(steps.at("step=\"password\"") == 1u);
    BOOST_TEST(steps.at("step=\"code\"") == 1u);
    BOOST_TEST(steps.at("step=\"address\"") == 0u);
    // The password step waits for its hash: it took at least as long as the hash's wait and run.
    const auto step_series = series_of(after, "nidan_login_step_duration_seconds");
    const auto hash_run = series_of(after, "nidan_hash_duration_seconds").at("");
    const auto hash_wait = series_of(after, "nidan_hash_queue_wait_seconds").at("");
    BOOST_TEST(*step_series.at("step=\"password\"").sum >= *hash_run.sum);
    BOOST_TEST(*hash_run.sum > 0.0);

    // One verify at least (a rehash would make it two).
    BOOST_TEST(histogram_counts(after, "nidan_hash_queue_wait_seconds").at("") >= 1u);
    BOOST_TEST(histogram_counts(after, "nidan_hash_duration_seconds").at("") >= 1u);
    BOOST_TEST(*hash_wait.count == *hash_run.count);

    if (postgres_backend_selected()) {
        // One transaction per job: there is no group commit to measure.
        BOOST_TEST(after.find("nidan_storage_write_batch_size") == std::string::npos);
        return;
    }
    const auto batches = histogram_counts(after, "nidan_storage_write_batch_size");
    const auto batch_before = histogram_counts(before, "nidan_storage_write_batch_size").at("");
    // The password step's and the code step's writes, in one commit each or grouped.
    BOOST_TEST(batches.at("") >= batch_before + 1);
    const auto batch_series = series_of(after, "nidan_storage_write_batch_size").at("");
    BOOST_TEST(batch_series.buckets.front().first == "1");
    BOOST_TEST(*batch_series.sum >= 2.0);
}
