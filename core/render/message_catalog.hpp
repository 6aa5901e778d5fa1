#pragma once
// Per-language message catalogs: every customer-visible text of the pages and mails, one TOML
// file per language in one folder (ja.toml, en.toml, ...). Templates name a text by its key
// with a marker, {{t:login.title}}, that localise() replaces before mustache compiles the
// template, so a page is compiled once per language at startup and renders as fast as before.
//
// A catalog file is <dir>/<tag>.toml, tag a lower-case language tag (is_language_tag). Its
// tables flatten to dotted keys: [login] title = "..." is the key login.title. Every value is a
// string, and every catalog has language.name, the language's name in itself ("日本語",
// "English") for the language switch. The default language's catalog is the reference: every
// other catalog has exactly its keys, so adding a language is adding one complete file, and a
// missing or misspelled key stops the server at startup instead of showing an empty text.
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nidan::render {

// Anything wrong with a catalog folder, a catalog file or a marker. The message names the file
// (or the template) and the key.
class catalog_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Immutable once loaded: safe to read from many threads at once.
class message_catalogs {
public:
    // Reads every *.toml file of dir (not recursive; names starting with "." are skipped as
    // editors' files). Throws catalog_error when: default_tag is not a language tag, the folder
    // cannot be read, a file cannot be read or is not valid TOML, a file name is not
    // <language tag>.toml, the default language has no file, a value is not a string or holds
    // invalid UTF-8 or a control character other than tab and line breaks, a key part is not a
    // bare TOML key ([A-Za-z0-9_-]), a catalog has no language.name, a text contains a marker
    // ({{t:) or a mustache delimiter change ({{=), or a catalog lacks a key the default has or
    // has one the default lacks.
    static message_catalogs load(const std::filesystem::path& dir, std::string default_tag);

    // The default first, then the others in name order.
    const std::vector<std::string>& tags() const { return tags_; }
    const std::string& default_tag() const { return default_tag_; }
    // Tags are compared as they are: lower case (choose_language gives them so).
    bool has(std::string_view tag) const;
    // Throws catalog_error for an unknown tag or key.
    const std::string& text(std::string_view tag, std::string_view key) const;
    // The same, or nullptr for an unknown tag or key.
    const std::string* find(std::string_view tag, std::string_view key) const;
    // text(tag, "language.name").
    const std::string& language_name(std::string_view tag) const;

    // template_text with its markers replaced by the texts of language `tag`, for mustache to
    // compile afterwards. A marker is a mustache tag whose name starts with "t:":
    //   {{t:key}}                  the text, HTML-escaped (& < > " ') when html is true
    //   {{{t:key}}} or {{&t:key}}  the text as it is: texts with markup, and (html false) mails
    // Spaces inside the braces are allowed, as in mustache ({{ t:key }}). Mustache tags inside a
    // text ({{lifetime_minutes}}, {{{code}}}, {{#error}}) are kept exactly, never escaped, so
    // mustache renders them with the page's data. Markers are replaced wherever they are, also
    // inside mustache comments. Throws catalog_error naming `where` (the template's file name)
    // and the key for an unknown key or a malformed marker, and for an unknown tag.
    std::string localise(std::string_view tag, std::string_view template_text, bool html,
                         std::string_view where) const;

private:
    struct catalog {
        std::filesystem::path file;
        std::map<std::string, std::string, std::less<>> texts;  // by dotted key
    };

    message_catalogs() = default;
    const catalog& catalog_of(std::string_view tag) const;

    std::string default_tag_;
    std::vector<std::string> tags_;
    std::map<std::string, catalog, std::less<>> catalogs_;  // by tag
};

// text with each {{name}} tag of `values` replaced by its value, as the code fills a catalog text
// it shows itself (message.code_expired's {{minutes}}); no escaping, the page escapes what it shows.
std::string fill_tags(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace nidan::render
