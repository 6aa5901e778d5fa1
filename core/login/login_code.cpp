#include "core/login/login_code.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/base/tokens.hpp"
#include "core/base/sodium.hpp"

namespace nidan {
namespace {

// U+3000 IDEOGRAPHIC SPACE and the prefix shared by U+FF10..U+FF19 in UTF-8.
constexpr std::string_view ideographic_space = "\xE3\x80\x80";
constexpr std::string_view fullwidth_digit_prefix = "\xEF\xBC";
constexpr unsigned char fullwidth_zero_last_byte = 0x90;

bool strip_one_blank_front(std::string_view& text) {
    if (text.starts_with(' ') || text.starts_with('\t')) {
        text.remove_prefix(1);
        return true;
    }
    if (text.starts_with(ideographic_space)) {
        text.remove_prefix(ideographic_space.size());
        return true;
    }
    return false;
}

bool strip_one_blank_back(std::string_view& text) {
    if (text.ends_with(' ') || text.ends_with('\t')) {
        text.remove_suffix(1);
        return true;
    }
    if (text.ends_with(ideographic_space)) {
        text.remove_suffix(ideographic_space.size());
        return true;
    }
    return false;
}

// Takes one half- or full-width digit off the front; nullopt when the front is anything else.
// Bytes are matched exactly, so invalid UTF-8 can never be mistaken for a digit.
std::optional<char> take_digit(std::string_view& text) {
    const char c = text.front();
    if (c >= '0' && c <= '9') {
        text.remove_prefix(1);
        return c;
    }
    if (text.size() < 3 || !text.starts_with(fullwidth_digit_prefix)) return std::nullopt;
    const auto last = static_cast<unsigned char>(text[2]);
    if (last < fullwidth_zero_last_byte || last > fullwidth_zero_last_byte + 9) return std::nullopt;
    text.remove_prefix(3);
    return static_cast<char>('0' + (last - fullwidth_zero_last_byte));
}

}  // namespace

std::string generate_code(unsigned length) {
    if (length == 0) throw std::invalid_argument("generate_code: length must be at least 1");
    ensure_sodium();
    std::string code(length, '0');
    for (auto& digit : code) digit = static_cast<char>('0' + randombytes_uniform(10));
    return code;
}

std::string code_mac(std::string_view server_secret, std::string_view account_key,
                     std::string_view code) {
    return hmac_sha256(server_secret, {account_key, code});
}

bool code_matches(std::string_view stored_mac, std::string_view server_secret,
                  std::string_view account_key, std::string_view code) noexcept {
    if (stored_mac.size() != crypto_auth_hmacsha256_BYTES || server_secret.empty()) return false;
    try {
        return constant_time_equal(stored_mac, code_mac(server_secret, account_key, code));
    } catch (...) {
        return false;  // allocation failure: refusing is the safe answer
    }
}

std::optional<std::string> normalise_code_input(std::string_view raw, unsigned length) {
    while (strip_one_blank_front(raw)) {
    }
    while (strip_one_blank_back(raw)) {
    }
    if (length == 0 || raw.empty()) return std::nullopt;
    std::string digits;
    while (!raw.empty()) {
        const auto digit = take_digit(raw);
        if (!digit || digits.size() == length) return std::nullopt;
        digits.push_back(*digit);
    }
    if (digits.size() != length) return std::nullopt;
    return digits;
}

}  // namespace nidan
