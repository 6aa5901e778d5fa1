#define BOOST_TEST_MODULE prerendered_page
#include <boost/test/unit_test.hpp>

#include <string>

#include "core/render/prerendered_page.hpp"

using nidan::render::prerendered_page;

BOOST_AUTO_TEST_CASE(the_value_goes_where_the_slot_was) {
    const auto page = prerendered_page::split("<input value=\"SLOT\"><p>after</p>", "SLOT");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->with("tok.123") == "<input value=\"tok.123\"><p>after</p>");
    BOOST_TEST(page->with("") == "<input value=\"\"><p>after</p>");
    // Each view is its own string: the page itself is unchanged by a view.
    BOOST_TEST(page->with("a") == "<input value=\"a\"><p>after</p>");
}

BOOST_AUTO_TEST_CASE(a_slot_at_either_end) {
    BOOST_TEST(prerendered_page::split("SLOT tail", "SLOT")->with("x") == "x tail");
    BOOST_TEST(prerendered_page::split("head SLOT", "SLOT")->with("x") == "head x");
    BOOST_TEST(prerendered_page::split("SLOT", "SLOT")->with("x") == "x");
}

BOOST_AUTO_TEST_CASE(no_page_unless_the_slot_is_there_exactly_once) {
    BOOST_TEST(!prerendered_page::split("no slot here", "SLOT").has_value());
    BOOST_TEST(!prerendered_page::split("SLOT and SLOT", "SLOT").has_value());
    BOOST_TEST(!prerendered_page::split("SLOTSLOT", "SLOT").has_value());
    BOOST_TEST(!prerendered_page::split("anything", "").has_value());
}
