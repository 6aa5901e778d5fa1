#pragma once
// Which PostgreSQL database goes with a test's data folder (postgres_server.hpp makes them), so
// helpers given only the folder find the same store as the server: stored_state.hpp's
// data_folder, and run_nidan(), which adds the backend's --set values to a nidan command whose
// storage.data_dir is such a folder. No libpq here: the support library includes it.
#include <filesystem>
#include <map>
#include <string>

namespace nidan_test {

// Which database a login_world's data folder goes with, so helpers that are given only the
// folder (stored_state.hpp's data_folder) find the same store as the server.
inline std::map<std::string, std::string>& postgres_url_registry() {
    static std::map<std::string, std::string> urls;
    return urls;
}
inline void register_postgres_url(const std::string& data_dir, const std::string& url) {
    postgres_url_registry()[std::filesystem::path(data_dir).lexically_normal().string()] = url;
}
// "" when the folder has no database (an LMDB world).
inline std::string postgres_url_of(const std::string& data_dir) {
    const auto& urls = postgres_url_registry();
    const auto found = urls.find(std::filesystem::path(data_dir).lexically_normal().string());
    return found == urls.end() ? std::string() : found->second;
}

}  // namespace nidan_test
