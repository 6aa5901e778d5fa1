#pragma once
// Mustache templates from the templates/ folder, read once at startup. {{x}} escapes HTML;
// rendering is safe from many threads at once.
//
// A file whose name starts with "_" is a partial, not a page: any template includes it with
// {{> _name}} (the file name without its extension), and it renders with the including page's
// data and escaping. A partial file's final line break is not part of it, so a
// {{> _name}} tag on its own line renders as exactly the partial's lines.
//
// With language catalogs (templates/lang/<tag>.toml, core/render/message_catalog.hpp) every
// template is localised once per language at load: its {{t:key}} markers replaced by that
// language's texts, so rendering in any language costs what rendering did before.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <kainjow/mustache.hpp>

#include "core/render/message_catalog.hpp"

namespace nidan {

using template_data = kainjow::mustache::data;

class template_store {
public:
    // Reads every *.html and *.txt file of dir (not recursive). Throws std::runtime_error naming
    // the file when one cannot be read or does not parse, includes a partial that does not exist,
    // or is a partial that includes itself (directly or through others), and when two partials
    // have the same name (_x.html and _x.txt). No catalogs: a {{t:key}} marker renders as nothing.
    explicit template_store(const std::filesystem::path& dir);
    // The same, localised in every language of the catalogs in dir/lang, default_language the
    // reference. Also throws render::catalog_error (naming the file and key) for a catalog
    // problem or a marker naming a key the catalogs lack.
    template_store(const std::filesystem::path& dir, const std::string& default_language);

    // Pages only: partials are not rendered on their own.
    bool has(const std::string& name) const { return default_pages().contains(name); }
    // Throws std::out_of_range for an unknown page name or language.
    std::string render(const std::string& name, const template_data& data) const;
    std::string render(std::string_view language, const std::string& name, const template_data& data) const;

    // The catalogs' languages, the default first; {""} without catalogs.
    const std::vector<std::string>& languages() const { return languages_; }
    const std::string& default_language() const { return languages_.front(); }
    bool has_language(std::string_view language) const { return pages_.contains(language); }
    // The text of key in language; throws render::catalog_error for an unknown key or language,
    // and without catalogs.
    const std::string& text(std::string_view language, std::string_view key) const;
    // The text with its {{name}} tags replaced by the values (no escaping: the caller's page
    // escapes what it shows), e.g. text_with("ja", "message.code_expired", {{"minutes", "20"}}).
    std::string text_with(std::string_view language, std::string_view key,
                          const std::vector<std::pair<std::string, std::string>>& values) const;
    bool has_text(std::string_view language, std::string_view key) const;

private:
    using page_map = std::map<std::string, std::string>;               // by file name: "login.html"
    using partial_map = std::map<std::string, template_data>;          // by name: "_head"
    void load(const std::filesystem::path& dir);
    const page_map& default_pages() const { return pages_.begin()->second; }

    std::optional<render::message_catalogs> catalogs_;
    std::vector<std::string> languages_;
    std::map<std::string, page_map, std::less<>> pages_;        // by language
    std::map<std::string, partial_map, std::less<>> partials_;  // by language, holding the source text
    std::uint64_t id_;                                          // tells stores apart in the per-thread caches
};

}  // namespace nidan
