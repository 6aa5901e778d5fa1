#define BOOST_TEST_MODULE form_and_cookies
#include <boost/test/unit_test.hpp>

#include "core/web/cookies.hpp"
#include "core/web/form_data.hpp"
#include "core/web/cookie_names.hpp"

using namespace nidan;

BOOST_AUTO_TEST_CASE(forms_parse_strictly) {
    std::string error;
    auto form = parse_form("id=taro01&password=p%40ss+word&empty=&flag", error);
    BOOST_REQUIRE(form);
    BOOST_TEST(form->get("id") == "taro01");
    BOOST_TEST(form->get("password") == "p@ss word");
    BOOST_TEST(form->has("empty"));
    BOOST_TEST(form->get("empty") == "");
    BOOST_TEST(form->has("flag"));
    BOOST_TEST(form->get("missing") == "");

    auto japanese = parse_form("code=%EF%BC%91%EF%BC%92", error);
    BOOST_REQUIRE(japanese);
    BOOST_TEST(japanese->get("code") == "１２");

    for (const char* bad : {"a=%4", "a=%zz", "a=%", "a=%FF", "a=%C0%AF", "a=1&a=2", "a=%00", "a=%1B"}) {
        error.clear();
        BOOST_TEST(!parse_form(bad, error).has_value(), bad);
        BOOST_TEST(!error.empty(), bad);
    }
    std::string many;
    for (int i = 0; i < 40; ++i) many += "f" + std::to_string(i) + "=1&";
    BOOST_TEST(!parse_form(many, error).has_value());
    BOOST_TEST(error == "too many form fields");
    BOOST_TEST(parse_form("", error).has_value());
}

BOOST_AUTO_TEST_CASE(cookies_are_found_and_written_with_their_flags) {
    const std::string header = "other=1; __Host-nidan_session=abc_DEF-123; broken; nidan_session=plain; q=\"quoted\"";
    BOOST_TEST(find_cookie(header, "__Host-nidan_session").value_or("") == "abc_DEF-123");
    BOOST_TEST(find_cookie(header, nidan::cookie_names::session).value_or("") == "plain");
    BOOST_TEST(find_cookie(header, "q").value_or("") == "quoted");
    BOOST_TEST(!find_cookie(header, "missing").has_value());
    BOOST_TEST(!find_cookie("", "x").has_value());

    BOOST_TEST(set_cookie_value(nidan::cookie_names::session, "v1", {false, std::nullopt}) ==
               "nidan_session=v1; Path=/; HttpOnly; SameSite=Lax");
    BOOST_TEST(set_cookie_value(nidan::cookie_names::session, "v1", {true, 0}) ==
               "__Host-nidan_session=v1; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0");
    BOOST_CHECK_THROW(set_cookie_value("n", "a;b", {}), std::invalid_argument);
    BOOST_CHECK_THROW(set_cookie_value("n", "a b", {}), std::invalid_argument);
}
