#include "core/smtp/smtp_reply.hpp"

#include <algorithm>

namespace nidan::smtp {
namespace {

struct reply_line {
    int code = 0;
    bool last = false;
    std::string_view text;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5321 textstring is HTAB and printable ASCII; bytes >= 0x80 are let through because some
// relays put UTF-8 in their greeting and it harms nothing here. Other control bytes are refused:
// they have no business in a reply and would end up in logs.
bool is_text_byte(char c) {
    const auto b = static_cast<unsigned char>(c);
    return b == '\t' || (b >= 0x20 && b != 0x7F);
}

// One line without its CRLF: "NNN", "NNN text" (last line) or "NNN-text" (more follow).
std::optional<reply_line> parse_line(std::string_view line) {
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
        return std::nullopt;
    reply_line parsed;
    parsed.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (parsed.code < 200 || parsed.code > 599) return std::nullopt;
    if (line.size() == 3) {
        parsed.last = true;
        return parsed;
    }
    if (line[3] != ' ' && line[3] != '-') return std::nullopt;
    parsed.last = line[3] == ' ';
    parsed.text = line.substr(4);
    if (!std::all_of(parsed.text.begin(), parsed.text.end(), is_text_byte)) return std::nullopt;
    return parsed;
}

}  // namespace

std::string reply::summary() const {
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) text += " / ";
        for (const char c : lines[i]) {
            const auto b = static_cast<unsigned char>(c);
            if (b >= 0x20 && b != 0x7F) text += c;
        }
    }
    std::string out = std::to_string(code);
    if (!text.empty()) out += " " + text;
    return out;
}

// A reply needs at least "NNN\r\n"; smaller limits would make every reply an error.
reply_parser::reply_parser(std::size_t max_line, std::size_t max_lines)
    : max_line_(std::max<std::size_t>(max_line, 5)), max_lines_(std::max<std::size_t>(max_lines, 1)) {}

void reply_parser::feed(std::string_view bytes) {
    if (failed() || bytes.empty()) return;
    const std::size_t from = buffer_.size();
    buffer_.append(bytes);
    scan(from);
}

void reply_parser::fail(std::string why) {
    error_ = std::move(why);
    discard_buffered();
}

// Checks each line completed by the bytes from `from` on. Earlier bytes of the current line held
// no LF, so the search can start there.
void reply_parser::scan(std::size_t from) {
    while (!failed()) {
        const std::size_t lf = buffer_.find('\n', from);
        if (lf == std::string::npos) {
            if (buffer_.size() - line_start_ >= max_line_)
                fail("reply line longer than " + std::to_string(max_line_) + " bytes");
            break;
        }
        if (lf + 1 - line_start_ > max_line_) {
            fail("reply line longer than " + std::to_string(max_line_) + " bytes");
            break;
        }
        if (lf == line_start_ || buffer_[lf - 1] != '\r') {
            fail("bare LF in reply");
            break;
        }
        const std::string_view line(buffer_.data() + line_start_, lf - 1 - line_start_);
        if (!check_line(line)) break;
        if (reply_code_ == 0) reply_ends_.push_back(lf + 1);
        line_start_ = lf + 1;
        from = lf + 1;
    }
    // Replies nobody reads must not pile up either.
    if (!failed() && buffer_.size() > max_line_ * (max_lines_ + 1)) fail("too much unread input");
}

// Validates one complete line (without CRLF) against the reply it belongs to.
bool reply_parser::check_line(std::string_view line) {
    if (line.find('\r') != std::string_view::npos) {
        fail("bare CR in reply");
        return false;
    }
    const auto parsed = parse_line(line);
    if (!parsed) {
        fail("ill-formed reply line");
        return false;
    }
    if (reply_code_ != 0 && parsed->code != reply_code_) {
        fail("reply lines with different codes");
        return false;
    }
    if (++reply_lines_ > max_lines_) {
        fail("reply longer than " + std::to_string(max_lines_) + " lines");
        return false;
    }
    if (parsed->last) {
        reply_code_ = 0;
        reply_lines_ = 0;
    } else {
        reply_code_ = parsed->code;
    }
    return true;
}

std::optional<reply> reply_parser::next() {
    if (failed() || reply_ends_.empty()) return std::nullopt;
    const std::size_t end = reply_ends_.front();
    reply result;
    // Every line up to `end` was checked by scan(), so parsing cannot fail here.
    for (std::size_t pos = 0; pos < end;) {
        const std::size_t crlf = buffer_.find("\r\n", pos);
        const auto parsed = parse_line(std::string_view(buffer_).substr(pos, crlf - pos));
        if (!parsed) break;
        result.code = parsed->code;
        result.lines.emplace_back(parsed->text);
        pos = crlf + 2;
    }
    buffer_.erase(0, end);
    reply_ends_.erase(reply_ends_.begin());
    for (auto& e : reply_ends_) e -= end;
    line_start_ -= end;
    return result;
}

void reply_parser::discard_buffered() {
    buffer_.clear();
    line_start_ = 0;
    reply_code_ = 0;
    reply_lines_ = 0;
    reply_ends_.clear();
}

}  // namespace nidan::smtp
