#pragma once
// Which catalog language a request gets: the customer's explicit choice (a cookie) first, then
// the browser's Accept-Language, then the default. Pure functions of their arguments, safe
// against any header a client can send: never throws on input, work bounded by small caps.
#include <string>
#include <string_view>
#include <vector>

#include "core/base/text.hpp"

namespace nidan::render {

// is_language_tag (core/base/text.hpp) checks a cookie value or a catalog's file name.
using nidan::is_language_tag;

// One of `available` (as spelled there), or default_tag:
//  1. cookie_value, when it names an available tag (compared case-insensitively);
//  2. else the best range of accept_language (RFC 9110 section 12.5.4): the highest q first,
//     equal q in header order. A range matches an available tag exactly, else the longest
//     available tag it extends (en-us gives en), else the first available tag that extends it
//     (en gives en-gb). "*" gives the default (the first available tag not refused, when the
//     default is refused). q=0 refuses the range and the tags extending it
//     (en;q=0 refuses en and en-gb) for every other range. Malformed ranges and q values are
//     skipped; only the first 4 KiB of the header and its first 32 ranges are read;
//  3. else default_tag.
std::string choose_language(std::string_view cookie_value, std::string_view accept_language,
                            const std::vector<std::string>& available, std::string_view default_tag);

}  // namespace nidan::render
