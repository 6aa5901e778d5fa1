#include "server/app/file_modes.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "core/base/log.hpp"

namespace nidan::server {
namespace {

// Others reading, or group or others writing (a writer could plant data or truncate the log).
// Group read is left alone: a log collector in the group is a usual setup.
constexpr mode_t exposed_bits = S_IROTH | S_IWOTH | S_IWGRP;

bool warn_if_exposed(const std::filesystem::path& file, std::string_view what) {
    if (file.empty()) return false;
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0) return false;
    if ((st.st_mode & exposed_bits) == 0) return false;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    log::warn("file.exposed").add("what", what).add("file", file.string()).add("mode", std::string_view(mode))
        .add("hint", S_ISDIR(st.st_mode) ? "chmod 700 it" : "chmod 600 (or 640) it");
    return true;
}

}  // namespace

unsigned warn_exposed_files(const config& cfg) {
    unsigned warnings = 0;
    const auto& data = cfg.storage.data_dir;
    warnings += warn_if_exposed(data, "storage.data_dir");
    warnings += warn_if_exposed(data / "data.mdb", "storage.data_dir");
    warnings += warn_if_exposed(cfg.smtp.password_file, "smtp.password_file");
    if (cfg.tls.enabled) warnings += warn_if_exposed(cfg.tls.key_file, "tls.key_file");
    warnings += warn_if_exposed(cfg.log.file, "log.file");
    if (cfg.log.audit_file != cfg.log.file) warnings += warn_if_exposed(cfg.log.audit_file, "log.audit_file");
    return warnings;
}

}  // namespace nidan::server
