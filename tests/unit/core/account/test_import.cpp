#define BOOST_TEST_MODULE import
#include <boost/test/unit_test.hpp>

#include <array>
#include <sstream>
#include <string>
#include <string_view>

#include "core/account/account_import.hpp"
#include "core/security/password_hasher.hpp"

using namespace std::string_literals;
using namespace nidan;

namespace {

import_result parse(const std::string& text) {
    std::istringstream in(text);
    return parse_account_csv(in);
}

// The rejection for a line, or a failed check naming the line when there is none.
std::string reason_at(const import_result& result, std::size_t line) {
    for (const auto& r : result.rejections)
        if (r.line == line) return r.reason;
    BOOST_ERROR("no rejection for line " << line);
    return {};
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(good_file) {
    const auto phc = password_hasher(hash_params{8192, 1}).hash("imported secret");
    const std::string text =
        "\xEF\xBB\xBF"                                                    // BOM
        "Portal,ID,Email,Phone,Password\r\n"                              // 1: header
        "ip-phone,alice,alice@example.com,03-1234-5678,correct horse\r\n" // 2
        "\r\n"                                                            // 3: blank
        " mc050 , bob , , ０９０－１２３４－５６７８,\"pa,ss\"\"word\r\nsecond line\"\r\n"  // 4-5
        "freevoice,carol,,0312345678,\"" + phc + "\"\r\n"  // 6
        "   \r\n"                                                         // 7: blank
        "\"ip-phone\",\"dave\",\"dave@example.com\",\"090 1234 5678\",  spaced pw  \n"  // 8
        "\"ip-phone\" , \"eve\" ,,0312345678, \"quoted pw\" ";            // 9, no line end

    const auto result = parse(text);
    for (const auto& r : result.rejections)
        BOOST_TEST_MESSAGE("line " << r.line << ": " << r.reason);
    BOOST_TEST(result.rejections.empty());
    BOOST_REQUIRE(result.rows.size() == 5U);

    const auto& alice = result.rows[0];
    BOOST_TEST(alice.line == 2U);
    BOOST_TEST(alice.portal == "ip-phone");
    BOOST_TEST(alice.selfcare_id == "alice");
    BOOST_TEST(alice.email == "alice@example.com");
    BOOST_TEST(alice.phone == "0312345678");
    BOOST_TEST(alice.password == "correct horse");
    BOOST_TEST(alice.phc.empty());

    const auto& bob = result.rows[1];
    BOOST_TEST(bob.line == 4U);
    BOOST_TEST(bob.portal == "mc050");
    BOOST_TEST(bob.selfcare_id == "bob");
    BOOST_TEST(bob.email.empty());
    BOOST_TEST(bob.phone == "09012345678");
    BOOST_TEST(bob.password == "pa,ss\"word\r\nsecond line");  // line break kept as written

    const auto& carol = result.rows[2];
    BOOST_TEST(carol.line == 6U);
    BOOST_TEST(carol.phc == phc);
    BOOST_TEST(carol.password.empty());

    const auto& dave = result.rows[3];
    BOOST_TEST(dave.line == 8U);
    BOOST_TEST(dave.selfcare_id == "dave");
    BOOST_TEST(dave.email == "dave@example.com");
    BOOST_TEST(dave.phone == "09012345678");
    BOOST_TEST(dave.password == "  spaced pw  ");  // unquoted password: spaces kept

    const auto& eve = result.rows[4];
    BOOST_TEST(eve.line == 9U);
    BOOST_TEST(eve.portal == "ip-phone");
    BOOST_TEST(eve.selfcare_id == "eve");
    BOOST_TEST(eve.password == "quoted pw");  // spaces outside the quotes are not part of it
}

BOOST_AUTO_TEST_CASE(unquoted_password_keeps_its_spaces) {
    const auto result = parse("ip-phone,dave,,0312345678,  spaced pw  \n");
    BOOST_REQUIRE(result.rows.size() == 1U);
    BOOST_TEST(result.rows[0].password == "  spaced pw  ");
}

BOOST_AUTO_TEST_CASE(bad_file) {
    const std::string text =
        "ip-phone,good1,,0312345678,password1\n"                               // 1: good
        "ip-phone,x1,,0312345678\n"                                            // 2: 4 fields
        "nope,x2,,0312345678,password1\n"                                      // 3: portal
        "ip-phone,x3,bad@@example.com,0312345678,password1\n"                  // 4: email
        "ip-phone,x4,,12345,password1\n"                                       // 5: phone
        "ip-phone,x5,,0312345678,short\n"                                      // 6: password
        "ip-phone,good1,,0312345678,password1\n"                               // 7: duplicate
        "ip-phone,x6,,0312345678,\"$argon2id$v=19$m=8192,t=1,p=1$bad\"\n"      // 8: hash
        "ip-phone,x7,,0312345678,\"multi\n"                                    // 9: good,
        "line password\"\n"                                                    // 10: continued
        "ip-phone,x8,\xFF\xFE,0312345678,password1\n"                          // 11: UTF-8
        "\n"                                                                   // 12: blank
        "ip-phone,good2,,090-1234-5678,password2\r\n"                          // 13: good
        "ip-phone,x1,,0312345678,password1,extra\n"                            // 14: 6 fields
        "ip-phone,x9,,0312345678,\"unterminated\n"                             // 15: to EOF
        "ip-phone,x10,,0312345678,password1\n";                                // 16: swallowed

    const auto result = parse(text);
    for (const auto& r : result.rejections)
        BOOST_TEST_MESSAGE("line " << r.line << ": " << r.reason);

    BOOST_REQUIRE(result.rows.size() == 3U);
    BOOST_TEST(result.rows[0].line == 1U);
    BOOST_TEST(result.rows[0].selfcare_id == "good1");
    BOOST_TEST(result.rows[1].line == 9U);
    BOOST_TEST(result.rows[1].selfcare_id == "x7");
    BOOST_TEST(result.rows[1].password == "multi\nline password");
    BOOST_TEST(result.rows[2].line == 13U);
    BOOST_TEST(result.rows[2].phone == "09012345678");

    BOOST_TEST(result.rejections.size() == 10U);
    BOOST_TEST(contains(reason_at(result, 2), "expected 5 fields"));
    BOOST_TEST(contains(reason_at(result, 2), "found 4"));
    BOOST_TEST(contains(reason_at(result, 3), "portal: unknown"));
    BOOST_TEST(contains(reason_at(result, 4), "email: "));
    BOOST_TEST(contains(reason_at(result, 5), "phone: "));
    BOOST_TEST(contains(reason_at(result, 6), "password: shorter than 8"));
    BOOST_TEST(contains(reason_at(result, 7), "duplicate of line 1"));
    BOOST_TEST(reason_at(result, 8) == "password: malformed argon2id hash");
    BOOST_TEST(contains(reason_at(result, 11), "email: not valid UTF-8"));
    BOOST_TEST(contains(reason_at(result, 14), "found 6"));
    BOOST_TEST(contains(reason_at(result, 15), "unterminated"));
    // Rejections come in file order.
    for (std::size_t i = 1; i < result.rejections.size(); ++i)
        BOOST_TEST(result.rejections[i - 1].line < result.rejections[i].line);
    // Reasons never echo a password.
    for (const auto& r : result.rejections) BOOST_TEST(!contains(r.reason, "password1"));
}

BOOST_AUTO_TEST_CASE(several_problems_in_one_record) {
    const auto result = parse("nope,bad id,x@y,1,short\n");
    BOOST_REQUIRE(result.rejections.size() == 1U);
    const auto& reason = result.rejections[0].reason;
    BOOST_TEST(contains(reason, "portal: "));
    BOOST_TEST(contains(reason, "id: "));
    BOOST_TEST(contains(reason, "email: "));
    BOOST_TEST(contains(reason, "phone: "));
    BOOST_TEST(contains(reason, "password: "));
}

BOOST_AUTO_TEST_CASE(duplicate_of_a_rejected_record_is_still_a_duplicate) {
    // Which of the two was meant is unclear, so neither goes in.
    const auto result = parse(
        "ip-phone,amy,not-an-email,0312345678,password1\n"
        "ip-phone,amy,,0312345678,password1\n"
        "mc050,amy,,0312345678,password1\n");  // another portal: a different account
    BOOST_TEST(result.rejections.size() == 2U);
    BOOST_TEST(contains(reason_at(result, 2), "duplicate of line 1"));
    BOOST_REQUIRE(result.rows.size() == 1U);
    BOOST_TEST(result.rows[0].portal == "mc050");
}

BOOST_AUTO_TEST_CASE(structural_errors_reject_only_their_record) {
    const auto result = parse(
        "ip-phone,a\"b,,0312345678,password1\n"          // 1: quote in an unquoted field
        "ip-phone,\"ab\"c,,0312345678,password1\n"       // 2: text after a closing quote
        "ip-phone,ab,,0312345678,pass\rword1\n"          // 3: bare CR
        "ip-phone,ok,,0312345678,password1\n");          // 4
    BOOST_TEST(contains(reason_at(result, 1), "quote inside an unquoted field"));
    BOOST_TEST(contains(reason_at(result, 2), "after a closing quote"));
    BOOST_TEST(contains(reason_at(result, 3), "carriage return"));
    BOOST_REQUIRE(result.rows.size() == 1U);
    BOOST_TEST(result.rows[0].line == 4U);
}

BOOST_AUTO_TEST_CASE(header_only_on_the_first_record) {
    auto result = parse("portal,id,email,phone,password\n");
    BOOST_TEST(result.rows.empty());
    BOOST_TEST(result.rejections.empty());

    result = parse("\n\nPORTAL, Id ,EMAIL,phone,PassWord\nip-phone,a,,0312345678,password1\n");
    BOOST_TEST(result.rejections.empty());
    BOOST_REQUIRE(result.rows.size() == 1U);
    BOOST_TEST(result.rows[0].line == 4U);

    result = parse("ip-phone,a,,0312345678,password1\nportal,id,email,phone,password\n");
    BOOST_TEST(result.rows.size() == 1U);
    BOOST_TEST(contains(reason_at(result, 2), "portal: "));
}

BOOST_AUTO_TEST_CASE(empty_input) {
    auto result = parse("");
    BOOST_TEST(result.rows.empty());
    BOOST_TEST(result.rejections.empty());
    result = parse("\xEF\xBB\xBF");
    BOOST_TEST(result.rows.empty());
    BOOST_TEST(result.rejections.empty());
    result = parse("\r\n\n  \n");
    BOOST_TEST(result.rows.empty());
    BOOST_TEST(result.rejections.empty());
}

BOOST_AUTO_TEST_CASE(plaintext_rules_apply_to_non_hash_passwords) {
    // Not starting with "$argon2": an ordinary (if odd) password.
    const auto result =
        parse("ip-phone,a,,0312345678,$2y$10$abcdefgh\n"
              "ip-phone,b,,0312345678,\"$argon2i$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA\"\n");
    BOOST_REQUIRE(result.rows.size() == 1U);
    BOOST_TEST(result.rows[0].password == "$2y$10$abcdefgh");
    BOOST_TEST(reason_at(result, 2) == "password: malformed argon2id hash");
}

BOOST_AUTO_TEST_CASE(custom_portals) {
    const std::array<std::string_view, 1> portals{"test"};
    std::istringstream in("test,a,,0312345678,password1\nip-phone,b,,0312345678,password1\n");
    import_rules rules;
    rules.known_portals.assign(portals.begin(), portals.end());
    const auto result = parse_account_csv(in, rules);
    BOOST_TEST(result.rows.size() == 1U);
    BOOST_TEST(contains(reason_at(result, 2), "portal: "));
}

BOOST_AUTO_TEST_CASE(plaintext_passwords_meet_the_configured_minimum) {
    const std::string text = "ip-phone,a,,0312345678,Eleven char\n"    // 11 characters
                             "ip-phone,b,,0312345678,Twelve chars\n"   // 12
                             "ip-phone,c,,0312345678,パスワード十二文字です\n";  // 11 code points, 33 bytes
    import_rules rules;
    rules.min_password_chars = 12;
    std::istringstream in(text);
    const auto strict = parse_account_csv(in, rules);
    BOOST_REQUIRE(strict.rows.size() == 1U);
    BOOST_TEST(strict.rows[0].selfcare_id == "b");
    BOOST_TEST(reason_at(strict, 1) == "password: shorter than 12 characters");
    BOOST_TEST(reason_at(strict, 3) == "password: shorter than 12 characters");  // characters, not bytes
    // The default is password.min_length's default, 8.
    BOOST_TEST(parse(text).rows.size() == 3U);

    nidan::config cfg;
    cfg.password.min_length = 20;
    BOOST_TEST(import_rules_of(cfg).min_password_chars == 20U);
}

BOOST_AUTO_TEST_CASE(ready_made_hashes_within_the_cost_bounds_only) {
    // A real hash at m=8192, t=1, p=1; the others change only its parameters, which the parser
    // reads without computing anything.
    const auto phc = password_hasher(hash_params{8192, 1}).hash("imported secret");
    const auto with = [&](std::string_view params) {
        std::string out = phc;
        const std::string_view cheap = "m=8192,t=1,p=1";
        out.replace(out.find(cheap), cheap.size(), params);
        return '"' + out + '"';  // quoted: the parameters hold commas
    };
    const std::string text = "ip-phone,a,,0312345678,\"" + phc + "\"\n" +              // 1: fine
                             "ip-phone,b,,0312345678," + with("m=4194304,t=1,p=1") + "\n" +  // 2: 4 GiB
                             "ip-phone,c,,0312345678," + with("m=8192,t=9,p=1") + "\n" +     // 3: t
                             "ip-phone,d,,0312345678," + with("m=4096,t=1,p=1") + "\n" +     // 4: floor
                             "ip-phone,e,,0312345678," + with("m=8192,t=1,p=4") + "\n" +     // 5: p
                             "ip-phone,f,,0312345678," + with("m=77824,t=8,p=1") + "\n";     // 6: at the bound
    // The config's defaults: 19456 KiB, t=2, factor 4, floor 7168 KiB and t=1.
    const auto result = parse(text);
    BOOST_REQUIRE(result.rows.size() == 2U);
    BOOST_TEST(result.rows[0].selfcare_id == "a");
    BOOST_TEST(result.rows[1].selfcare_id == "f");
    BOOST_TEST(reason_at(result, 2) == "password: argon2id hash with m=4194304 KiB, above hash.max_cost_factor (4) x "
                                       "hash.memory_kib (19456) = 77824 KiB");
    BOOST_TEST(reason_at(result, 3) ==
               "password: argon2id hash with t=9, above hash.max_cost_factor (4) x hash.iterations (2) = 8");
    BOOST_TEST(reason_at(result, 4) == "password: argon2id hash with m=4096 KiB, below hash.import_min_memory_kib (7168)");
    BOOST_TEST(reason_at(result, 5) == "password: argon2id hash with p=4, only p=1 is supported");

    // The bounds follow the configuration.
    nidan::config cfg;
    cfg.hash.memory_kib = 8192;
    cfg.hash.iterations = 1;
    cfg.hash.max_cost_factor = 2;
    cfg.hash.import_min_memory_kib = 8192;
    std::istringstream in(text);
    const auto tight = parse_account_csv(in, import_rules_of(cfg));
    BOOST_REQUIRE(tight.rows.size() == 1U);
    BOOST_TEST(tight.rows[0].selfcare_id == "a");
    BOOST_TEST(contains(reason_at(tight, 6), "m=77824 KiB, above hash.max_cost_factor (2) x hash.memory_kib (8192)"));
    BOOST_TEST(contains(reason_at(tight, 6), "t=8, above"));
}
