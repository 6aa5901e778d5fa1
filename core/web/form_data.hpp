#pragma once
// application/x-www-form-urlencoded bodies (HTML forms), parsed strictly: a malformed percent
// escape, invalid UTF-8, a control character other than tab/CR/LF, too many fields or a field
// given twice makes the whole form invalid, so a handler never acts on a half-understood form.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nidan {

struct form_data {
    std::map<std::string, std::string, std::less<>> fields;
    // The field's value, or "" when absent.
    std::string_view get(std::string_view name) const;
    bool has(std::string_view name) const { return fields.find(name) != fields.end(); }
};

// nullopt with `error` set when the body is not an acceptable form.
std::optional<form_data> parse_form(std::string_view body, std::string& error, std::size_t max_fields = 32);

// Percent-decoding with '+' as space; nullopt on a malformed escape.
std::optional<std::string> form_decode(std::string_view text);

}  // namespace nidan
