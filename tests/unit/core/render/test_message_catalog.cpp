#define BOOST_TEST_MODULE message_catalog
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <kainjow/mustache.hpp>

#include "core/render/message_catalog.hpp"
#include "nidan_test/temp_dir.hpp"

namespace fs = std::filesystem;
using nidan::render::catalog_error;
using nidan::render::message_catalogs;

namespace {

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// A Japanese and an English catalog with the same keys, as a deployment has them.
const std::string ja_catalog = R"([language]
name = "日本語"

[login]
title = "セルフケアログイン"
notice = "※セルフケアID・パスワードを再発行ご希望の場合は、下記カスタマーセンターにお問い合わせください。"

[mail.code]
lifetime = "ログイン認証コードの有効期限は{{{lifetime_minutes}}}分です。"
)";

const std::string en_catalog = R"([language]
name = "English"

[login]
title = "Self-care login"
notice = "To have your self-care ID or password issued again, please call the customer centre below."

[mail.code]
lifetime = "The login code is valid for {{{lifetime_minutes}}} minutes."
)";

struct catalog_folder {
    nidan_test::temp_dir dir;
    catalog_folder() {
        write_file(dir / "ja.toml", ja_catalog);
        write_file(dir / "en.toml", en_catalog);
    }
    fs::path file(const std::string& name) const { return dir / name; }
    message_catalogs load() const { return message_catalogs::load(dir.path(), "ja"); }
};

// A folder whose default ja catalog is `ja` (plus language.name) and, unless empty, whose en
// catalog is `en` (plus language.name).
struct two_catalogs {
    nidan_test::temp_dir dir;
    two_catalogs(const std::string& ja, const std::string& en = {}) {
        write_file(dir / "ja.toml", "language.name = \"日本語\"\n" + ja);
        if (!en.empty()) write_file(dir / "en.toml", "language.name = \"English\"\n" + en);
    }
};

// The message of the catalog_error that loading `dir` throws; fails the test if none.
std::string load_error(const fs::path& dir, const std::string& default_tag = "ja") {
    try {
        message_catalogs::load(dir, default_tag);
    } catch (const catalog_error& e) {
        return e.what();
    }
    BOOST_ERROR("the catalogs loaded without error");
    return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A catalog whose texts are `texts` (key = "value" lines), for the localise cases.
message_catalogs catalogs_with(const nidan_test::temp_dir& dir, const std::string& texts) {
    write_file(dir / "ja.toml", "language.name = \"日本語\"\n" + texts);
    return message_catalogs::load(dir.path(), "ja");
}

std::string localise_error(const message_catalogs& catalogs, const std::string& text) {
    try {
        catalogs.localise("ja", text, true, "page.html");
    } catch (const catalog_error& e) {
        return e.what();
    }
    BOOST_ERROR("localise did not throw");
    return {};
}

}  // namespace

// ---- loading --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tables_flatten_to_dotted_keys) {
    const catalog_folder folder;
    const auto catalogs = folder.load();
    BOOST_TEST(catalogs.text("ja", "login.title") == "セルフケアログイン");
    BOOST_TEST(catalogs.text("en", "login.title") == "Self-care login");
    BOOST_TEST(catalogs.text("ja", "mail.code.lifetime") == "ログイン認証コードの有効期限は{{{lifetime_minutes}}}分です。");
    BOOST_TEST(catalogs.language_name("ja") == "日本語");
    BOOST_TEST(catalogs.language_name("en") == "English");
}

BOOST_AUTO_TEST_CASE(tags_list_the_default_first_then_in_name_order) {
    catalog_folder folder;
    auto de = en_catalog;
    de.replace(de.find("English"), 7, "Deutsch");
    write_file(folder.file("de.toml"), de);
    write_file(folder.file("pt-br.toml"), en_catalog);
    const auto catalogs = folder.load();
    BOOST_TEST(catalogs.tags() == (std::vector<std::string>{"ja", "de", "en", "pt-br"}));
    BOOST_TEST(catalogs.default_tag() == "ja");
    BOOST_TEST(catalogs.has("pt-br"));
    BOOST_TEST(!catalogs.has("fr"));
    BOOST_TEST(!catalogs.has("EN"));
    BOOST_TEST(catalogs.language_name("de") == "Deutsch");
    // The default is whichever the operator names.
    BOOST_TEST(message_catalogs::load(folder.dir.path(), "en").tags() ==
               (std::vector<std::string>{"en", "de", "ja", "pt-br"}));
}

BOOST_AUTO_TEST_CASE(a_single_default_catalog_is_enough) {
    nidan_test::temp_dir dir;
    write_file(dir / "ja.toml", ja_catalog);
    const auto catalogs = message_catalogs::load(dir.path(), "ja");
    BOOST_TEST(catalogs.tags() == (std::vector<std::string>{"ja"}));
}

BOOST_AUTO_TEST_CASE(multi_line_strings_keep_their_lines) {
    nidan_test::temp_dir dir;
    const auto catalogs = catalogs_with(dir,
                                        "[mail]\n"
                                        "body = \"\"\"\n"
                                        "一行目\n"
                                        "二行目 {{{code}}}\n"
                                        "\"\"\"\n"
                                        "literal = '''\n"
                                        "C:\\no\\escapes\n"
                                        "last'''\n"
                                        "joined = \"\"\"\\\n"
                                        "    one \\\n"
                                        "    line\"\"\"\n");
    // TOML drops the line break right after the opening quotes, and a backslash at a line's end.
    BOOST_TEST(catalogs.text("ja", "mail.body") == "一行目\n二行目 {{{code}}}\n");
    BOOST_TEST(catalogs.text("ja", "mail.literal") == "C:\\no\\escapes\nlast");
    BOOST_TEST(catalogs.text("ja", "mail.joined") == "one line");
}

BOOST_AUTO_TEST_CASE(other_files_and_hidden_files_are_not_catalogs) {
    catalog_folder folder;
    write_file(folder.file("README.md"), "not a catalog");
    write_file(folder.file("en.toml~"), "garbage");
    write_file(folder.file(".#en.toml"), "garbage");
    fs::create_directory(folder.file("fr.toml"));
    const auto catalogs = folder.load();
    BOOST_TEST(catalogs.tags() == (std::vector<std::string>{"ja", "en"}));
}

BOOST_AUTO_TEST_CASE(unknown_tags_and_keys_throw_naming_them) {
    const catalog_folder folder;
    const auto catalogs = folder.load();
    try {
        catalogs.text("en", "login.titel");
        BOOST_ERROR("no exception");
    } catch (const catalog_error& e) {
        BOOST_TEST(contains(e.what(), folder.file("en.toml").string()), e.what());
        BOOST_TEST(contains(e.what(), "login.titel"), e.what());
    }
    try {
        catalogs.text("fr", "login.title");
        BOOST_ERROR("no exception");
    } catch (const catalog_error& e) {
        BOOST_TEST(contains(e.what(), "\"fr\""), e.what());
    }
    BOOST_CHECK_THROW(catalogs.language_name("fr"), catalog_error);
    BOOST_CHECK_THROW(catalogs.localise("fr", "x", true, "page.html"), catalog_error);
}

// ---- load errors ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_missing_default_catalog_is_an_error_naming_its_file) {
    nidan_test::temp_dir dir;
    write_file(dir / "en.toml", en_catalog);
    const auto message = load_error(dir.path());
    BOOST_TEST(contains(message, (dir / "ja.toml").string()), message);
    BOOST_TEST(contains(message, "default language ja"), message);
}

BOOST_AUTO_TEST_CASE(a_missing_folder_is_an_error_naming_it) {
    nidan_test::temp_dir dir;
    const auto message = load_error(dir / "lang");
    BOOST_TEST(contains(message, (dir / "lang").string()), message);
}

BOOST_AUTO_TEST_CASE(the_default_must_be_a_language_tag) {
    const catalog_folder folder;
    for (const std::string tag : {"JA", "", "ja.toml", "../ja"}) {
        const auto message = load_error(folder.dir.path(), tag);
        BOOST_TEST(contains(message, "\"" + tag + "\""), message);
    }
}

BOOST_AUTO_TEST_CASE(a_file_name_that_is_no_language_tag_is_an_error_naming_it) {
    for (const std::string name : {"EN.toml", "en_US.toml", "english.toml", "e.toml", "en-.toml", "ja.en.toml"}) {
        catalog_folder folder;
        write_file(folder.file(name), en_catalog);
        const auto message = load_error(folder.dir.path());
        BOOST_TEST(contains(message, folder.file(name).string() + ": invalid file name"), message);
    }
}

BOOST_AUTO_TEST_CASE(a_value_that_is_not_a_string_is_an_error_naming_file_and_key) {
    for (const std::string value : {"3", "true", "1.5", "[\"a\", \"b\"]", "1979-05-27", "[[x]]"}) {
        const auto entry = value == "[[x]]" ? "[[login.items]]\nlabel = \"x\"\n" : "[login]\nitems = " + value + "\n";
        const two_catalogs folder(entry);
        const auto message = load_error(folder.dir.path());
        BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": key login.items is "), message);
        BOOST_TEST(contains(message, "every catalog value is a string"), message);
    }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_value_is_an_error_naming_file_and_key) {
    const two_catalogs folder("[login]\ntitle = \"ok\"\nnotice = \"日本\xff語\"\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "ja.toml").string()), message);
    BOOST_TEST(contains(message, "invalid UTF-8 in the value of key login.notice at line 4, column 13"), message);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_inside_a_multi_line_value_names_its_key) {
    // An overlong "/" on the third line of the English catalog's text b.
    const two_catalogs folder("a = { x = \"1\", y = \"2\" }\nb = \"3\"\n",
                              "a = { x = \"1\", y = \"2\" }\nb = \"\"\"\nfirst\nse\xc0\xaf" "cond\"\"\"\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "en.toml").string() + ": invalid UTF-8 in the value of key b at line 5, column 3"),
               message);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_inside_an_inline_table_names_its_key) {
    // A UTF-8 encoded surrogate, in the second value of the line.
    const two_catalogs folder("a = { x = \"1\", y = \"\xed\xa0\x80\" }\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": invalid UTF-8 in the value of key a.y at line 2"),
               message);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_outside_any_value_names_the_line) {
    const two_catalogs folder("# comment \xfe\nb = \"3\"\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": invalid UTF-8 at line 2, column 11"), message);
    const two_catalogs in_key("k\xe9y = \"3\"\n");
    BOOST_TEST(contains(load_error(in_key.dir.path()), "invalid UTF-8 at line 2, column 2"));
}

BOOST_AUTO_TEST_CASE(control_characters_are_an_error_naming_file_and_key) {
    const two_catalogs folder("[login]\ntitle = \"a\\u0000b\"\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": key login.title: "), message);
    BOOST_TEST(contains(message, "U+0000"), message);
    const two_catalogs escape("[login]\ntitle = \"a\\u001bb\"\n");
    BOOST_TEST(contains(load_error(escape.dir.path()), "U+001B"));
    // Tabs and line breaks are text.
    const two_catalogs fine("[login]\ntitle = \"a\\tb\\r\\nc\"\n");
    BOOST_TEST(message_catalogs::load(fine.dir.path(), "ja").text("ja", "login.title") == "a\tb\r\nc");
}

BOOST_AUTO_TEST_CASE(a_key_missing_from_another_language_is_an_error_naming_file_and_key) {
    catalog_folder folder;
    auto en = en_catalog;
    en.erase(en.find("title = \"Self-care login\"\n"), 26);
    write_file(folder.file("en.toml"), en);
    BOOST_TEST(load_error(folder.dir.path()) ==
               folder.file("en.toml").string() + ": missing key login.title (the default language ja has it)");
}

BOOST_AUTO_TEST_CASE(several_missing_keys_are_listed_together) {
    const two_catalogs folder("a = \"1\"\nb = \"2\"\nc = \"3\"\n", "b = \"2\"\n");
    BOOST_TEST(load_error(folder.dir.path()) ==
               (folder.dir / "en.toml").string() +
                   ": missing key a (the default language ja has it); also missing: c (2 keys in all)");
    std::string many;
    for (char c = 'a'; c <= 'p'; ++c) many += std::string(1, c) + " = \"x\"\n";
    const two_catalogs sixteen(many, "z = \"x\"\n");
    const auto message = load_error(sixteen.dir.path());
    BOOST_TEST(contains(message, ": missing key a (the default language ja has it); also missing: b, c, d, e, f, g, h, i, "
                                 "j, k, ... (16 keys in all)"),
               message);
}

BOOST_AUTO_TEST_CASE(a_key_the_default_lacks_is_an_error_naming_file_and_key) {
    catalog_folder folder;
    auto en = en_catalog;
    en.replace(en.find("title ="), 5, "titel");
    write_file(folder.file("en.toml"), en);
    const auto message = load_error(folder.dir.path());
    // The missing login.title is reported first; with it present, the typo alone.
    BOOST_TEST(contains(message, "missing key login.title"), message);
    write_file(folder.file("en.toml"), en_catalog + "[signup]\nwelcome = \"Welcome\"\n");
    BOOST_TEST(load_error(folder.dir.path()) == folder.file("en.toml").string() +
                                                    ": key signup.welcome is not in the default language ja (" +
                                                    folder.file("ja.toml").string() + "); misspelled?");
}

BOOST_AUTO_TEST_CASE(a_duplicate_key_is_an_error_naming_file_and_key) {
    const two_catalogs folder("[login]\ntitle = \"a\"\ntitle = \"b\"\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": not valid TOML at line 4"), message);
    BOOST_TEST(contains(message, "'title'"), message);
    // The same key written once as a table entry and once dotted.
    const two_catalogs dotted("[login]\ntitle = \"a\"\n[other]\n", "login.title = \"a\"\n[login]\ntitle = \"b\"\n");
    BOOST_TEST(contains(load_error(dotted.dir.path()), (dotted.dir / "en.toml").string() + ": not valid TOML"));
}

BOOST_AUTO_TEST_CASE(a_quoted_key_that_is_no_bare_key_is_an_error_naming_file_and_key) {
    // "login.title" quoted would be a second login.title after flattening.
    for (const std::string key : {"\"login.title\"", "\"with space\"", "\"\"", "\"日本\""}) {
        const two_catalogs folder("[login]\ntitle = \"a\"\n[x]\n" + key + " = \"b\"\n");
        const auto message = load_error(folder.dir.path());
        BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": invalid key \"x."), message);
    }
}

BOOST_AUTO_TEST_CASE(a_catalog_without_its_language_name_is_an_error_naming_file_and_key) {
    nidan_test::temp_dir dir;
    write_file(dir / "ja.toml", "[login]\ntitle = \"a\"\n");
    BOOST_TEST(contains(load_error(dir.path()), (dir / "ja.toml").string() + ": missing key language.name"));
    write_file(dir / "ja.toml", "language.name = \"\"\n");
    BOOST_TEST(contains(load_error(dir.path()), (dir / "ja.toml").string() + ": missing key language.name"));
}

BOOST_AUTO_TEST_CASE(a_catalog_text_holding_a_marker_is_an_error_naming_file_and_key) {
    for (const std::string text : {"{{t:login.title}}", "{{{t:x}}}", "{{ t:x }}", "{{&t:x}}", "a {{t:"}) {
        const two_catalogs folder("[login]\ntitle = \"a\"\nnotice = \"" + text + "\"\n");
        const auto message = load_error(folder.dir.path());
        BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": key login.notice: holds a marker"), message);
    }
}

BOOST_AUTO_TEST_CASE(a_catalog_text_changing_delimiters_is_an_error_naming_file_and_key) {
    const two_catalogs folder("[login]\nnotice = \"{{=<% %>=}}\"\n");
    BOOST_TEST(contains(load_error(folder.dir.path()),
                        (folder.dir / "ja.toml").string() + ": key login.notice: changes the mustache delimiters"));
}

BOOST_AUTO_TEST_CASE(a_file_that_is_no_toml_is_an_error_naming_file_and_line) {
    const two_catalogs folder("[login]\ntitle = \"unclosed\n");
    const auto message = load_error(folder.dir.path());
    BOOST_TEST(contains(message, (folder.dir / "ja.toml").string() + ": not valid TOML at line 3"), message);
}

// ---- localise -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(markers_become_the_catalog_texts_of_the_language) {
    const catalog_folder folder;
    const auto catalogs = folder.load();
    const std::string page = "<title>{{t:login.title}} - {{portal_title}}</title>\n<h1>{{t:login.title}}</h1>\n";
    BOOST_TEST(catalogs.localise("ja", page, true, "login.html") ==
               "<title>セルフケアログイン - {{portal_title}}</title>\n<h1>セルフケアログイン</h1>\n");
    BOOST_TEST(catalogs.localise("en", page, true, "login.html") ==
               "<title>Self-care login - {{portal_title}}</title>\n<h1>Self-care login</h1>\n");
}

BOOST_AUTO_TEST_CASE(escaped_markers_escape_html_and_raw_markers_do_not) {
    nidan_test::temp_dir dir;
    const auto catalogs = catalogs_with(dir, "markup = \"<b>A & B</b> \\\"quoted\\\" 'single'\"\n");
    BOOST_TEST(catalogs.localise("ja", "[{{t:markup}}]", true, "page.html") ==
               "[&lt;b&gt;A &amp; B&lt;/b&gt; &quot;quoted&quot; &apos;single&apos;]");
    BOOST_TEST(catalogs.localise("ja", "[{{{t:markup}}}]", true, "page.html") == "[<b>A & B</b> \"quoted\" 'single']");
    BOOST_TEST(catalogs.localise("ja", "[{{&t:markup}}]", true, "page.html") == "[<b>A & B</b> \"quoted\" 'single']");
    // Mails are plain text: both forms insert the text as it is.
    BOOST_TEST(catalogs.localise("ja", "{{t:markup}}|{{{t:markup}}}", false, "mail.txt") ==
               "<b>A & B</b> \"quoted\" 'single'|<b>A & B</b> \"quoted\" 'single'");
}

BOOST_AUTO_TEST_CASE(markers_allow_spaces_inside_the_braces_as_mustache_does) {
    nidan_test::temp_dir dir;
    const auto catalogs = catalogs_with(dir, "word = \"<w>\"\n");
    BOOST_TEST(catalogs.localise("ja", "{{ t:word }}|{{{ t:word\t}}}|{{& t:word}}", true, "page.html") ==
               "&lt;w&gt;|<w>|<w>");
}

BOOST_AUTO_TEST_CASE(mustache_tags_inside_catalog_texts_survive_escaping) {
    nidan_test::temp_dir dir;
    const auto catalogs =
        catalogs_with(dir, "text = \"<期限>{{lifetime_minutes}}分 & {{{code}}} {{#error}}'{{error}}'{{/error}} "
                           "{{> _part}} {{! note }}\"\n");
    const auto page = catalogs.localise("ja", "<p>{{t:text}}</p>", true, "page.html");
    BOOST_TEST(page == "<p>&lt;期限&gt;{{lifetime_minutes}}分 &amp; {{{code}}} {{#error}}&apos;{{error}}&apos;{{/error}} "
                       "{{> _part}} {{! note }}</p>");
    // And mustache renders them afterwards with the page's data, escaping its values itself
    // (the partial, unknown here, renders as nothing).
    kainjow::mustache::mustache compiled(page);
    BOOST_TEST(compiled.is_valid(), compiled.error_message());
    kainjow::mustache::data data;
    data.set("lifetime_minutes", "10");
    data.set("code", "<123>");
    data.set("error", "<bad>");
    BOOST_TEST(compiled.render(data) == "<p>&lt;期限&gt;10分 &amp; <123> &apos;&lt;bad&gt;&apos;  </p>");
}

BOOST_AUTO_TEST_CASE(an_unclosed_brace_pair_in_a_catalog_text_is_plain_text) {
    nidan_test::temp_dir dir;
    const auto catalogs = catalogs_with(dir, "text = \"a {{ <b>\"\n");
    BOOST_TEST(catalogs.localise("ja", "{{t:text}}", true, "page.html") == "a {{ &lt;b&gt;");
}

BOOST_AUTO_TEST_CASE(other_mustache_tags_of_the_template_are_left_alone) {
    nidan_test::temp_dir dir;
    const auto catalogs = catalogs_with(dir, "word = \"w\"\n");
    const std::string page = "{{> _head}}{{x}}{{{y}}}{{&z}}{{#s}}{{/s}}{{^s}}{{/s}}{{! t:word }}{{tt:word}}{{ }}{{{{";
    BOOST_TEST(catalogs.localise("ja", page, true, "page.html") == page);
    BOOST_TEST(catalogs.localise("ja", "", true, "page.html").empty());
    BOOST_TEST(catalogs.localise("ja", "{{{{t:word}}}}", true, "page.html") == "{{w}}");
}

BOOST_AUTO_TEST_CASE(multi_line_texts_and_japanese_are_inserted_exactly) {
    const catalog_folder folder;
    const auto catalogs = folder.load();
    nidan_test::temp_dir dir;
    const auto mail = catalogs_with(dir, "body = \"\"\"\n■ログイン認証コード\n{{{code}}}\n\"\"\"\n");
    BOOST_TEST(mail.localise("ja", "{{> _greeting}}\n{{t:body}}\n", false, "code_mail.txt") ==
               "{{> _greeting}}\n■ログイン認証コード\n{{{code}}}\n\n");
    BOOST_TEST(catalogs.localise("ja", "{{t:login.notice}}", true, "login.html") ==
               "※セルフケアID・パスワードを再発行ご希望の場合は、下記カスタマーセンターにお問い合わせください。");
}

BOOST_AUTO_TEST_CASE(an_unknown_key_is_an_error_naming_the_template_and_the_key) {
    const catalog_folder folder;
    const auto catalogs = folder.load();
    const auto message = localise_error(catalogs, "<h1>\n{{t:login.title}}\n{{t:login.titel}}</h1>");
    BOOST_TEST(contains(message, "page.html line 3: {{t:login.titel}}: no such key"), message);
    BOOST_TEST(contains(message, folder.file("ja.toml").string()), message);
    // A key cut short or empty is unknown too.
    BOOST_TEST(contains(localise_error(catalogs, "{{t:login.}}"), "{{t:login.}}"));
    BOOST_TEST(contains(localise_error(catalogs, "{{t:}}"), "page.html line 1: {{t:}}"));
}

BOOST_AUTO_TEST_CASE(a_malformed_marker_is_an_error_naming_the_template) {
    const catalog_folder folder;
    const auto catalogs = folder.load();
    for (const std::string page : {"{{t:login.title}", "{{t:login.title", "{{{t:login.title}}", "{{t:login title}}",
                                   "{{t:login.title!}}", "{{t:ログイン}}"}) {
        const auto message = localise_error(catalogs, "ok\n" + page);
        BOOST_TEST(contains(message, "page.html line 2: malformed marker"), message);
    }
    // {{&t:x}}} is {{&t:x}} followed by a brace, which is text.
    BOOST_TEST(catalogs.localise("en", "{{&t:login.title}}}", true, "page.html") == "Self-care login}");
}

BOOST_AUTO_TEST_CASE(a_large_template_is_localised_in_one_pass) {
    nidan_test::temp_dir dir;
    const auto catalogs = catalogs_with(dir, "a = \"<x>\"\n");
    std::string page;
    for (int i = 0; i < 200000; ++i) page += "{{t:a}}{{v}}\n";
    const auto out = catalogs.localise("ja", page, true, "page.html");
    BOOST_TEST(out.size() == 200000u * std::string("&lt;x&gt;{{v}}\n").size());
    BOOST_TEST(out.substr(0, 15) == "&lt;x&gt;{{v}}\n");
}
