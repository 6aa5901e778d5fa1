#define BOOST_TEST_MODULE account_rules
#include <boost/test/unit_test.hpp>

#include <array>
#include <string>
#include <string_view>

#include "core/account/account_rules.hpp"
#include "core/base/text.hpp"

using namespace std::string_literals;
using namespace nidan;

BOOST_AUTO_TEST_CASE(utf8_validity) {
    BOOST_TEST(is_valid_utf8(""));
    BOOST_TEST(is_valid_utf8("plain ascii"));
    BOOST_TEST(is_valid_utf8("日本語のパスワード"));
    BOOST_TEST(is_valid_utf8("\xC2\x80"));          // U+0080, smallest 2-byte
    BOOST_TEST(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
    BOOST_TEST(is_valid_utf8("\xEE\x80\x80"));      // U+E000, just above them
    BOOST_TEST(is_valid_utf8("\xF0\x9F\x94\x91"));  // U+1F511 (emoji)
    BOOST_TEST(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
    BOOST_TEST(is_valid_utf8("a\0b"s));             // NUL is a valid code point

    BOOST_TEST(!is_valid_utf8("\x80"));               // lone continuation byte
    BOOST_TEST(!is_valid_utf8("\xC3"));               // truncated
    BOOST_TEST(!is_valid_utf8("\xE6\x97"));           // truncated 3-byte
    BOOST_TEST(!is_valid_utf8("\xC3\x28"));           // bad continuation
    BOOST_TEST(!is_valid_utf8("\xC0\xAF"));           // overlong '/'
    BOOST_TEST(!is_valid_utf8("\xC1\xBF"));           // overlong U+007F
    BOOST_TEST(!is_valid_utf8("\xE0\x80\xAF"));       // overlong '/', 3 bytes
    BOOST_TEST(!is_valid_utf8("\xE0\x9F\xBF"));       // overlong U+07FF
    BOOST_TEST(!is_valid_utf8("\xF0\x80\x80\xAF"));   // overlong '/', 4 bytes
    BOOST_TEST(!is_valid_utf8("\xF0\x8F\xBF\xBF"));   // overlong U+FFFF
    BOOST_TEST(!is_valid_utf8("\xED\xA0\x80"));       // U+D800, a surrogate
    BOOST_TEST(!is_valid_utf8("\xED\xBF\xBF"));       // U+DFFF
    BOOST_TEST(!is_valid_utf8("\xF4\x90\x80\x80"));   // U+110000
    BOOST_TEST(!is_valid_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
    BOOST_TEST(!is_valid_utf8("\xFF"));
    BOOST_TEST(!is_valid_utf8("ok\xFE"));
}

BOOST_AUTO_TEST_CASE(portals) {
    BOOST_TEST(portal_problem("ip-phone").value_or("").empty());
    BOOST_TEST(portal_problem("mc050").value_or("").empty());
    BOOST_TEST(portal_problem("freevoice").value_or("").empty());
    BOOST_TEST(portal_problem("IP-PHONE").value_or("").starts_with("portal: "));
    BOOST_TEST(!portal_problem("").value_or("").empty());
    BOOST_TEST(!portal_problem("ip-phone ").value_or("").empty());
    BOOST_TEST(portal_problem("x").value_or("").find("ip-phone, mc050, freevoice") != std::string::npos);

    const std::array<std::string_view, 1> custom{"test-portal"};
    BOOST_TEST(portal_problem("test-portal", custom).value_or("").empty());
    BOOST_TEST(!portal_problem("ip-phone", custom).value_or("").empty());
}

BOOST_AUTO_TEST_CASE(selfcare_ids) {
    BOOST_TEST(selfcare_id_problem("a").value_or("").empty());
    BOOST_TEST(selfcare_id_problem("User_01.test-x@host").value_or("").empty());
    BOOST_TEST(selfcare_id_problem(std::string(64, 'z')).value_or("").empty());

    BOOST_TEST(selfcare_id_problem("").value_or("").starts_with("id: "));
    BOOST_TEST(!selfcare_id_problem(std::string(65, 'z')).value_or("").empty());
    BOOST_TEST(!selfcare_id_problem("with space").value_or("").empty());
    BOOST_TEST(!selfcare_id_problem("semi;colon").value_or("").empty());
    BOOST_TEST(!selfcare_id_problem("plus+sign").value_or("").empty());
    BOOST_TEST(!selfcare_id_problem("ユーザー").value_or("").empty());
    BOOST_TEST(!selfcare_id_problem("ａｂｃ").value_or("").empty());  // full-width letters
    BOOST_TEST(!selfcare_id_problem("nul\0x"s).value_or("").empty());
}

BOOST_AUTO_TEST_CASE(emails_good) {
    for (const std::string_view good : {
             "",  // not registered
             "a@b.co",
             "user@example.com",
             "first.last@sub.example.co.jp",
             "x+tag@example.com",
             "!#$%&'*+-/=?^_`{|}~@example.com",
             "user@xn--eckwd4c7c.xn--zckzah",
             "user@a-b.example",
             "user@123.example",
         }) {
        BOOST_TEST_CONTEXT(good) { BOOST_TEST(email_problem(good).value_or("").empty()); }
    }
    const std::string local64(64, 'l');
    BOOST_TEST(email_problem(local64 + "@example.com").value_or("").empty());
    const std::string label63(63, 'd');
    BOOST_TEST(email_problem("u@" + label63 + ".com").value_or("").empty());
    // 254 bytes exactly: 64 + 1 + 189.
    const std::string domain189 =
        std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
    BOOST_TEST(domain189.size() == 189U);
    BOOST_TEST(email_problem(local64 + "@" + domain189).value_or("").empty());
}

BOOST_AUTO_TEST_CASE(emails_bad) {
    for (const std::string_view bad : {
             "plainaddress",
             "@example.com",
             "user@",
             "user@@example.com",
             "a@b@example.com",
             "user@localhost",        // no dot in the domain
             ".user@example.com",
             "user.@example.com",
             "us..er@example.com",
             "user@.example.com",
             "user@example.com.",
             "user@example..com",
             "user@-example.com",
             "user@example-.com",
             "user@exam_ple.com",
             "us er@example.com",
             "\"quoted\"@example.com",  // quoted local parts are refused
             "user@[192.0.2.1]",
             "user(comment)@example.com",
             "ユーザー@example.jp",     // SMTPUTF8 not supported yet
             "user@例え.jp",
             " user@example.com",
             "user@example.com ",
         }) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST(email_problem(bad).value_or("").starts_with("email: ")); }
    }
    BOOST_TEST(!email_problem(std::string(65, 'l') + "@example.com").value_or("").empty());
    BOOST_TEST(!email_problem("u@" + std::string(64, 'd') + ".com").value_or("").empty());
    const std::string local64(64, 'l');
    const std::string domain190 =
        std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(62, 'c');
    BOOST_TEST(!email_problem(local64 + "@" + domain190).value_or("").empty());  // 255 bytes
    BOOST_TEST(!email_problem("user\0@example.com"s).value_or("").empty());
    BOOST_TEST(!email_problem("us\xC0\xAF" "er@example.com").value_or("").empty());
}

BOOST_AUTO_TEST_CASE(phones_good) {
    BOOST_TEST(normalise_phone("0312345678").value() == "0312345678");
    BOOST_TEST(normalise_phone("09012345678").value() == "09012345678");
    BOOST_TEST(normalise_phone("03-1234-5678").value() == "0312345678");
    BOOST_TEST(normalise_phone(" 090 1234 5678 ").value() == "09012345678");
    BOOST_TEST(normalise_phone("０９０－１２３４－５６７８").value() == "09012345678");  // U+FF0D
    BOOST_TEST(normalise_phone("０３ー１２３４ー５６７８").value() == "0312345678");  // U+30FC
    BOOST_TEST(normalise_phone("03−1234−5678").value() == "0312345678");  // U+2212
    BOOST_TEST(normalise_phone("03‐1234‐5678").value() == "0312345678");  // U+2010
    BOOST_TEST(normalise_phone("03―1234―5678").value() == "0312345678");  // U+2015
    BOOST_TEST(normalise_phone("090\u30001234\u30005678").value() == "09012345678");  // U+3000
    BOOST_TEST(normalise_phone("０3-1２34-5６78").value() == "0312345678");  // mixed
    BOOST_TEST(phone_problem("03-1234-5678").value_or("").empty());
}

BOOST_AUTO_TEST_CASE(phones_bad) {
    for (const std::string_view bad : {
             "",
             "---",
             "031234567",       // 9 digits
             "090123456789",    // 12 digits
             "+81-90-1234-5678",
             "(03)1234-5678",
             "03.1234.5678",
             "03_1234_5678",
             "03-1234-5678９０",  // 12 digits once converted
             "0312345678x",
             "03\t12345678",
             "０３－１２３４－５６７",  // 9 digits
             "０３~１２３４~５６７８",  // tilde is not a dash here
             "٠٣١٢٣٤٥٦٧٨",     // Arabic-Indic digits are not converted
         }) {
        BOOST_TEST_CONTEXT(bad) {
            BOOST_TEST(!normalise_phone(bad).has_value());
            BOOST_TEST(phone_problem(bad).value_or("").starts_with("phone: "));
        }
    }
    BOOST_TEST(!normalise_phone("03-1234-\xFF" "5678").has_value());  // invalid UTF-8
    BOOST_TEST(!normalise_phone("03\xE3\x80-12345678").has_value());  // truncated U+3000
    BOOST_TEST(!normalise_phone("\xC0\xB0" "312345678").has_value()); // overlong '0'
    BOOST_TEST(!normalise_phone("0312345678\0"s).has_value());
}

BOOST_AUTO_TEST_CASE(passwords) {
    BOOST_TEST(password_problem("12345678").value_or("").empty());
    BOOST_TEST(password_problem("        ").value_or("").empty());            // spaces are characters too
    BOOST_TEST(password_problem("パスワードです。").value_or("").empty());      // 8 code points, 24 bytes
    BOOST_TEST(password_problem("🔑🔑🔑🔑🔑🔑🔑🔑").value_or("").empty());
    BOOST_TEST(password_problem("abc\0defgh"s).value_or("").empty());        // any character, NUL included
    BOOST_TEST(password_problem(std::string(1024, 'x')).value_or("").empty());
    BOOST_TEST(password_problem("abc", 3).value_or("").empty());

    BOOST_TEST(password_problem("").value_or("").starts_with("password: "));
    BOOST_TEST(password_problem("1234567").value_or("").find("8 characters") != std::string::npos);
    BOOST_TEST(!password_problem("パスワード").value_or("").empty());           // 5 code points, 15 bytes
    BOOST_TEST(!password_problem(std::string(1025, 'x')).value_or("").empty());
    BOOST_TEST(!password_problem(std::string(30, 'x'), 8, 20).value_or("").empty());
    BOOST_TEST(password_problem("abcdefg\xFF").value_or("").find("UTF-8") != std::string::npos);
    BOOST_TEST(!password_problem("abcdefgh\xC0\xAF").value_or("").empty());
    BOOST_TEST(!password_problem("abcdefgh\xED\xA0\x80").value_or("").empty());
}
