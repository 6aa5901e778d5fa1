#pragma once
// Small text helpers shared by the HTTP parsing code, the rules and the file loaders.
#include <cstddef>
#include <optional>
#include <filesystem>
#include <string>
#include <string_view>

namespace nidan {

inline bool is_ascii_letter(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
inline bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads one code point of well-formed UTF-8 at text[pos] (pos < text.size()) and moves pos past
// it; nullopt for any ill-formed sequence.
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& pos) noexcept;

// Code points in text, or nullopt when it is not valid UTF-8.
std::optional<std::size_t> count_code_points(std::string_view text) noexcept;

// Well-formed UTF-8 only: no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF, no truncated sequences.
bool is_valid_utf8(std::string_view text) noexcept;

// A lower-case language tag as catalogs are named: [a-z]{2,3}(-[a-z0-9]{2,8})*, at most 35
// characters (the length RFC 5646 section 4.4.1 asks implementations to support). "ja", "en",
// "pt-br", "zh-hant-tw". For catalog file names, operator.language and cookie values.
inline constexpr std::size_t max_language_tag_length = 35;
bool is_language_tag(std::string_view text) noexcept;

// Strips HTTP optional whitespace (spaces and tabs, RFC 9110 section 5.6.3) at both ends.
std::string_view trim_ows(std::string_view s) noexcept;

// The first `count` bytes of `bytes` (all when shorter) as lowercase hex: short tags in logs
// and CLI listings that name a value without showing it.
std::string hex_prefix(std::string_view bytes, std::size_t count);

// The whole file; throws std::runtime_error naming `what` and the path when it cannot be read.
std::string read_whole_file(const std::filesystem::path& path, std::string_view what);

}  // namespace nidan
