// The storage figures of /metrics against the real `nidan serve`. On PostgreSQL (the
// integration_pg entry): the round-trip histograms of the pool, nidan_storage_db_seconds and
// nidan_storage_queue_wait_seconds, one series per kind of job, well formed as Prometheus reads
// them (cumulative buckets in rising order, +Inf last and equal to _count) and counting the jobs
// that requests make. On LMDB, which has no pool and no round trips, neither family is there.
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

// The series of histogram `family` in a Prometheus text body, by their `kind` label.
std::map<std::string, series> histogram_of(const std::string& body, const std::string& family) {
    std::map<std::string, series> out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(family + "_")) continue;
        const auto brace = line.find('{');
        const auto close = line.find("} ");
        BOOST_TEST_REQUIRE((brace != std::string::npos && close != std::string::npos), line);
        const auto suffix = line.substr(family.size() + 1, brace - family.size() - 1);
        const auto labels = line.substr(brace + 1, close - brace - 1);
        const auto value = line.substr(close + 2);
        const auto kind_at = labels.find("kind=\"");
        BOOST_TEST_REQUIRE(kind_at == 0u, line);
        const auto kind = labels.substr(6, labels.find('"', 6) - 6);
        auto& s = out[kind];
        if (suffix == "bucket") {
            const auto le_at = labels.find(",le=\"");
            BOOST_TEST_REQUIRE(le_at != std::string::npos, line);
            const auto le = labels.substr(le_at + 5, labels.size() - le_at - 6);
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

// Checks what Prometheus requires of every series; returns each kind's _count.
std::map<std::string, std::uint64_t> checked_counts(const std::string& body, const std::string& family) {
    BOOST_TEST(count_of(body, "# TYPE " + family + " histogram\n") == 1u, family);
    BOOST_TEST(count_of(body, "# HELP " + family + " ") == 1u, family);
    const auto all = histogram_of(body, family);
    BOOST_TEST(all.size() == 2u, family);
    std::map<std::string, std::uint64_t> counts;
    for (const char* kind : {"read", "write"}) {
        BOOST_TEST_CONTEXT(family << " kind=" << kind) {
            const auto found = all.find(kind);
            BOOST_TEST_REQUIRE((found != all.end()));
            const auto& s = found->second;
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
            // Every job takes some time: a series that counted jobs has summed some.
            if (*s.count > 0) BOOST_TEST(*s.sum > 0.0);
            BOOST_TEST(std::isfinite(*s.sum));
            counts[kind] = *s.count;
        }
    }
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
