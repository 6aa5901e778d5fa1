#include "server/http/static_files.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/base/text.hpp"
#include "server/http/error_pages.hpp"
#include "core/base/sodium.hpp"

namespace nidan::server {
namespace {

struct media_type {
    std::string_view extension;
    std::string_view type;
};

constexpr media_type media_types[] = {
    {".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
    {".html", "text/html; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
    {".json", "application/json"},         {".svg", "image/svg+xml"},
    {".png", "image/png"},                 {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},               {".gif", "image/gif"},
    {".webp", "image/webp"},               {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},              {".pdf", "application/pdf"},
};

std::string strong_etag(const std::string& content) {
    unsigned char digest[16];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(content.data()),
                       content.size(), nullptr, 0);
    char hex[sizeof digest * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return std::string("\"") + hex + "\"";
}

// If-None-Match may list several tags, or "*".
bool etag_matches(std::string_view header, std::string_view etag) {
    if (header == "*") return true;
    return header.find(etag) != std::string_view::npos;
}

}  // namespace

std::string_view content_type_for(std::string_view filename) {
    for (const auto& m : media_types) {
        if (filename.size() >= m.extension.size() &&
            filename.substr(filename.size() - m.extension.size()) == m.extension)
            return m.type;
    }
    return "application/octet-stream";
}

static_files::static_files(const std::filesystem::path& dir, std::chrono::seconds max_age,
                           std::size_t max_total_bytes)
    : cache_control_("public, max-age=" + std::to_string(max_age.count())) {
    ensure_sodium();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return;  // no static files is a valid set-up
    std::size_t total = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        auto relative = std::filesystem::relative(it->path(), dir).generic_string();
        if (relative.starts_with('.') || relative.find("/.") != std::string::npos) continue;  // dotfiles stay private
        file f{read_whole_file(it->path(), "static file"), std::string(content_type_for(relative)), {}};
        total += f.content.size();
        if (total > max_total_bytes)
            throw std::runtime_error("static folder " + dir.string() + " is larger than " +
                                     std::to_string(max_total_bytes) + " bytes");
        f.etag = strong_etag(f.content);
        files_.emplace(std::move(relative), std::move(f));
    }
    if (ec) throw std::runtime_error("cannot read static folder " + dir.string() + ": " + ec.message());
}

std::optional<response> static_files::serve(const request& req, std::string_view path) const {
    if (!path.starts_with(url_prefix)) return std::nullopt;
    // Only names that were found at startup are served, so "..", encoded slashes and the like
    // simply do not match anything.
    auto it = files_.find(path.substr(url_prefix.size()));
    if (it == files_.end()) return std::nullopt;
    const file& f = it->second;

    const bool not_modified = etag_matches(req[http::field::if_none_match], f.etag);
    response res{not_modified ? http::status::not_modified : http::status::ok, req.version()};
    add_common_headers(res);
    res.set(http::field::etag, f.etag);
    res.set(http::field::cache_control, cache_control_);
    res.keep_alive(req.keep_alive());
    if (not_modified) return res;
    res.set(http::field::content_type, f.content_type);
    res.body() = f.content;
    res.prepare_payload();
    return res;
}

}  // namespace nidan::server
