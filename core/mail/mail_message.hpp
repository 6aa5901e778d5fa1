#pragma once
// Builds the RFC 5322 / MIME 1.0 text of a mail nidan sends: UTF-8 plain text, base64 body,
// RFC 2047 encoded subject and display name, Date, a unique Message-ID and
// Auto-Submitted: auto-generated. Lines stay within RFC 5322's 78-character recommendation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nidan::mail {

struct message_fields {
    std::string from_address;  // "no-reply@example.jp"
    std::string from_name;     // display name, any UTF-8 ("楽天コミュニケーションズ")
    std::string to_address;
    std::string subject;       // any UTF-8
    std::string body;          // UTF-8 text, '\n' or "\r\n" line ends
    std::int64_t date_unix = 0;       // the Date header (UTC, shown as +0000)
    std::string message_id;    // "<...@domain>"; see make_message_id
};

// The whole message with CRLF line ends, ready for smtp::envelope::message.
// Throws std::invalid_argument for a field that could inject headers (CR or LF in a header value;
// an address holding a control character, space, <, > or other specials; a message_id not of the
// form "<...>"), for invalid UTF-8, and for a date_unix outside the years 1900..9999.
std::string build_message(const message_fields& fields);

// RFC 2047 "B" encoded-words for a header value (only when it holds non-ASCII or characters that
// need it), split so that no encoded-word exceeds 75 characters and no UTF-8 character is cut;
// the words are joined with CRLF SP (folding).
// Printable ASCII without "=?" comes back unchanged, folded at spaces when too long; a token
// too long to fold is encoded instead, so that every line stays within 78 characters.
// `used` is how many characters already precede the value on its first line (9 for
// "Subject: "), at most 58. Throws std::invalid_argument for invalid UTF-8 or a larger `used`.
std::string encode_header_words(std::string_view utf8, std::size_t used = 0);

// "<random-hex.unix-time@domain>" from a CSPRNG (16 random bytes). The domain must be a host
// name (letters, digits, '-', '.'), else std::invalid_argument.
std::string make_message_id(std::string_view domain, std::int64_t now_unix);

// RFC 5322 date-time, e.g. "Wed, 25 Nov 2026 04:19:18 +0000". Independent of the locale.
// Years 1900..9999 only (RFC 5322's range in practice), else std::invalid_argument.
std::string format_date(std::int64_t unix_seconds);

// Base64 with lines of 76 characters ended by CRLF (RFC 2045).
std::string base64_lines(std::string_view data);

}  // namespace nidan::mail
