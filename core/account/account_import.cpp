#include "core/account/account_import.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <utility>

#include "core/security/password_hasher.hpp"
#include "core/base/text.hpp"

namespace nidan {
namespace {

constexpr std::size_t column_count = 5;
constexpr std::size_t password_column = 4;
constexpr std::array<std::string_view, column_count> column_names{"portal", "id", "email", "phone",
                                                                  "password"};

struct csv_field {
    std::string value;
    bool quoted = false;
};

struct csv_record {
    std::size_t line = 0;  // physical line where the record starts
    std::vector<csv_field> fields;
    std::string problem;  // the first structural problem, empty when well-formed
};

// Splits text into RFC 4180 records while counting physical lines. It never stops at a malformed
// record: it notes the problem and resynchronises at the next line end outside quotes, so one bad
// record costs only itself (an unterminated quote, by nature, runs to the end of the file).
class csv_reader {
public:
    explicit csv_reader(std::string_view text) : text_(text) {}

    bool next(csv_record& record) {
        if (pos_ >= text_.size()) return false;
        record.line = line_;
        record.fields.clear();
        record.problem.clear();
        while (true) {
            record.fields.push_back(read_field(record));
            if (pos_ >= text_.size()) return true;
            if (text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            // read_field stops only at ',', a line end or the end of the text.
            pos_ += text_[pos_] == '\r' ? 2 : 1;
            ++line_;
            return true;
        }
    }

private:
    bool at_line_end() const {
        return text_[pos_] == '\n' ||
               (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n');
    }
    bool at_delimiter() const {
        return pos_ >= text_.size() || text_[pos_] == ',' || at_line_end();
    }

    static void note(csv_record& record, std::string_view problem) {
        if (record.problem.empty()) record.problem = problem;
    }

    csv_field read_field(csv_record& record) {
        const std::size_t start = pos_;
        std::size_t first = pos_;
        while (first < text_.size() && text_[first] == ' ') ++first;
        if (first < text_.size() && text_[first] == '"') {
            pos_ = first + 1;
            return read_quoted(record);
        }
        for (; !at_delimiter(); ++pos_) {
            if (text_[pos_] == '"')
                note(record, "a quote inside an unquoted field (quote the whole field)");
            if (text_[pos_] == '\r') note(record, "a carriage return without a line feed");
        }
        return {std::string(text_.substr(start, pos_ - start)), false};
    }

    // pos_ is just past the opening quote.
    csv_field read_quoted(csv_record& record) {
        csv_field field{{}, true};
        while (true) {
            if (pos_ >= text_.size()) {
                note(record, "unterminated quoted field (runs to the end of the file)");
                return field;
            }
            const char c = text_[pos_++];
            if (c == '"') {
                if (pos_ < text_.size() && text_[pos_] == '"') {
                    field.value += '"';
                    ++pos_;
                    continue;
                }
                break;
            }
            if (c == '\n') ++line_;
            field.value += c;
        }
        while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
        if (!at_delimiter()) {
            note(record, "text after a closing quote");
            while (!at_delimiter()) ++pos_;
        }
        return field;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
};

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

bool is_blank(const csv_record& record) {
    return record.problem.empty() && record.fields.size() == 1 && !record.fields[0].quoted &&
           trim_spaces(record.fields[0].value).empty();
}

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        const auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        return lower(x) == lower(y);
    });
}

bool is_header(const csv_record& record) {
    if (record.fields.size() != column_count) return false;
    for (std::size_t i = 0; i < column_count; ++i) {
        if (record.fields[i].quoted ||
            !equals_ignoring_ascii_case(trim_spaces(record.fields[i].value), column_names[i]))
            return false;
    }
    return true;
}

void append(std::string& reasons, const problem& reason) {
    if (!reason) return;
    if (!reasons.empty()) reasons += "; ";
    reasons += *reason;
}

// A ready-made hash: its shape, then what checking it at every login would cost. A string with
// the shape but p != 1 gets the cost reason, which says why, rather than "malformed".
problem phc_problem(const std::string& phc, const import_rules& rules) {
    const auto cost = password_hasher::cost_of(phc);
    if (!cost || (cost->parallelism == 1 && !password_hasher::looks_like_phc(phc)))
        return "password: malformed argon2id hash";
    return import_cost_problem(*cost, rules.hash, rules.cost);
}

}  // namespace

import_rules import_rules_of(const config& cfg) {
    import_rules rules;
    rules.min_password_chars = cfg.password.min_length;
    rules.hash = {cfg.hash.memory_kib, cfg.hash.iterations};
    rules.cost = cost_bounds_of(cfg.hash);
    rules.known_portals = cfg.portal_ids();
    return rules;
}

import_result parse_account_csv(std::istream& in, const import_rules& rules) {
    const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::string_view text = content;
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

    import_result result;
    // (portal, id) -> line of its first record, to name it when a later record repeats it.
    std::map<std::pair<std::string, std::string>, std::size_t> first_seen;
    csv_reader reader(text);
    csv_record record;
    bool first_record = true;
    while (reader.next(record)) {
        if (is_blank(record)) continue;
        const bool may_be_header = std::exchange(first_record, false);
        if (!record.problem.empty()) {
            result.rejections.push_back({record.line, record.problem});
            continue;
        }
        if (may_be_header && is_header(record)) continue;
        if (record.fields.size() != column_count) {
            result.rejections.push_back(
                {record.line, "expected 5 fields (portal,id,email,phone,password), found " +
                                  std::to_string(record.fields.size())});
            continue;
        }

        std::array<std::string, column_count> values;
        std::string reasons;
        for (std::size_t i = 0; i < column_count; ++i) {
            const auto& field = record.fields[i];
            values[i] = field.quoted || i == password_column
                            ? field.value
                            : std::string(trim_spaces(field.value));
            if (!is_valid_utf8(values[i]))
                append(reasons, std::string(column_names[i]) + ": not valid UTF-8");
        }
        if (!reasons.empty()) {
            result.rejections.push_back({record.line, reasons});
            continue;
        }

        import_row row;
        row.line = record.line;
        row.portal = std::move(values[0]);
        row.selfcare_id = std::move(values[1]);
        row.email = std::move(values[2]);
        append(reasons, portal_problem(row.portal, rules.known_portals));
        append(reasons, selfcare_id_problem(row.selfcare_id));
        const auto [earlier, inserted] =
            first_seen.try_emplace({row.portal, row.selfcare_id}, row.line);
        if (!inserted)
            append(reasons, "duplicate of line " + std::to_string(earlier->second) +
                                " (same portal and id)");
        append(reasons, email_problem(row.email));
        if (auto phone = normalise_phone(values[3]))
            row.phone = std::move(*phone);
        else
            append(reasons, phone_problem(values[3]));
        if (values[password_column].starts_with("$argon2")) {
            append(reasons, phc_problem(values[password_column], rules));
            row.phc = std::move(values[password_column]);
        } else {
            append(reasons, password_problem(values[password_column], rules.min_password_chars,
                                             password_config::max_length));
            row.password = std::move(values[password_column]);
        }

        if (reasons.empty())
            result.rows.push_back(std::move(row));
        else
            result.rejections.push_back({record.line, std::move(reasons)});
    }
    return result;
}

}  // namespace nidan
