#pragma once
// Mustache templates from the templates/ folder, read once at startup. {{x}} escapes HTML;
// rendering is safe from many threads at once.
#include <filesystem>
#include <map>
#include <string>

#include <kainjow/mustache.hpp>

namespace nidan {

using template_data = kainjow::mustache::data;

class template_store {
public:
    // Reads every *.html and *.txt file of dir (not recursive). Throws std::runtime_error naming
    // the file when one cannot be read or does not parse.
    explicit template_store(const std::filesystem::path& dir);

    bool has(const std::string& name) const { return sources_.contains(name); }
    // Throws std::out_of_range for an unknown name.
    std::string render(const std::string& name, const template_data& data) const;

private:
    std::map<std::string, std::string> sources_;
};

}  // namespace nidan
