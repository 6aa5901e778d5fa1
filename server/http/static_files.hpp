#pragma once
// CSS, images and documents under server.static_dir, served at /static/. The folder is read into
// memory at startup (it is small), so serving never touches the disk from an io thread; a
// changed file is picked up at the next start.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "server/base/http_types.hpp"

namespace nidan::server {

class static_files {
public:
    static constexpr std::string_view url_prefix = "/static/";

    // Throws std::runtime_error when the folder holds more than max_total_bytes.
    static_files(const std::filesystem::path& dir, std::chrono::seconds max_age,
                 std::size_t max_total_bytes = 64 * 1024 * 1024);

    // nullopt when there is no such file (the caller answers 404).
    std::optional<response> serve(const request& req, std::string_view path) const;
    std::size_t size() const { return files_.size(); }

private:
    struct file {
        std::string content;
        std::string content_type;
        std::string etag;
    };
    std::map<std::string, file, std::less<>> files_;  // key: path relative to the folder, '/' separated
    std::string cache_control_;
};

// The media type for a file name's extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view filename);

}  // namespace nidan::server
