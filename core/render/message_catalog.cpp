#include "core/render/message_catalog.hpp"

#include "core/render/language_choice.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

namespace nidan::render {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view language_name_key = "language.name";
// Characters of a marker's key: the bare TOML key characters and the dot joining table names.
constexpr std::string_view marker_key_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
// How many further missing or unexpected keys one error message lists.
constexpr std::size_t keys_listed = 10;

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// ---- UTF-8 ----------------------------------------------------------------------------------

// The length of the well-formed UTF-8 sequence starting at text[at] (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead == 0xe0) length = 3, low = 0xa0;
    else if (lead == 0xed) length = 3, high = 0x9f;
    else if (lead >= 0xe1 && lead <= 0xef) length = 3;
    else if (lead == 0xf0) length = 4, low = 0x90;
    else if (lead >= 0xf1 && lead <= 0xf3) length = 4;
    else if (lead == 0xf4) length = 4, high = 0x8f;
    else return 0;
    if (text.size() - at < length) return 0;
    if (byte(at + 1) < low || byte(at + 1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) return 0;
    return length;
}

// Where a file's first invalid UTF-8 byte is, counted as toml++ counts source positions: lines
// from 1, columns in code points from 1.
struct text_position {
    toml::source_index line = 1;
    toml::source_index column = 1;
};

bool before(const text_position& a, const toml::source_position& b) noexcept {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
}
bool at_or_after(const text_position& a, const toml::source_position& b) noexcept { return !before(a, b); }

struct utf8_repair {
    std::string text;                            // every invalid byte replaced by '?'
    std::optional<text_position> first_invalid;  // unset when the file was valid
};

utf8_repair repair_utf8(std::string text) {
    utf8_repair out;
    text_position here;
    for (std::size_t i = 0; i < text.size();) {
        auto length = utf8_sequence_length(text, i);
        if (length == 0) {
            if (!out.first_invalid) out.first_invalid = here;
            text[i] = '?';
            length = 1;
        }
        if (text[i] == '\n') here.line++, here.column = 1;
        else here.column++;
        i += length;
    }
    out.text = std::move(text);
    return out;
}

// The first character a customer must never get from a catalog: the C0 controls other than
// tab and line breaks, and DEL. (TOML escapes such as \u0000 can put them in a string.)
std::optional<char> control_character(std::string_view text) noexcept {
    for (const char c : text)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return c;
    return std::nullopt;
}

// ---- mustache tags and markers --------------------------------------------------------------

std::size_t skip_spaces(std::string_view text, std::size_t at) noexcept {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    return at;
}

struct marker_start {
    std::size_t key = 0;           // where the key begins, after "t:"
    std::string_view close = "}}";  // "}}}" for the triple form
    bool as_is = false;            // {{{t:key}}} or {{&t:key}}: never escaped
};

// Whether the tag opening with the "{{" at text[at] is a marker: a mustache tag whose name
// starts with "t:", in any of mustache's spellings, so that none of them reaches mustache as
// an unknown variable and renders as nothing.
std::optional<marker_start> marker_at(std::string_view text, std::size_t at) noexcept {
    marker_start m;
    auto i = at + 2;
    if (i < text.size() && text[i] == '{') {
        m.close = "}}}";
        m.as_is = true;
        ++i;
    } else if (i < text.size() && text[i] == '&') {
        m.as_is = true;
        ++i;
    }
    i = skip_spaces(text, i);
    if (text.substr(i, 2) != "t:") return std::nullopt;
    m.key = i + 2;
    return m;
}

bool has_marker(std::string_view text) noexcept {
    for (auto at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", at + 2))
        if (marker_at(text, at)) return true;
    return false;
}

// {{=<% %>=}}: in a catalog text it would change the delimiters of the rest of the page.
bool has_delimiter_change(std::string_view text) noexcept {
    for (auto at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", at + 2)) {
        const auto i = skip_spaces(text, at + 2);
        if (i < text.size() && text[i] == '=') return true;
    }
    return false;
}

void append_html_escaped(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;  // as kainjow's mustache escapes it
            default: out += c;
        }
    }
}

// The text HTML-escaped except its mustache tags, which mustache must still find intact:
// {{> _partial}} escaped would be {{&gt; _partial}}. An unclosed "{{" is plain text.
void append_html_escaped_keeping_tags(std::string& out, std::string_view text) {
    std::size_t done = 0;
    for (auto at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", done)) {
        const std::string_view close = text.substr(at + 2, 1) == "{" ? "}}}" : "}}";
        const auto end = text.find(close, at + 2);
        if (end == std::string_view::npos) break;
        append_html_escaped(out, text.substr(done, at - done));
        out.append(text.substr(at, end + close.size() - at));
        done = end + close.size();
    }
    append_html_escaped(out, text.substr(done));
}

// "login.html line 12", for messages about a marker.
std::string place(std::string_view where, std::string_view text, std::size_t at) {
    const auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n') + 1;
    return std::string(where) + " line " + std::to_string(line);
}

// Up to 40 bytes of the text from `at`, within its line and never ending inside a character.
std::string excerpt(std::string_view text, std::size_t at) {
    auto part = text.substr(at, 40);
    part = part.substr(0, part.find('\n'));
    if (part.size() == 40)
        while (!part.empty() && (static_cast<unsigned char>(part.back()) & 0xc0) == 0x80) part.remove_suffix(1);
    return std::string(part);
}

// ---- reading one catalog file ---------------------------------------------------------------

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw catalog_error(file.string() + ": cannot read the language catalog");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw catalog_error(file.string() + ": cannot read the language catalog");
    return text.str();
}

// A key part as a bare TOML key writes it. Quoted keys could hold a dot ("a.b"), which would
// make a flattened key ambiguous, or characters a marker cannot name.
bool is_bare_key(std::string_view part) noexcept {
    return !part.empty() && std::ranges::all_of(part, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string_view type_name(const toml::node& node) noexcept {
    switch (node.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        default: return "no value";
    }
}

struct flat_text {
    std::string key;
    std::string text;
    toml::source_region where;
};

void flatten(const toml::table& table, const std::string& prefix, const fs::path& file, std::vector<flat_text>& out) {
    for (const auto& [part, node] : table) {
        const auto key = prefix.empty() ? std::string(part.str()) : prefix + "." + std::string(part.str());
        if (!is_bare_key(part.str()))
            throw catalog_error(file.string() + ": invalid key " + in_quotes(key) +
                                ": key parts are letters, digits, _ and - (bare TOML keys)");
        if (const auto* inner = node.as_table()) {
            flatten(*inner, key, file, out);
        } else if (const auto* text = node.as_string()) {
            out.push_back({key, text->get(), node.source()});
        } else {
            throw catalog_error(file.string() + ": key " + key + " is " + std::string(type_name(node)) +
                                "; every catalog value is a string (\"...\", or \"\"\"...\"\"\" over several lines)");
        }
    }
}

toml::table parse(const std::string& text, const fs::path& file) {
    try {
        return toml::parse(text, file.string());
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        throw catalog_error(file.string() + ": not valid TOML at line " + std::to_string(at.line) + ", column " +
                            std::to_string(at.column) + ": " + std::string(e.description()));
    }
}

// The message for invalid UTF-8 at `bad`, naming the key whose value holds it when there is
// one: the file is parsed again with the bad bytes replaced, to learn where the values are.
[[noreturn]] void reject_invalid_utf8(const utf8_repair& repaired, const fs::path& file) {
    const auto& bad = *repaired.first_invalid;
    const auto position = "line " + std::to_string(bad.line) + ", column " + std::to_string(bad.column);
    std::string key;
    try {
        std::vector<flat_text> texts;
        flatten(toml::parse(repaired.text, file.string()), "", file, texts);
        for (const auto& t : texts)
            if (at_or_after(bad, t.where.begin) && before(bad, t.where.end)) key = t.key;
    } catch (const std::exception&) {
        // Not even the repaired file parses (the bad byte may sit in a key): the position must do.
    }
    throw catalog_error(file.string() + ": invalid UTF-8" + (key.empty() ? "" : " in the value of key " + key) +
                        " at " + position + "; catalogs are UTF-8 text");
}

void check_text(const flat_text& t, const fs::path& file) {
    const auto at = file.string() + ": key " + t.key + ": ";
    if (const auto c = control_character(t.text))
        throw catalog_error(at + "holds the control character U+00" +
                            std::string{"0123456789ABCDEF"[static_cast<unsigned char>(*c) >> 4],
                                        "0123456789ABCDEF"[static_cast<unsigned char>(*c) & 0x0f]} +
                            "; only tab and line breaks are allowed");
    if (has_marker(t.text))
        throw catalog_error(at + "holds a marker ({{t:...}}); a catalog text cannot include another one");
    if (has_delimiter_change(t.text))
        throw catalog_error(at + "changes the mustache delimiters ({{=...=}}), which would break the template");
}

std::map<std::string, std::string, std::less<>> read_catalog(const fs::path& file) {
    auto repaired = repair_utf8(read_file(file));
    if (repaired.first_invalid) reject_invalid_utf8(repaired, file);
    std::vector<flat_text> texts;
    flatten(parse(repaired.text, file), "", file, texts);
    std::map<std::string, std::string, std::less<>> out;
    for (auto& t : texts) {
        check_text(t, file);
        // toml++ refuses a key defined twice, and bare key parts cannot hold a dot, so two
        // entries cannot flatten to one key; checked anyway, as the map would keep only one.
        if (!out.emplace(t.key, std::move(t.text)).second)
            throw catalog_error(file.string() + ": key " + t.key + " is defined twice");
    }
    const auto name = out.find(language_name_key);
    if (name == out.end() || name->second.empty())
        throw catalog_error(file.string() + ": missing key " + std::string(language_name_key) +
                            " (the language's own name for the language switch, such as \"English\")");
    return out;
}

// The keys of `from` that `in` lacks, in key order.
std::vector<std::string_view> keys_missing(const std::map<std::string, std::string, std::less<>>& from,
                                           const std::map<std::string, std::string, std::less<>>& in) {
    std::vector<std::string_view> out;
    for (const auto& [key, text] : from)
        if (!in.contains(key)) out.push_back(key);
    return out;
}

// "; also: a, b (12 in all)" for the keys after the first, when there are any.
std::string more_keys(const std::vector<std::string_view>& keys, std::string_view label) {
    if (keys.size() < 2) return {};
    std::string out = "; also " + std::string(label) + ":";
    for (std::size_t i = 1; i < keys.size() && i <= keys_listed; ++i) out += (i == 1 ? " " : ", ") + std::string(keys[i]);
    if (keys.size() > keys_listed + 1) out += ", ...";
    return out + " (" + std::to_string(keys.size()) + " keys in all)";
}

}  // namespace

message_catalogs message_catalogs::load(const std::filesystem::path& dir, std::string default_tag) {
    if (!is_language_tag(default_tag))
        throw catalog_error("the default language " + in_quotes(default_tag) +
                            " is not a lower-case language tag such as ja, en or pt-br");
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw catalog_error("cannot read the language folder " + dir.string() + ": " + ec.message());
    std::vector<fs::path> files;
    for (const auto& entry : it) {
        const auto name = entry.path().filename().string();
        if (entry.path().extension() != ".toml" || name.starts_with('.') || !entry.is_regular_file()) continue;
        files.push_back(entry.path());
    }
    // In name order, so that of several faulty files the same one is reported every time.
    std::ranges::sort(files);

    message_catalogs out;
    out.default_tag_ = std::move(default_tag);
    for (const auto& file : files) {
        const auto tag = file.stem().string();
        if (!is_language_tag(tag))
            throw catalog_error(file.string() + ": invalid file name; a catalog is named by its language tag in "
                                                "lower case: ja.toml, en.toml, pt-br.toml");
        out.catalogs_.emplace(tag, catalog{file, read_catalog(file)});
    }

    const auto reference = out.catalogs_.find(out.default_tag_);
    if (reference == out.catalogs_.end())
        throw catalog_error((dir / (out.default_tag_ + ".toml")).string() + ": missing; the default language " +
                            out.default_tag_ + " needs a catalog");
    const auto& defaults = reference->second;
    for (const auto& [tag, c] : out.catalogs_) {
        if (tag == out.default_tag_) continue;
        if (const auto missing = keys_missing(defaults.texts, c.texts); !missing.empty())
            throw catalog_error(c.file.string() + ": missing key " + std::string(missing.front()) +
                                " (the default language " + out.default_tag_ + " has it)" + more_keys(missing, "missing"));
        if (const auto extra = keys_missing(c.texts, defaults.texts); !extra.empty())
            throw catalog_error(c.file.string() + ": key " + std::string(extra.front()) +
                                " is not in the default language " + out.default_tag_ + " (" +
                                defaults.file.string() + "); misspelled?" + more_keys(extra, "unknown"));
    }

    out.tags_.push_back(out.default_tag_);
    for (const auto& [tag, c] : out.catalogs_)
        if (tag != out.default_tag_) out.tags_.push_back(tag);
    return out;
}

bool message_catalogs::has(std::string_view tag) const { return catalogs_.contains(tag); }

const message_catalogs::catalog& message_catalogs::catalog_of(std::string_view tag) const {
    const auto it = catalogs_.find(tag);
    if (it == catalogs_.end()) throw catalog_error("no language catalog for " + in_quotes(tag));
    return it->second;
}

const std::string& message_catalogs::text(std::string_view tag, std::string_view key) const {
    const auto& c = catalog_of(tag);
    const auto it = c.texts.find(key);
    if (it == c.texts.end()) throw catalog_error(c.file.string() + ": no key " + std::string(key));
    return it->second;
}

const std::string* message_catalogs::find(std::string_view tag, std::string_view key) const {
    const auto c = catalogs_.find(tag);
    if (c == catalogs_.end()) return nullptr;
    const auto it = c->second.texts.find(key);
    return it == c->second.texts.end() ? nullptr : &it->second;
}

std::string fill_tags(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
    for (const auto& [name, value] : values) {
        const std::string tag = "{{" + name + "}}";
        for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag, at + value.size()))
            text.replace(at, tag.size(), value);
    }
    return text;
}

const std::string& message_catalogs::language_name(std::string_view tag) const {
    return text(tag, language_name_key);
}

std::string message_catalogs::localise(std::string_view tag, std::string_view template_text, bool html,
                                       std::string_view where) const {
    const auto& c = catalog_of(tag);
    std::string out;
    out.reserve(template_text.size() + template_text.size() / 2);
    std::size_t done = 0;
    for (auto at = template_text.find("{{"); at != std::string_view::npos; at = template_text.find("{{", done)) {
        const auto m = marker_at(template_text, at);
        if (!m) {
            out.append(template_text.substr(done, at + 2 - done));
            done = at + 2;
            continue;
        }
        const auto key_end = std::min(template_text.find_first_not_of(marker_key_chars, m->key), template_text.size());
        const auto key = template_text.substr(m->key, key_end - m->key);
        const auto close = skip_spaces(template_text, key_end);
        if (template_text.substr(close, m->close.size()) != m->close)
            throw catalog_error(place(where, template_text, at) + ": malformed marker " +
                                in_quotes(excerpt(template_text, at)) +
                                "; a marker is {{t:key}}, or {{{t:key}}} for the text unescaped");
        const auto text = c.texts.find(key);
        if (text == c.texts.end())
            throw catalog_error(place(where, template_text, at) + ": {{t:" + std::string(key) +
                                "}}: no such key in the language catalog " + c.file.string());
        out.append(template_text.substr(done, at - done));
        if (html && !m->as_is)
            append_html_escaped_keeping_tags(out, text->second);
        else
            out.append(text->second);
        done = close + m->close.size();
    }
    out.append(template_text.substr(done));
    return out;
}

}  // namespace nidan::render
