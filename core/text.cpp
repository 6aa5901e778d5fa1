#include "core/text.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nidan {

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string read_whole_file(const std::filesystem::path& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + std::string(what) + " " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string hex_prefix(std::string_view bytes, std::size_t count) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char ch : bytes.substr(0, count)) {
        const auto byte = static_cast<unsigned char>(ch);
        out += digits[byte >> 4];
        out += digits[byte & 0x0f];
    }
    return out;
}

}  // namespace nidan
