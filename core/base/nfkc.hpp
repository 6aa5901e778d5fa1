#pragma once
// Unicode Normalization Form KC (UAX #15) through libunistring, for passwords: NIST SP 800-63B
// 5.1.1.2 asks that a password be normalised before it is hashed, so that "ＰａｓｓＷｏｒｄ" typed
// with a full-width input method and "PassWord" typed on another keyboard, or a precomposed "é"
// and "e" + U+0301, are the same password.
#include <optional>
#include <string>
#include <string_view>

namespace nidan {

// The NFKC form of text, or nullopt when text is not well-formed UTF-8 (is_valid_utf8 in
// core/base/text.hpp: the same definition the account rules refuse): such text has no
// normal form, and libunistring would silently turn the bad bytes into U+FFFD, which would make
// different byte strings equal. NUL and every other code point are kept. The result is at most
// 18 times as many code points as the input (UAX #15's bound for NFKC), so a bounded input gives
// a bounded output. Throws std::bad_alloc when memory runs out.
std::optional<std::string> nfkc(std::string_view text);

}  // namespace nidan
