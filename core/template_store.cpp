#include "core/template_store.hpp"

#include "core/text.hpp"

#include <stdexcept>
#include <unordered_map>

namespace nidan {

template_store::template_store(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) throw std::runtime_error("cannot read templates folder " + dir.string() + ": " + ec.message());
    for (const auto& entry : it) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".html" && ext != ".txt")) continue;
        auto text = read_whole_file(entry.path(), "template");
        kainjow::mustache::mustache parsed(text);
        if (!parsed.is_valid())
            throw std::runtime_error("template " + entry.path().string() + ": " + parsed.error_message());
        sources_.emplace(entry.path().filename().string(), std::move(text));
    }
}

std::string template_store::render(const std::string& name, const template_data& data) const {
    // kainjow's render() mutates the template object, so each thread keeps its own parsed copy.
    thread_local std::unordered_map<const void*, std::unordered_map<std::string, kainjow::mustache::mustache>> parsed;
    auto& mine = parsed[this];
    auto it = mine.find(name);
    if (it == mine.end()) it = mine.emplace(name, kainjow::mustache::mustache(sources_.at(name))).first;
    return it->second.render(data);
}

}  // namespace nidan
