#include "core/mail/mail_message.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>

#include "core/base/sodium.hpp"
#include "core/base/text.hpp"

namespace nidan::mail {
namespace {

constexpr std::size_t max_line = 78;      // RFC 5322 2.1.1, not counting the CRLF
constexpr std::size_t max_word = 75;      // RFC 2047 2
constexpr std::size_t max_used = 58;      // leaves room for one word holding a 4-byte character
constexpr std::size_t body_line = 76;     // RFC 2045 6.8
constexpr std::string_view crlf = "\r\n";
constexpr std::string_view word_open = "=?UTF-8?B?";
constexpr std::string_view word_close = "?=";

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

unsigned byte_at(std::string_view data, std::size_t i) {
    return static_cast<unsigned char>(data[i]);
}

std::string base64(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < data.size(); i += 3) {
        const std::size_t have = std::min<std::size_t>(3, data.size() - i);
        unsigned group = byte_at(data, i) << 16;
        if (have > 1) group |= byte_at(data, i + 1) << 8;
        if (have > 2) group |= byte_at(data, i + 2);
        out += base64_alphabet[(group >> 18) & 63U];
        out += base64_alphabet[(group >> 12) & 63U];
        out += have > 1 ? base64_alphabet[(group >> 6) & 63U] : '=';
        out += have > 2 ? base64_alphabet[group & 63U] : '=';
    }
    return out;
}

bool is_printable_ascii(char c) { return c >= 0x20 && c <= 0x7E; }

bool has_line_break(std::string_view text) {
    return text.find_first_of("\r\n") != std::string_view::npos;
}

// Text a decoder would show exactly as written: anything else (non-ASCII, controls, or what
// looks like the start of an encoded-word) must be encoded.
bool is_plain_text(std::string_view text) {
    return std::all_of(text.begin(), text.end(), is_printable_ascii) &&
           text.find("=?") == std::string_view::npos;
}

// Length of the UTF-8 sequence a (valid) lead byte starts.
std::size_t sequence_length(char lead) {
    const auto b = static_cast<unsigned char>(lead);
    if (b < 0x80) return 1;
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    return 4;
}

// Raw bytes whose base64 fits in an encoded-word of `width` characters.
std::size_t payload_bytes(std::size_t width) {
    return (width - word_open.size() - word_close.size()) / 4 * 3;
}

// Whole characters only per word, so each word decodes to valid UTF-8 on its own: RFC 2047 5
// requires that, and some clients show replacement characters otherwise.
std::string encoded_words(std::string_view utf8, std::size_t used) {
    std::string out;
    std::size_t room = max_line - used;
    for (std::size_t pos = 0; pos < utf8.size();) {
        const std::size_t budget = payload_bytes(std::min(max_word, room));
        std::size_t end = pos;
        while (end < utf8.size() && end + sequence_length(utf8[end]) - pos <= budget)
            end += sequence_length(utf8[end]);
        if (!out.empty()) out += "\r\n ";
        out += word_open;
        out += base64(utf8.substr(pos, end - pos));
        out += word_close;
        pos = end;
        room = max_line - 1;  // continuation lines start with the folding space
    }
    return out;
}

// Where the piece starting at `start` ends: before the last space of the next run of spaces, so
// that a folded line always begins with a space followed by text (RFC 5322 3.2.2 forbids lines
// of only white space).
std::size_t next_fold_point(std::string_view text, std::size_t start) {
    for (std::size_t i = start + 1; i + 1 < text.size(); ++i) {
        if (text[i] == ' ' && text[i + 1] != ' ') return i;
    }
    return text.size();
}

// Plain text folded at spaces; nullopt when some piece cannot fit on a line.
std::optional<std::string> folded_text(std::string_view text, std::size_t used) {
    std::string out;
    std::size_t line = used;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = next_fold_point(text, start);
        const auto piece = text.substr(start, end - start);
        if (line + piece.size() > max_line) {
            if (start == 0 || piece.size() > max_line) return std::nullopt;
            out += crlf;
            line = 0;
        }
        out += piece;
        line += piece.size();
        start = end;
    }
    return out;
}

std::size_t last_line_length(std::string_view text) {
    const auto pos = text.rfind(crlf);
    return pos == std::string_view::npos ? text.size() : text.size() - pos - crlf.size();
}

// RFC 5322 3.2.3 atext: what a display name may hold without quoting.
bool is_atext(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Atoms separated by single spaces: a phrase that reads back exactly as written.
bool is_atom_phrase(std::string_view name) {
    if (name.front() == ' ' || name.back() == ' ' || name.find("  ") != std::string_view::npos)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return c == ' ' || is_atext(c); });
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

// The display name as a phrase, starting `used` characters into its line.
std::string display_name(std::string_view name, std::size_t used) {
    if (is_plain_text(name)) {
        if (is_atom_phrase(name)) return encode_header_words(name, used);
        auto text = quoted(name);
        if (used + text.size() <= max_line) return text;
    }
    // Encoded-words may not stand inside a quoted string, so names needing quotes and encoding
    // are encoded whole.
    return encoded_words(name, used);
}

// Addresses are written bare or inside <...>; a character that could close the brackets, start
// a comment or a second address, or break the line would let the value add to the header.
void check_address(std::string_view what, std::string_view address) {
    const bool ok = !address.empty() && std::all_of(address.begin(), address.end(), [](char c) {
        constexpr std::string_view specials = "<>()[],;:\\\"";
        return c > 0x20 && c < 0x7F && specials.find(c) == std::string_view::npos;
    });
    if (!ok) throw std::invalid_argument(std::string(what) + ": not a plain mail address");
}

void check_header_text(std::string_view what, std::string_view value) {
    if (has_line_break(value))
        throw std::invalid_argument(std::string(what) + ": line breaks are not allowed");
    if (!is_valid_utf8(value)) throw std::invalid_argument(std::string(what) + ": not valid UTF-8");
}

void check_message_id(std::string_view id) {
    const bool ok = id.size() > 2 && id.front() == '<' && id.back() == '>' &&
                    std::all_of(id.begin() + 1, id.end() - 1, [](char c) {
                        return c > 0x20 && c < 0x7F && c != '<' && c != '>';
                    });
    if (!ok) throw std::invalid_argument("message_id: not of the form <...>");
}

// "Name: value" for a value that cannot be folded inside (an address, a message id): when it is
// too long for the line it moves to a continuation line of its own.
std::string single_token_header(std::string_view name, std::string_view value) {
    std::string out(name);
    out += name.size() + 2 + value.size() > max_line ? ":\r\n " : ": ";
    out += value;
    return out;
}

std::string from_header(const message_fields& fields) {
    if (fields.from_name.empty()) return single_token_header("From", fields.from_address);
    std::string out = "From: ";
    out += display_name(fields.from_name, out.size());
    const std::string address = "<" + fields.from_address + ">";
    out += last_line_length(out) + 1 + address.size() > max_line ? "\r\n " : " ";
    out += address;
    return out;
}

std::string subject_header(std::string_view subject) {
    if (subject.empty()) return "Subject:";
    constexpr std::string_view name = "Subject: ";
    return std::string(name) + encode_header_words(subject, name.size());
}

std::string crlf_line_ends(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' || text[i] == '\n') {
            out += crlf;
            if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            out += text[i];
        }
    }
    return out;
}

void append_two_digits(std::string& out, unsigned value) {
    out += static_cast<char>('0' + value / 10);
    out += static_cast<char>('0' + value % 10);
}

bool is_host_name(std::string_view domain) {
    return !domain.empty() && std::all_of(domain.begin(), domain.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
    });
}

}  // namespace

std::string encode_header_words(std::string_view utf8, std::size_t used) {
    if (used > max_used) throw std::invalid_argument("encode_header_words: used exceeds 58");
    if (!is_valid_utf8(utf8)) throw std::invalid_argument("header value: not valid UTF-8");
    if (is_plain_text(utf8)) {
        if (auto text = folded_text(utf8, used)) return *text;
    }
    return encoded_words(utf8, used);
}

std::string base64_lines(std::string_view data) {
    const std::string encoded = base64(data);
    std::string out;
    out.reserve(encoded.size() + (encoded.size() / body_line + 1) * crlf.size());
    for (std::size_t pos = 0; pos < encoded.size(); pos += body_line) {
        out.append(encoded, pos, body_line);
        out += crlf;
    }
    return out;
}

std::string format_date(std::int64_t unix_seconds) {
    using namespace std::chrono;
    constexpr auto unix_time = [](year y) {
        return sys_seconds{sys_days{y / January / 1}}.time_since_epoch().count();
    };
    constexpr std::int64_t earliest = unix_time(year{1900});
    constexpr std::int64_t latest = unix_time(year{10000});
    if (unix_seconds < earliest || unix_seconds >= latest)
        throw std::invalid_argument("date: outside the years 1900..9999");

    // Fixed English names: strftime would follow the process locale (e.g. "木" for Thursday).
    static constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                               "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> month_names{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

    const sys_seconds time{seconds{unix_seconds}};
    const auto day = floor<days>(time);
    const year_month_day date{day};
    const hh_mm_ss clock{time - day};

    std::string out(day_names[weekday{day}.c_encoding()]);
    out += ", ";
    append_two_digits(out, static_cast<unsigned>(date.day()));
    out += ' ';
    out += month_names[static_cast<unsigned>(date.month()) - 1];
    out += ' ';
    out += std::to_string(static_cast<int>(date.year()));
    out += ' ';
    append_two_digits(out, static_cast<unsigned>(clock.hours().count()));
    out += ':';
    append_two_digits(out, static_cast<unsigned>(clock.minutes().count()));
    out += ':';
    append_two_digits(out, static_cast<unsigned>(clock.seconds().count()));
    out += " +0000";
    return out;
}

std::string make_message_id(std::string_view domain, std::int64_t now_unix) {
    if (!is_host_name(domain)) throw std::invalid_argument("message id: domain is not a host name");
    ensure_sodium();

    std::array<unsigned char, 16> random{};
    randombytes_buf(random.data(), random.size());
    std::array<char, 2 * 16 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());

    std::string out = "<";
    out += hex.data();
    out += '.';
    out += std::to_string(now_unix);
    out += '@';
    out += domain;
    out += '>';
    return out;
}

std::string build_message(const message_fields& fields) {
    check_address("from_address", fields.from_address);
    check_address("to_address", fields.to_address);
    check_header_text("from_name", fields.from_name);
    check_header_text("subject", fields.subject);
    check_message_id(fields.message_id);
    if (!is_valid_utf8(fields.body)) throw std::invalid_argument("body: not valid UTF-8");

    const std::array<std::string, 10> headers{
        "Date: " + format_date(fields.date_unix),
        from_header(fields),
        single_token_header("To", fields.to_address),
        subject_header(fields.subject),
        single_token_header("Message-ID", fields.message_id),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: base64",
        "Auto-Submitted: auto-generated",
        "",  // ends the header section
    };
    std::string out;
    for (const auto& line : headers) {
        out += line;
        out += crlf;
    }
    out += base64_lines(crlf_line_ends(fields.body));
    return out;
}

}  // namespace nidan::mail
