#include "core/render/prerendered_page.hpp"

namespace nidan::render {

std::optional<prerendered_page> prerendered_page::split(std::string_view page, std::string_view slot) {
    if (slot.empty()) return std::nullopt;
    const auto at = page.find(slot);
    if (at == std::string_view::npos || page.find(slot, at + slot.size()) != std::string_view::npos) return std::nullopt;
    return prerendered_page(std::string(page.substr(0, at)), std::string(page.substr(at + slot.size())));
}

std::string prerendered_page::with(std::string_view value) const {
    std::string page;
    page.reserve(head_.size() + value.size() + tail_.size());
    page += head_;
    page += value;
    page += tail_;
    return page;
}

}  // namespace nidan::render
