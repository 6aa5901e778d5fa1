#define BOOST_TEST_MODULE language_choice
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/render/language_choice.hpp"

using nidan::render::choose_language;
using nidan::render::is_language_tag;

namespace {

// As message_catalogs::tags() gives them: the default first, then in name order.
const std::vector<std::string> ja_en{"ja", "en"};
const std::vector<std::string> many{"ja", "en-gb", "pt-br", "zh", "zh-hant"};

std::string choose(std::string_view cookie, std::string_view header,
                   const std::vector<std::string>& available = ja_en) {
    return choose_language(cookie, header, available, "ja");
}

// `count` elements of garbage, each followed by a comma.
std::string garbage_ranges(std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += "@@,";
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(language_tags_are_lower_case_bcp47_shapes) {
    for (const std::string tag : {"ja", "en", "pt-br", "es-419", "zh-hant-tw", "sgn-ase", "de-ch-1996", "en-abcdefgh"})
        BOOST_TEST(is_language_tag(tag), tag);
    const std::string too_long = "en-" + std::string(8, 'a') + "-" + std::string(8, 'b') + "-" + std::string(8, 'c') +
                                 "-" + std::string(6, 'd');  // 36 characters
    for (const std::string tag : {"", "j", "jpan", "EN", "En", "en-", "-en", "en--us", "en-x", "en-abcdefghi",
                                  "en_us", "ja ", " ja", "e1", "1a", "ja.toml", "../ja", "日本", "*"})
        BOOST_TEST(!is_language_tag(tag), tag);
    BOOST_TEST(too_long.size() == 36u);
    BOOST_TEST(!is_language_tag(too_long));
    BOOST_TEST(is_language_tag(too_long.substr(0, 35)));
    BOOST_TEST(!is_language_tag(std::string("ja\0", 3)));
}

BOOST_AUTO_TEST_CASE(a_cookie_naming_an_available_language_wins) {
    BOOST_TEST(choose("en", "ja") == "en");
    BOOST_TEST(choose("ja", "en") == "ja");
    // Case-insensitive, answered as the catalog spells the tag.
    BOOST_TEST(choose("EN", "ja") == "en");
    BOOST_TEST(choose("Pt-BR", "", many) == "pt-br");
}

BOOST_AUTO_TEST_CASE(a_cookie_naming_nothing_available_is_ignored) {
    BOOST_TEST(choose("fr", "en") == "en");
    BOOST_TEST(choose("en-us", "") == "ja");  // exact only: a cookie is a choice from the switch
    BOOST_TEST(choose("<script>", "en") == "en");
    BOOST_TEST(choose(std::string(10000, 'e'), "en") == "en");
    BOOST_TEST(choose("", "") == "ja");
}

BOOST_AUTO_TEST_CASE(the_highest_q_wins_and_equal_q_keep_header_order) {
    BOOST_TEST(choose("", "en") == "en");
    BOOST_TEST(choose("", "ja, en") == "ja");
    BOOST_TEST(choose("", "en, ja") == "en");
    BOOST_TEST(choose("", "ja;q=0.5, en;q=0.8") == "en");
    BOOST_TEST(choose("", "en;q=0.5, ja;q=0.5") == "en");
    BOOST_TEST(choose("", "ja;q=0.5, en;q=0.5") == "ja");
    // No q is q=1.
    BOOST_TEST(choose("", "ja;q=0.999, en") == "en");
    BOOST_TEST(choose("", "fr;q=1, en;q=0.001") == "en");
    // An unavailable language at the top does not hide the next one.
    BOOST_TEST(choose("", "fr, de;q=0.9, en;q=0.1") == "en");
    // Case and optional whitespace.
    BOOST_TEST(choose("", " EN-us ; Q=0.8 ,\tja;q=0.7") == "en");
}

BOOST_AUTO_TEST_CASE(q_values_follow_rfc_9110) {
    // ja's weights have too many decimals: en wins when its weight is a valid one above 0.
    for (const std::string q : {"1", "1.", "1.0", "1.000", "0.5", "0.001", "0.999"})
        BOOST_TEST(choose("", "ja;q=0.0001, en;q=" + q + ", ja;q=0.0005") == "en", q);
    // Malformed weights make their range unusable, not the header.
    for (const std::string q : {"1.5", "1.001", "2", "0.1234", "-1", "-0", ".5", "abc", "", "0,5", "1e0", "0x1"})
        BOOST_TEST(choose("", "en;q=" + q + ", ja;q=0.1") == "ja", q);
    BOOST_TEST(choose("", "en;q =0.5, ja;q=0.1") == "ja");
    BOOST_TEST(choose("", "en;x=1, ja;q=0.1") == "ja");
    BOOST_TEST(choose("", "en;q=0.5;q=0.6, ja;q=0.1") == "ja");
}

BOOST_AUTO_TEST_CASE(ranges_match_by_prefix_either_way) {
    // A longer range falls back to the available tag it extends.
    BOOST_TEST(choose("", "en-US") == "en");
    BOOST_TEST(choose("", "ja-JP, en;q=0.5") == "ja");
    // ... the longest such tag.
    BOOST_TEST(choose("", "zh-Hant-TW", many) == "zh-hant");
    BOOST_TEST(choose("", "zh-CN", many) == "zh");
    // A shorter range takes a tag extending it.
    BOOST_TEST(choose("", "en", many) == "en-gb");
    BOOST_TEST(choose("", "pt", many) == "pt-br");
    // An exact match beats both.
    BOOST_TEST(choose("", "zh", many) == "zh");
    BOOST_TEST(choose("", "en-gb", std::vector<std::string>{"ja", "en", "en-gb"}) == "en-gb");
    BOOST_TEST(choose("", "en", std::vector<std::string>{"ja", "en-gb", "en"}) == "en");
    // Only at subtag boundaries.
    BOOST_TEST(choose("", "e") == "ja");
    BOOST_TEST(choose("", "eng") == "ja");
    BOOST_TEST(choose("", "zhx", many) == "ja");
}

BOOST_AUTO_TEST_CASE(a_star_means_the_default) {
    BOOST_TEST(choose("", "*") == "ja");
    BOOST_TEST(choose("", "fr, *;q=0.5, en;q=0.1") == "ja");
    BOOST_TEST(choose("", "en;q=0.4, *;q=0.5") == "ja");
    BOOST_TEST(choose("", "en, *") == "en");
}

BOOST_AUTO_TEST_CASE(q_zero_refuses_a_language_and_its_variants) {
    BOOST_TEST(choose("", "en;q=0") == "ja");
    BOOST_TEST(choose("", "en;q=0.000, en-us") == "ja");
    BOOST_TEST(choose("", "en;q=0., en-us") == "ja");
    BOOST_TEST(choose("", "en-us, en;q=0") == "ja");  // the order does not matter
    BOOST_TEST(choose("", "en;q=0, en-gb", many) == "ja");
    BOOST_TEST(choose("", "en-gb;q=0, en", many) == "ja");
    // A refused variant leaves its parent.
    BOOST_TEST(choose("", "en-gb;q=0, en", std::vector<std::string>{"ja", "en", "en-gb"}) == "en");
    // "Anything but the default" takes the next available language.
    BOOST_TEST(choose("", "ja;q=0, *") == "en");
    BOOST_TEST(choose("", "ja;q=0, en;q=0, *") == "ja");  // nothing left: the default after all
    // "*;q=0" refuses nothing it could name: the default is still served.
    BOOST_TEST(choose("", "*;q=0") == "ja");
    BOOST_TEST(choose("", "*;q=0, en") == "en");
    // A cookie is an explicit choice and beats a refusal.
    BOOST_TEST(choose("en", "en;q=0") == "en");
}

BOOST_AUTO_TEST_CASE(garbage_gives_the_default_and_never_throws) {
    for (const std::string& header : std::vector<std::string>{"", ",", ",,,,", ";", ";q=1", "q=1", "en;", "en;q", "en;q=", "=", "*-en", "en-*", "en--us", "en-",
          "-en", "abcdefghi", "en-abcdefghi", "1en", "en_US", "日本語", "ja\xff", std::string("en\0", 3), "\"en\"",
          "en us", "en\r\nSet-Cookie: x"})
        BOOST_TEST(choose("", header) == "ja", header);
    // Garbage next to a good range does not spoil it.
    BOOST_TEST(choose("", ",,en-US;q=0.5,@@,;q=1") == "en");
    BOOST_TEST(choose("", "en", {}) == "ja");  // no catalogs listed at all
}

BOOST_AUTO_TEST_CASE(only_the_first_32_ranges_are_read) {
    BOOST_TEST(choose("", garbage_ranges(31) + "en") == "en");
    BOOST_TEST(choose("", garbage_ranges(32) + "en") == "ja");
    // Empty elements cost nothing and do not count.
    BOOST_TEST(choose("", std::string(1000, ',') + "en") == "en");
}

BOOST_AUTO_TEST_CASE(only_the_first_4_kib_are_read) {
    const auto padding = [](std::size_t bytes) { return std::string(bytes, ' '); };
    BOOST_TEST(choose("", "en," + padding(100000)) == "en");
    BOOST_TEST(choose("", padding(4000) + "en") == "en");
    BOOST_TEST(choose("", padding(4094) + "en") == "en");  // exactly 4096 bytes
    BOOST_TEST(choose("", padding(4095) + "en") == "ja");  // "e" would be all that is read
    // The range cut by the limit is dropped: "en" of the invalid "en1" must not count.
    BOOST_TEST(choose("", padding(4091) + "fr,en1") == "ja");
    BOOST_TEST(choose("", padding(4091) + "fr,en") == "en");
    BOOST_TEST(choose("", "ja;q=0.1," + padding(5000) + ",en") == "ja");
}

BOOST_AUTO_TEST_CASE(a_huge_hostile_header_gives_the_default) {
    std::string header;
    for (int i = 0; i < 200000; ++i) header += "xx-" + std::to_string(i) + ";q=0." + std::to_string(i % 1000) + ",";
    header += "en";
    BOOST_TEST(header.size() > 2'000'000u);
    BOOST_TEST(choose("", header) == "ja");
    BOOST_TEST(choose("", std::string(8 << 20, 'a')) == "ja");
    BOOST_TEST(choose("", std::string(8 << 20, ',') + "en") == "ja");
}
