#pragma once
// A page rendered once with a slot for the one value that changes per view (the login form's
// token), so that serving it costs one string join instead of a template render.
#include <optional>
#include <string>
#include <string_view>

namespace nidan::render {

class prerendered_page {
public:
    // `page` as rendered with `slot` where the per-view value goes. nullopt unless the slot
    // occurs exactly once: a template that shows the value twice (or not at all) is rendered
    // in full per view instead.
    static std::optional<prerendered_page> split(std::string_view page, std::string_view slot);

    // The page with `value` in the slot. The value is put in as given: the caller passes text
    // that needs no HTML escaping (a token of URL-safe characters).
    std::string with(std::string_view value) const;

private:
    prerendered_page(std::string head, std::string tail) : head_(std::move(head)), tail_(std::move(tail)) {}
    std::string head_;
    std::string tail_;
};

}  // namespace nidan::render
