#include "core/base/nfkc.hpp"

#include <uninorm.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "core/base/text.hpp"

namespace nidan {
namespace {

struct free_deleter {
    void operator()(std::uint8_t* p) const noexcept { std::free(p); }
};

}  // namespace

std::optional<std::string> nfkc(std::string_view text) {
    if (!is_valid_utf8(text)) return std::nullopt;
    if (text.empty()) return std::string();
    std::size_t length = 0;
    // With no result buffer given, libunistring mallocs one of the right size.
    std::unique_ptr<std::uint8_t, free_deleter> normal(
        u8_normalize(UNINORM_NFKC, reinterpret_cast<const std::uint8_t*>(text.data()), text.size(),
                     nullptr, &length));
    // Valid input leaves memory as the only way to fail.
    if (!normal) throw std::bad_alloc();
    return std::string(reinterpret_cast<const char*>(normal.get()), length);
}

}  // namespace nidan
