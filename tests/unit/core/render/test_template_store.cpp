#define BOOST_TEST_MODULE template_store
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/render/template_store.hpp"
#include "nidan_test/temp_dir.hpp"

namespace fs = std::filesystem;
using kainjow::mustache::data;
using nidan::template_data;
using nidan::template_store;

namespace {

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// The message of the std::runtime_error that loading `dir` throws; fails the test if none.
std::string load_error(const fs::path& dir) {
    try {
        const template_store store(dir);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    BOOST_ERROR("the templates loaded without error");
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(partial_is_included_with_the_page_data) {
    nidan_test::temp_dir dir;
    write_file(dir / "_greeting.html", "Hello {{name}}!\n");
    write_file(dir / "page.html", "<p>{{> _greeting}}</p>\n{{> _greeting}}\n{{ > _greeting }}\nend\n");
    const template_store store(dir.path());
    template_data d;
    d.set("name", "Taro");
    // The partial file's final line break is not part of it: a tag on its own line gives
    // exactly the partial's line.
    BOOST_TEST(store.render("page.html", d) == "<p>Hello Taro!</p>\nHello Taro!\nHello Taro!\nend\n");
}

BOOST_AUTO_TEST_CASE(partial_file_with_crlf_line_ends_loses_only_its_final_line_break) {
    nidan_test::temp_dir dir;
    write_file(dir / "_two_lines.txt", "one\r\ntwo\r\n");
    write_file(dir / "mail.txt", "{{> _two_lines}}\r\nend\r\n");
    const template_store store(dir.path());
    BOOST_TEST(store.render("mail.txt", template_data{}) == "one\r\ntwo\r\nend\r\n");
}

BOOST_AUTO_TEST_CASE(partials_include_partials) {
    nidan_test::temp_dir dir;
    write_file(dir / "_outer.html", "[{{> _inner}}]\n");
    write_file(dir / "_inner.html", "{{word}}\n");
    // Two partials including the same one is no loop.
    write_file(dir / "_also_inner.html", "({{> _inner}})\n");
    write_file(dir / "page.html", "{{> _outer}}{{> _also_inner}}\n");
    const template_store store(dir.path());
    template_data d;
    d.set("word", "x");
    BOOST_TEST(store.render("page.html", d) == "[x](x)\n");
}

BOOST_AUTO_TEST_CASE(partial_inside_a_list_sees_the_item) {
    nidan_test::temp_dir dir;
    write_file(dir / "_item.html", "<li>{{label}}</li>\n");
    write_file(dir / "page.html", "<ul>{{#items}}{{> _item}}{{/items}}</ul>\n");
    const template_store store(dir.path());
    data items{data::type::list};
    for (const std::string label : {"a", "b"}) {
        data item;
        item.set("label", label);
        items.push_back(item);
    }
    template_data d;
    d.set("items", items);
    BOOST_TEST(store.render("page.html", d) == "<ul><li>a</li><li>b</li></ul>\n");
}

BOOST_AUTO_TEST_CASE(partials_are_not_pages) {
    nidan_test::temp_dir dir;
    write_file(dir / "_part.html", "part\n");
    write_file(dir / "page.html", "{{> _part}}\n");
    const template_store store(dir.path());
    BOOST_TEST(store.has("page.html"));
    BOOST_TEST(!store.has("_part.html"));
    BOOST_CHECK_THROW(store.render("_part.html", template_data{}), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(values_inside_partials_are_escaped_like_in_the_page) {
    nidan_test::temp_dir dir;
    write_file(dir / "_value.html", "<a href=\"{{url}}\">{{text}}</a>|{{{raw}}}\n");
    write_file(dir / "page.html", "{{> _value}}\n");
    const template_store store(dir.path());
    template_data d;
    d.set("url", "\"><script>x</script>");
    d.set("text", "<b>'&'</b>");
    d.set("raw", "<i>");
    BOOST_TEST(store.render("page.html", d) ==
               "<a href=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">&lt;b&gt;&apos;&amp;&apos;&lt;/b&gt;</a>|<i>\n");
}

BOOST_AUTO_TEST_CASE(data_can_never_supply_or_replace_a_partial) {
    nidan_test::temp_dir dir;
    write_file(dir / "_part.html", "from the file\n");
    write_file(dir / "page.html", "{{> _part}}|{{value}}\n");
    const template_store store(dir.path());
    template_data d;
    d.set("_part", "{{secret}} from the data");
    d.set("secret", "leaked");
    d.set("value", "{{> _part}}");
    BOOST_TEST(store.render("page.html", d) == "from the file|{{&gt; _part}}\n");
}

BOOST_AUTO_TEST_CASE(missing_partial_is_a_load_error_naming_the_file_and_the_partial) {
    nidan_test::temp_dir dir;
    write_file(dir / "_head.html", "<head>\n");
    // Misspelled, and inside a section that no startup render would open.
    write_file(dir / "page.html", "{{> _head}}\n{{#error}}{{> _eror}}{{/error}}\n");
    const auto message = load_error(dir.path());
    BOOST_TEST(contains(message, (dir / "page.html").string()), message);
    BOOST_TEST(contains(message, "{{> _eror}}"), message);
}

BOOST_AUTO_TEST_CASE(missing_partial_in_a_partial_is_a_load_error) {
    nidan_test::temp_dir dir;
    write_file(dir / "_outer.html", "{{> _nowhere}}\n");
    write_file(dir / "page.html", "{{> _outer}}\n");
    const auto message = load_error(dir.path());
    BOOST_TEST(contains(message, (dir / "_outer.html").string()), message);
    BOOST_TEST(contains(message, "_nowhere"), message);
}

BOOST_AUTO_TEST_CASE(includes_are_found_after_a_delimiter_change) {
    nidan_test::temp_dir dir;
    write_file(dir / "page.html", "{{=<% %>=}}<%> _elsewhere %><%={{ }}=%>{{x}}\n");
    BOOST_TEST(contains(load_error(dir.path()), "_elsewhere"));
}

BOOST_AUTO_TEST_CASE(comments_and_unescaped_values_are_not_includes) {
    nidan_test::temp_dir dir;
    write_file(dir / "page.html", "{{! {{> _not_a_partial }}{{{> also_not}}}{{&> nor_this}}ok\n");
    const template_store store(dir.path());
    BOOST_TEST(store.render("page.html", template_data{}) == "ok\n");
}

BOOST_AUTO_TEST_CASE(partial_including_itself_is_a_load_error) {
    nidan_test::temp_dir dir;
    write_file(dir / "_loop.html", "again {{> _loop}}\n");
    write_file(dir / "page.html", "{{> _loop}}\n");
    const auto message = load_error(dir.path());
    BOOST_TEST(contains(message, (dir / "_loop.html").string()), message);
    BOOST_TEST(contains(message, "_loop > _loop"), message);
}

BOOST_AUTO_TEST_CASE(partials_including_each_other_are_a_load_error) {
    nidan_test::temp_dir dir;
    write_file(dir / "_a.html", "{{> _b}}\n");
    // Behind a section, so it would only recurse for some data: still refused.
    write_file(dir / "_b.html", "{{#deeper}}{{> _a}}{{/deeper}}\n");
    // Not even included by a page.
    const auto message = load_error(dir.path());
    BOOST_TEST(contains(message, (dir / "_a.html").string()), message);
    BOOST_TEST(contains(message, "_a > _b > _a"), message);
}

BOOST_AUTO_TEST_CASE(two_partials_with_one_name_are_a_load_error) {
    nidan_test::temp_dir dir;
    write_file(dir / "_sign.html", "html\n");
    write_file(dir / "_sign.txt", "text\n");
    const auto message = load_error(dir.path());
    BOOST_TEST(contains(message, (dir / "_sign.html").string()), message);
    BOOST_TEST(contains(message, (dir / "_sign.txt").string()), message);
}

BOOST_AUTO_TEST_CASE(partial_that_does_not_parse_is_a_load_error_naming_it) {
    nidan_test::temp_dir dir;
    write_file(dir / "_broken.html", "{{#open}}never closed\n");
    write_file(dir / "page.html", "{{> _broken}}\n");
    BOOST_TEST(contains(load_error(dir.path()), (dir / "_broken.html").string()));
}

BOOST_AUTO_TEST_CASE(a_new_store_never_renders_an_old_stores_pages) {
    // Both stores live at the same address, one after the other, as a store re-created in
    // the same place would.
    nidan_test::temp_dir first, second;
    write_file(first / "page.html", "first\n");
    write_file(second / "page.html", "second\n");
    std::optional<template_store> store;
    store.emplace(first.path());
    BOOST_TEST(store->render("page.html", template_data{}) == "first\n");
    store.emplace(second.path());
    BOOST_TEST(store->render("page.html", template_data{}) == "second\n");
}
