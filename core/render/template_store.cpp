#include "core/render/template_store.hpp"

#include "core/base/text.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace nidan {
namespace {

namespace fs = std::filesystem;
using kainjow::mustache::mustache;
using kainjow::mustache::trim;

struct template_file {
    fs::path path;
    std::string text;
    std::vector<std::string> includes;  // names of the partials its {{> name}} tags include
};

// Partial name -> its file.
using partial_files = std::map<std::string, const template_file*>;

bool is_template(const fs::directory_entry& entry) {
    const auto ext = entry.path().extension();
    return entry.is_regular_file() && (ext == ".html" || ext == ".txt");
}

bool is_partial(const template_file& file) { return file.path.filename().string().starts_with('_'); }

std::string partial_name(const template_file& file) { return file.path.stem().string(); }

struct delimiters {
    std::string open = "{{";
    std::string close = "}}";
};

// The delimiters set by a {{=<% %>=}} tag, given its trimmed contents (already checked by
// kainjow's parser), split the way kainjow splits them.
delimiters changed_delimiters(const std::string& contents) {
    const auto inner = trim(contents.substr(1, contents.size() - 2));
    const auto space = inner.find(' ');
    return {inner.substr(0, space), inner.substr(inner.find_first_not_of(' ', space))};
}

// The partials a template includes, with its tags found the way kainjow's parser finds them.
// Needed because kainjow renders nothing, silently, for an unknown partial: a misspelled
// name must stop the server at startup, not leave a page without its head.
std::vector<std::string> included_partials(const std::string& text) {
    std::vector<std::string> names;
    delimiters delim;
    for (auto at = text.find(delim.open); at != std::string::npos; at = text.find(delim.open, at)) {
        auto start = at + delim.open.size();
        const bool triple = delim.open == "{{" && delim.close == "}}" && text.compare(start, 1, "{") == 0;
        const std::string close = triple ? "}}}" : delim.close;
        if (triple) ++start;
        const auto end = text.find(close, start);
        if (end == std::string::npos) break;  // an unclosed tag: the parser refused the file already
        const auto contents = trim(text.substr(start, end - start));
        if (contents.starts_with('='))
            delim = changed_delimiters(contents);
        else if (!triple && contents.starts_with('>'))
            names.push_back(trim(contents.substr(1)));
        at = end + close.size();
    }
    return names;
}

template_file read_template(const fs::path& path) {
    auto text = read_whole_file(path, "template");
    const mustache parsed(text);
    if (!parsed.is_valid()) throw std::runtime_error("template " + path.string() + ": " + parsed.error_message());
    auto includes = included_partials(text);
    return {path, std::move(text), std::move(includes)};
}

std::vector<template_file> read_templates(const fs::path& dir) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw std::runtime_error("cannot read templates folder " + dir.string() + ": " + ec.message());
    std::vector<template_file> files;
    for (const auto& entry : it)
        if (is_template(entry)) files.push_back(read_template(entry.path()));
    // In name order, so that of several faulty files the same one is reported every time.
    std::ranges::sort(files, {}, &template_file::path);
    return files;
}

partial_files index_partials(const std::vector<template_file>& files) {
    partial_files partials;
    for (const auto& file : files) {
        if (!is_partial(file)) continue;
        const auto [it, added] = partials.emplace(partial_name(file), &file);
        if (!added)
            throw std::runtime_error("template " + file.path.string() + ": the partial " + it->first +
                                     " is also " + it->second->path.string() + "; rename one of them");
    }
    return partials;
}

void check_includes_exist(const template_file& file, const partial_files& partials) {
    for (const auto& name : file.includes)
        if (!partials.contains(name))
            throw std::runtime_error("template " + file.path.string() + ": includes {{> " + name +
                                     "}}, but there is no such partial (partials are the files whose name starts with "
                                     "\"_\", included by that name without extension: _head.html as {{> _head}})");
}

// Follows includes from each partial. kainjow would render a partial that includes itself,
// directly or through others, until the stack overflows, so such a loop is refused at load.
class include_loop_finder {
public:
    explicit include_loop_finder(const partial_files& partials) : partials_(partials) {}

    // Throws naming the partial's file when following its includes comes back to it.
    void check(const std::string& name) {
        if (ends_.contains(name)) return;
        if (const auto seen = std::ranges::find(chain_, name); seen != chain_.end())
            throw std::runtime_error("template " + partials_.at(name)->path.string() + ": the partial " + name +
                                     " includes itself (" + loop_from(seen) + name + ")");
        chain_.push_back(name);
        for (const auto& next : partials_.at(name)->includes) check(next);
        chain_.pop_back();
        ends_.insert(name);
    }

private:
    std::string loop_from(std::vector<std::string>::const_iterator first) const {
        std::string text;
        for (auto it = first; it != chain_.end(); ++it) text += *it + " > ";
        return text;
    }

    const partial_files& partials_;
    std::vector<std::string> chain_;  // the partials being followed, outermost first
    std::set<std::string> ends_;      // partials whose includes are known to end
};

// The final line break of a partial's file ends the line of the {{> name}} tag in the page;
// kept, it would add an empty line after every partial.
std::string without_final_line_break(std::string text) {
    if (!text.ends_with('\n')) return text;
    text.pop_back();
    if (text.ends_with('\r')) text.pop_back();
    return text;
}

// Partials come from the store only, never from the data handed to render(): kainjow would
// otherwise take any data value named like a partial as template text.
class store_context : public kainjow::mustache::context<std::string> {
public:
    store_context(const template_data& data, const std::map<std::string, template_data>& partials)
        : kainjow::mustache::context<std::string>(&data), partials_(partials) {}

    const template_data* get_partial(const std::string& name) const override {
        const auto it = partials_.find(name);
        return it == partials_.end() ? nullptr : &it->second;
    }

private:
    const std::map<std::string, template_data>& partials_;
};

// The page's text with every {{> name}} tag replaced by the partial's text, itself expanded:
// rendering the result gives what kainjow gives with partials (a partial renders in the
// including context, and its final line break is gone either way), but the page is parsed once
// per thread instead of every partial again on every render. A text that changes its
// delimiters is left as it is (the tags could not be found by plain search), and its partials
// are then rendered by kainjow. Loops were refused before this runs.
std::string inline_partials(const std::string& text, const std::map<std::string, std::string>& partial_texts) {
    if (text.find("{{=") != std::string::npos) return text;
    std::string out;
    std::size_t done = 0;
    for (auto at = text.find("{{"); at != std::string::npos; at = text.find("{{", done)) {
        const auto end = text.find("}}", at + 2);
        if (end == std::string::npos) break;
        const auto contents = trim(text.substr(at + 2, end - at - 2));
        if (!contents.starts_with('>')) {
            out.append(text, done, end + 2 - done);
            done = end + 2;
            continue;
        }
        const auto& partial = partial_texts.at(trim(contents.substr(1)));
        if (partial.find("{{=") != std::string::npos) return text;
        out.append(text, done, at - done);
        out += inline_partials(partial, partial_texts);
        done = end + 2;
    }
    out.append(text, done);
    return out;
}

std::uint64_t next_store_id() {
    static std::atomic<std::uint64_t> last{0};
    return ++last;
}

}  // namespace

template_store::template_store(const std::filesystem::path& dir) : languages_{""}, id_(next_store_id()) { load(dir); }

template_store::template_store(const std::filesystem::path& dir, const std::string& default_language)
    : catalogs_(render::message_catalogs::load(dir / "lang", default_language)),
      languages_(catalogs_->tags()),
      id_(next_store_id()) {
    load(dir);
}

void template_store::load(const std::filesystem::path& dir) {
    const auto files = read_templates(dir);
    const auto partials = index_partials(files);
    for (const auto& file : files) check_includes_exist(file, partials);
    include_loop_finder loops(partials);
    for (const auto& [name, file] : partials) loops.check(name);

    for (const auto& language : languages_) {
        // Markers are replaced in each file's own text, before the partials are inlined, so an
        // error names the file the marker is in.
        const auto localised = [&](const template_file& file) {
            if (!catalogs_) return file.text;
            const auto name = file.path.filename().string();
            return catalogs_->localise(language, file.text, file.path.extension() == ".html", name);
        };
        std::map<std::string, std::string> partial_texts;
        auto& partial_data = partials_[language];
        for (const auto& file : files) {
            if (!is_partial(file)) continue;
            auto text = without_final_line_break(localised(file));
            partial_data.emplace(partial_name(file), template_data(text));
            partial_texts.emplace(partial_name(file), std::move(text));
        }
        auto& pages = pages_[language];
        for (const auto& file : files) {
            if (is_partial(file)) continue;
            auto text = inline_partials(localised(file), partial_texts);
            // A text may carry mustache tags; the whole must still parse in every language.
            if (const mustache parsed(text); !parsed.is_valid())
                throw std::runtime_error("template " + file.path.string() + " in language " + language + ": " +
                                         parsed.error_message());
            pages.emplace(file.path.filename().string(), std::move(text));
        }
    }
}

std::string template_store::render(const std::string& name, const template_data& data) const {
    return render(default_language(), name, data);
}

std::string template_store::render(std::string_view language, const std::string& name, const template_data& data) const {
    // kainjow's render() mutates the template object, so each thread keeps its own parsed copy.
    // Keyed by the store's id, not its address: a later store at the same address must not
    // find this one's pages.
    thread_local std::unordered_map<std::uint64_t, std::unordered_map<std::string, mustache>> parsed;
    const auto pages = pages_.find(language);
    if (pages == pages_.end()) throw std::out_of_range("templates: no language " + std::string(language));
    std::string cache_key(language);
    cache_key += '\0';
    cache_key += name;
    auto& mine = parsed[id_];
    auto it = mine.find(cache_key);
    if (it == mine.end()) it = mine.emplace(std::move(cache_key), mustache(pages->second.at(name))).first;
    store_context context(data, partials_.find(language)->second);
    return it->second.render(context);
}

const std::string& template_store::text(std::string_view language, std::string_view key) const {
    if (!catalogs_) throw render::catalog_error("templates: no language catalogs (templates/lang/) for " + std::string(key));
    return catalogs_->text(language, key);
}

bool template_store::has_text(std::string_view language, std::string_view key) const {
    return catalogs_ && catalogs_->find(language, key) != nullptr;
}

std::string template_store::text_with(std::string_view language, std::string_view key,
                                      const std::vector<std::pair<std::string, std::string>>& values) const {
    return render::fill_tags(text(language, key), values);
}

}  // namespace nidan
