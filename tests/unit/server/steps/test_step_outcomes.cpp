// The outcome table (server/steps/step_outcomes.hpp): one row per result of every step and of the
// address-change cancel link, complete and consistent, its page messages present in every
// shipped catalog and its page sections in their template.
#define BOOST_TEST_MODULE step_outcomes
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
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

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// with_api: the results the JSON API answers too; the cancel link's have only a page.
template <class Results>
void check_rows(const Results& results, std::size_t successes, bool with_api = true) {
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
            BOOST_TEST(row.api_error.empty() == (success || !with_api));
            BOOST_TEST(row.api_message.empty() == (success || !with_api));
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
    check_rows(login::all_address_cancel_results, 2u, false);
    BOOST_TEST(outcome_of(login::password_result::busy).status == http::status::too_many_requests);
    BOOST_TEST(outcome_of(login::code_result::bad_format).api_error == "bad_code_format");
    BOOST_TEST(outcome_of(login::address_result::wrong_phone).message_key == "message.wrong_phone");
}

// The cancel link's page shows a section of templates/address_cancel.html per result (or the
// error page), its text the row's message; /metrics keeps the labels it always had.
BOOST_AUTO_TEST_CASE(cancel_link_rows_name_sections_of_their_page) {
    const auto page = read_file(std::filesystem::path(NIDAN_SOURCE_DIR) / "templates" / "address_cancel.html");
    BOOST_REQUIRE(!page.empty());
    for (const auto r : login::all_address_cancel_results) {
        const auto& row = outcome_of(r);
        BOOST_TEST_CONTEXT("result " << row.metric) {
            BOOST_TEST(row.page_state.empty() == row.message_key.empty());
            if (row.page_state.empty()) continue;
            const std::string section = "{{#" + std::string(row.page_state) + "}}";
            const auto begin = page.find(section);
            BOOST_TEST_REQUIRE(begin != std::string::npos, "no section " << section);
            const auto end = page.find("{{/" + std::string(row.page_state) + "}}", begin);
            BOOST_TEST_REQUIRE(end != std::string::npos);
            BOOST_TEST(page.substr(begin, end - begin).find("{{t:" + std::string(row.message_key) + "}}") != std::string::npos,
                       section << " does not show " << row.message_key);
        }
    }
    // The steps' rows name no section: their pages show the message_key instead.
    for (const auto r : login::all_password_results) BOOST_TEST(outcome_of(r).page_state.empty());
    for (const auto r : login::all_code_results) BOOST_TEST(outcome_of(r).page_state.empty());
    for (const auto r : login::all_address_results) BOOST_TEST(outcome_of(r).page_state.empty());
    using login::address_cancel_result;
    BOOST_TEST(outcome_of(address_cancel_result::cancelled).metric == "cancelled");
    BOOST_TEST(outcome_of(address_cancel_result::invalid_link).metric == "invalid_link");
    BOOST_TEST(outcome_of(address_cancel_result::unavailable).metric == "unavailable");
    BOOST_TEST(outcome_of(address_cancel_result::already_done).metric == "already_done");
    BOOST_TEST(outcome_of(address_cancel_result::invalid_link).status == http::status::bad_request);
    BOOST_TEST(outcome_of(address_cancel_result::unavailable).status == http::status::service_unavailable);
    BOOST_TEST(outcome_of(address_cancel_result::already_done).page_state == "done");
}
