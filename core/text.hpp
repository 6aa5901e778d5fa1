#pragma once
// Small text helpers shared by the HTTP parsing code and the file loaders.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace nidan {

// Strips HTTP optional whitespace (spaces and tabs, RFC 9110 section 5.6.3) at both ends.
std::string_view trim_ows(std::string_view s) noexcept;

// The first `count` bytes of `bytes` (all when shorter) as lowercase hex: short tags in logs
// and CLI listings that name a value without showing it.
std::string hex_prefix(std::string_view bytes, std::size_t count);

// The whole file; throws std::runtime_error naming `what` and the path when it cannot be read.
std::string read_whole_file(const std::filesystem::path& path, std::string_view what);

}  // namespace nidan
