// The outcome table (server/steps/step_outcomes.hpp): one row per result of every step, complete
// and consistent, its page messages present in every shipped catalog.
#define BOOST_TEST_MODULE step_outcomes
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>
#include <string>

#include "core/login/login_metrics.hpp"
#include "core/render/message_catalog.hpp"
#include "server/steps/step_outcomes.hpp"

using namespace nidan;
using namespace nidan::server;

namespace {

const render::message_catalogs& catalogs() {
    static const auto c = render::message_catalogs::load(std::filesystem::path(NIDAN_SOURCE_DIR) / "templates" / "lang", "ja");
    return c;
}

template <class Results>
void check_rows(const Results& results, std::size_t successes) {
    std::set<std::string_view> labels;
    std::size_t ok = 0;
    for (const auto r : results) {
        const auto& row = outcome_of(r);
        BOOST_TEST_CONTEXT("result " << row.metric) {
            BOOST_TEST(!row.metric.empty());
            BOOST_TEST(labels.insert(row.metric).second, "label used twice");
            const bool success = row.status == http::status::ok;
            ok += success;
            // A refusal has an API code and message; a success has neither.
            BOOST_TEST(row.api_error.empty() == success);
            BOOST_TEST(row.api_message.empty() == success);
            BOOST_TEST((static_cast<unsigned>(row.status) < 500 || row.status == http::status::service_unavailable));
            if (!row.message_key.empty())
                for (const auto& tag : catalogs().tags()) BOOST_CHECK_NO_THROW(catalogs().text(tag, row.message_key));
        }
    }
    BOOST_TEST(ok == successes);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_result_has_one_consistent_row) {
    check_rows(login::all_password_results, 2u);
    check_rows(login::all_code_results, 1u);
    check_rows(login::all_address_results, 1u);
    BOOST_TEST(outcome_of(login::password_result::busy).status == http::status::too_many_requests);
    BOOST_TEST(outcome_of(login::code_result::bad_format).api_error == "bad_code_format");
    BOOST_TEST(outcome_of(login::address_result::wrong_phone).message_key == "message.wrong_phone");
}
