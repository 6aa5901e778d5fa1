#pragma once
// Mustache templates from the templates/ folder, read once at startup. {{x}} escapes HTML;
// rendering is safe from many threads at once.
//
// A file whose name starts with "_" is a partial, not a page: any template includes it with
// {{> _name}} (the file name without its extension), and it renders with the including page's
// data and escaping. A partial file's final line break is not part of it, so a
// {{> _name}} tag on its own line renders as exactly the partial's lines.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <kainjow/mustache.hpp>

namespace nidan {

using template_data = kainjow::mustache::data;

class template_store {
public:
    // Reads every *.html and *.txt file of dir (not recursive). Throws std::runtime_error naming
    // the file when one cannot be read or does not parse, includes a partial that does not exist,
    // or is a partial that includes itself (directly or through others), and when two partials
    // have the same name (_x.html and _x.txt).
    explicit template_store(const std::filesystem::path& dir);

    // Pages only: partials are not rendered on their own.
    bool has(const std::string& name) const { return pages_.contains(name); }
    // Throws std::out_of_range for an unknown page name.
    std::string render(const std::string& name, const template_data& data) const;

private:
    std::map<std::string, std::string> pages_;       // by file name: "login.html"
    std::map<std::string, template_data> partials_;  // by name: "_head", holding the source text
    std::uint64_t id_;                               // tells stores apart in the per-thread caches
};

}  // namespace nidan
