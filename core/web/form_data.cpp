#include "core/web/form_data.hpp"

#include "core/base/text.hpp"

namespace nidan {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool has_forbidden_control(std::string_view text) {
    for (unsigned char c : text) {
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) return true;
    }
    return false;
}

}  // namespace

std::string_view form_data::get(std::string_view name) const {
    auto it = fields.find(name);
    return it == fields.end() ? std::string_view{} : std::string_view(it->second);
}

std::optional<std::string> form_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<form_data> parse_form(std::string_view body, std::string& error, std::size_t max_fields) {
    form_data form;
    std::size_t count = 0;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) continue;
        if (++count > max_fields) {
            error = "too many form fields";
            return std::nullopt;
        }
        const auto eq = pair.find('=');
        auto name = form_decode(pair.substr(0, eq));
        auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value) {
            error = "malformed percent-encoding";
            return std::nullopt;
        }
        if (!is_valid_utf8(*name) || !is_valid_utf8(*value)) {
            error = "the form is not valid UTF-8";
            return std::nullopt;
        }
        if (has_forbidden_control(*name) || has_forbidden_control(*value)) {
            error = "control characters in the form";
            return std::nullopt;
        }
        if (!form.fields.emplace(std::move(*name), std::move(*value)).second) {
            error = "a form field is given twice";
            return std::nullopt;
        }
    }
    return form;
}

}  // namespace nidan
