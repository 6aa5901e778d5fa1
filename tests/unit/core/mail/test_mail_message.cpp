#define BOOST_TEST_MODULE mail_message
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/account/account_rules.hpp"
#include "core/base/text.hpp"
#include "core/mail/code_mail.hpp"
#include "core/mail/mail_message.hpp"
#include "core/render/template_store.hpp"
#include "nidan_test/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace nidan::mail;

namespace {

// The test's own decoder, so the encoder is checked against something it does not share code with.
std::string base64_decode(std::string_view text) {
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (const char c : text) {
        if (c == '=' || c == '\r' || c == '\n') continue;
        const auto value = alphabet.find(c);
        if (value == std::string_view::npos) throw std::runtime_error("not base64");
        bits = (bits << 6) | static_cast<unsigned>(value);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFFU);
        }
    }
    return out;
}

std::vector<std::string> split(std::string_view text, std::string_view separator) {
    std::vector<std::string> parts;
    for (;;) {
        const auto pos = text.find(separator);
        parts.emplace_back(text.substr(0, pos));
        if (pos == std::string_view::npos) return parts;
        text.remove_prefix(pos + separator.size());
    }
}

// Every line of a message ends in CRLF, holds no other CR or LF, and fits in 78 characters.
void check_lines(const std::string& message) {
    BOOST_TEST_REQUIRE(message.size() >= 2);
    BOOST_TEST(message.substr(message.size() - 2) == "\r\n");
    auto lines = split(message, "\r\n");
    lines.pop_back();  // after the final CRLF
    for (const auto& line : lines) {
        BOOST_TEST(line.find_first_of("\r\n") == std::string::npos, line);
        BOOST_TEST(line.size() <= 78u, line);
    }
}

// Decodes "=?UTF-8?B?...?=" words separated by CRLF SP, checking each word's shape and that each
// decodes to whole UTF-8 characters on its own.
std::string decode_words(const std::string& encoded) {
    static const std::regex word("=\\?UTF-8\\?B\\?([A-Za-z0-9+/]*=*)\\?=");
    std::string out;
    for (const auto& part : split(encoded, "\r\n ")) {
        std::smatch m;
        BOOST_TEST_REQUIRE(std::regex_match(part, m, word), part);
        BOOST_TEST(part.size() <= 75u, part);
        const auto decoded = base64_decode(m[1].str());
        BOOST_TEST(nidan::is_valid_utf8(decoded), part);
        out += decoded;
    }
    return out;
}

message_fields sample_fields() {
    message_fields f;
    f.from_address = "no-reply@comm.rakuten.co.jp";
    f.from_name = "楽天コミュニケーションズ";
    f.to_address = "taro.yamada@example.jp";
    f.subject = "【楽天コミュニケーションズ】ログイン認証コードの送付";
    f.body = "ログイン認証コード\n123456\n";
    f.date_unix = 1795000000;
    f.message_id = "<0123456789abcdef0123456789abcdef.1795000000@comm.rakuten.co.jp>";
    return f;
}

// The body of a built message, decoded.
std::string message_body(const std::string& message) {
    const auto blank = message.find("\r\n\r\n");
    BOOST_TEST_REQUIRE(blank != std::string::npos);
    return base64_decode(message.substr(blank + 4));
}

std::string header_block(const std::string& message) {
    return message.substr(0, message.find("\r\n\r\n") + 2);
}

// Whether the header section holds `header` (possibly folded) as a whole header.
bool has_header(const std::string& message, const std::string& header) {
    return ("\r\n" + header_block(message)).find("\r\n" + header + "\r\n") != std::string::npos;
}

const std::string sender = "<no-reply@comm.rakuten.co.jp>";

code_mail_params ip_phone_params() {
    code_mail_params p;
    p.portal = "ip-phone";
    p.language = "ja";
    p.portal_name = "IP電話サービス";
    p.operator_name = "楽天コミュニケーションズ";
    p.sender_domain = "comm.rakuten.co.jp";
    p.support_url = "https://comm.rakuten.co.jp/toiawase/selfcare-mail/";
    p.code = "482913";
    p.lifetime_minutes = 20;
    return p;
}

const nidan::template_store& real_templates() {
    static const nidan::template_store store(fs::path(NIDAN_SOURCE_DIR) / "templates", "ja");
    return store;
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(build)

BOOST_AUTO_TEST_CASE(whole_message_byte_for_byte) {
    const std::string expected =
        "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"
        "From: =?UTF-8?B?5qW95aSp44Kz44Of44Ol44OL44Kx44O844K344On44Oz44K6?=\r\n"
        " <no-reply@comm.rakuten.co.jp>\r\n"
        "To: taro.yamada@example.jp\r\n"
        "Subject: =?UTF-8?B?44CQ5qW95aSp44Kz44Of44Ol44OL44Kx44O844K344On44Oz44K644CR?=\r\n"
        " =?UTF-8?B?44Ot44Kw44Kk44Oz6KqN6Ki844Kz44O844OJ44Gu6YCB5LuY?=\r\n"
        "Message-ID: <0123456789abcdef0123456789abcdef.1795000000@comm.rakuten.co.jp>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "\r\n"
        "44Ot44Kw44Kk44Oz6KqN6Ki844Kz44O844OJDQoxMjM0NTYNCg==\r\n";
    const auto message = build_message(sample_fields());
    BOOST_TEST(message == expected);
    check_lines(message);
}

BOOST_AUTO_TEST_CASE(body_line_ends_become_crlf) {
    auto f = sample_fields();
    f.body = "a\nb\r\nc\rd\n\ne";
    BOOST_TEST(message_body(build_message(f)) == "a\r\nb\r\nc\r\nd\r\n\r\ne");
}

BOOST_AUTO_TEST_CASE(long_body_uses_76_character_lines) {
    auto f = sample_fields();
    f.body.clear();
    for (int i = 0; i < 200; ++i) f.body += "認証コード " + std::to_string(i) + "\n";
    const auto message = build_message(f);
    check_lines(message);
    const auto body_lines = split(message.substr(message.find("\r\n\r\n") + 4), "\r\n");
    for (std::size_t i = 0; i + 2 < body_lines.size(); ++i) BOOST_TEST(body_lines[i].size() == 76u);
    BOOST_TEST(message_body(message).find("認証コード 199\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ascii_display_names) {
    auto f = sample_fields();
    f.from_name = "Nidan Mailer";
    BOOST_TEST(has_header(build_message(f), "From: Nidan Mailer " + sender));

    f.from_name = "Example, Inc. \"Support\"";
    BOOST_TEST(has_header(build_message(f), "From: \"Example, Inc. \\\"Support\\\"\" " + sender));

    f.from_name = "=?x?=";  // would otherwise be read as an encoded-word
    BOOST_TEST(has_header(build_message(f), "From: =?UTF-8?B?PT94Pz0=?= " + sender));

    // Too long to quote on one line: encoded whole, since encoded-words cannot sit in quotes.
    f.from_name = "Customer Centre, Self-care Login Service (automatic notification), all portals";
    auto message = build_message(f);
    check_lines(message);
    const auto from = header_block(message).find("\r\nFrom: =?UTF-8?B?");
    BOOST_TEST_REQUIRE(from != std::string::npos);
    const auto words_end = header_block(message).find("\r\n " + sender + "\r\n", from);
    BOOST_TEST_REQUIRE(words_end != std::string::npos);
    BOOST_TEST(decode_words(message.substr(from + 8, words_end - from - 8)) == f.from_name);

    f.from_name.clear();
    BOOST_TEST(has_header(build_message(f), "From: no-reply@comm.rakuten.co.jp"));
}

BOOST_AUTO_TEST_CASE(long_values_stay_within_78_characters) {
    auto f = sample_fields();
    f.from_name = std::string(100, 'x') + " 楽天コミュニケーションズ株式会社 カスタマーセンター";
    f.subject.clear();
    for (int i = 0; i < 12; ++i) f.subject += "【お知らせ】ログイン認証コード𠮷 ";
    f.to_address = "a.very.long.local.part.for.testing.the.header.folding@subdomain.example.co.jp";
    f.message_id = make_message_id("mail.selfcare.example.co.jp", 1795000000);
    const auto message = build_message(f);
    check_lines(message);
    BOOST_TEST(has_header(message, "To:\r\n " + f.to_address));
    BOOST_TEST(has_header(message, "Message-ID:\r\n " + f.message_id));
}

BOOST_AUTO_TEST_CASE(header_injection_is_refused) {
    const auto refused = [](auto change) {
        auto f = sample_fields();
        change(f);
        BOOST_CHECK_THROW(build_message(f), std::invalid_argument);
    };
    refused([](message_fields& f) { f.subject = "認証\r\nBcc: victim@example.jp"; });
    refused([](message_fields& f) { f.subject = "a\nb"; });
    refused([](message_fields& f) { f.subject = "a\rb"; });
    refused([](message_fields& f) { f.from_name = "Nidan\r\nBcc: victim@example.jp"; });
    refused([](message_fields& f) { f.from_address = "a@example.jp\r\nBcc: victim@example.jp"; });
    refused([](message_fields& f) { f.to_address = "a@example.jp\nBcc: victim@example.jp"; });
    refused([](message_fields& f) { f.to_address = "a@example.jp>, <victim@example.jp"; });
    refused([](message_fields& f) { f.to_address = "<a@example.jp"; });
    refused([](message_fields& f) { f.to_address = "a b@example.jp"; });
    refused([](message_fields& f) { f.to_address = "a@example.jp,victim@example.jp"; });
    refused([](message_fields& f) { f.to_address = "a@example.jp\t"; });
    refused([](message_fields& f) { f.to_address = ""; });
    refused([](message_fields& f) { f.from_address = "a(comment)@example.jp"; });
    refused([](message_fields& f) { f.message_id = "<a@b>\r\nBcc: victim@example.jp"; });
    refused([](message_fields& f) { f.message_id = "a@b"; });
    refused([](message_fields& f) { f.message_id = "<a b@c>"; });
    refused([](message_fields& f) { f.message_id = ""; });
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_refused) {
    const auto refused = [](auto change) {
        auto f = sample_fields();
        change(f);
        BOOST_CHECK_THROW(build_message(f), std::invalid_argument);
    };
    refused([](message_fields& f) { f.subject = "\xE3\x81"; });
    refused([](message_fields& f) { f.from_name = "\xC0\xAF"; });
    refused([](message_fields& f) { f.body = "ok \xFF"; });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(header_words)

BOOST_AUTO_TEST_CASE(plain_ascii_is_unchanged) {
    BOOST_TEST(encode_header_words("") == "");
    BOOST_TEST(encode_header_words("Your login code") == "Your login code");
    BOOST_TEST(encode_header_words("Code: 123456 (valid 20 min) <ok> \"x\"", 9) ==
               "Code: 123456 (valid 20 min) <ok> \"x\"");
}

BOOST_AUTO_TEST_CASE(long_ascii_is_folded_at_spaces) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += (i ? " word" : "word") + std::to_string(i);
    const auto folded = encode_header_words(text, 9);
    BOOST_TEST(folded.find("=?") == std::string::npos);
    BOOST_TEST(folded.find("\r\n ") != std::string::npos);
    check_lines("Subject: " + folded + "\r\n");
    std::string unfolded = folded;
    for (auto pos = unfolded.find("\r\n"); pos != std::string::npos; pos = unfolded.find("\r\n"))
        unfolded.erase(pos, 2);
    BOOST_TEST(unfolded == text);
}

BOOST_AUTO_TEST_CASE(folding_never_leaves_a_blank_line) {
    const std::string text = std::string(60, 'a') + "      " + std::string(20, 'b');
    const auto folded = encode_header_words(text, 9);
    BOOST_TEST(folded == std::string(60, 'a') + "     \r\n " + std::string(20, 'b'));
}

BOOST_AUTO_TEST_CASE(what_cannot_stay_plain_is_encoded) {
    BOOST_TEST(encode_header_words("=?UTF-8?B?x?=") == "=?UTF-8?B?PT9VVEYtOD9CP3g/PQ==?=");
    BOOST_TEST(encode_header_words("a\tb") == "=?UTF-8?B?YQli?=");
    BOOST_TEST(encode_header_words("é") == "=?UTF-8?B?w6k=?=");
    // A token longer than any line cannot be folded, so it is encoded instead.
    const std::string token(100, 'a');
    const auto encoded = encode_header_words(token, 9);
    BOOST_TEST(decode_words(encoded) == token);
    check_lines("Subject: " + encoded + "\r\n");
}

BOOST_AUTO_TEST_CASE(long_japanese_is_split_on_character_boundaries) {
    // 3-byte kana and kanji, 4-byte 𠮷 and emoji, ASCII: every split position gets exercised.
    std::string text;
    for (int i = 0; i < 15; ++i) text += "【楽天】ログイン認証コード𠮷😀 a" + std::to_string(i);
    for (std::size_t used : {0u, 9u, 30u, 58u}) {
        const auto encoded = encode_header_words(text, used);
        BOOST_TEST(decode_words(encoded) == text);
        check_lines(std::string(used, 'H') + encoded + "\r\n");
    }
}

BOOST_AUTO_TEST_CASE(words_are_as_long_as_allowed) {
    // 45 bytes are the most a 75-character word holds; 15 kana fill one exactly.
    const std::string kana = "あいうえおかきくけこさしすせそ";
    BOOST_TEST(encode_header_words(kana).size() == 72u);
    BOOST_TEST(split(encode_header_words(kana + "た"), "\r\n ").size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused) {
    BOOST_CHECK_THROW(encode_header_words("\xE3\x81"), std::invalid_argument);
    BOOST_CHECK_THROW(encode_header_words("\xC0\xAF"), std::invalid_argument);
    BOOST_CHECK_THROW(encode_header_words("\xED\xA0\x80"), std::invalid_argument);  // surrogate
    BOOST_CHECK_THROW(encode_header_words("ok", 59), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dates)

BOOST_AUTO_TEST_CASE(known_values) {
    BOOST_TEST(format_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
    BOOST_TEST(format_date(-1) == "Wed, 31 Dec 1969 23:59:59 +0000");
    BOOST_TEST(format_date(951827696) == "Tue, 29 Feb 2000 12:34:56 +0000");
    BOOST_TEST(format_date(1709210096) == "Thu, 29 Feb 2024 12:34:56 +0000");
    BOOST_TEST(format_date(1795000000) == "Wed, 18 Nov 2026 11:06:40 +0000");
    BOOST_TEST(format_date(-2208988800) == "Mon, 01 Jan 1900 00:00:00 +0000");
    BOOST_TEST(format_date(253402300799) == "Fri, 31 Dec 9999 23:59:59 +0000");
}

BOOST_AUTO_TEST_CASE(out_of_range_is_refused) {
    BOOST_CHECK_THROW(format_date(-2208988801), std::invalid_argument);
    BOOST_CHECK_THROW(format_date(253402300800), std::invalid_argument);
    BOOST_CHECK_THROW(format_date(INT64_MAX), std::invalid_argument);
    BOOST_CHECK_THROW(format_date(INT64_MIN), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(body_base64)

BOOST_AUTO_TEST_CASE(rfc4648_vectors) {
    BOOST_TEST(base64_lines("") == "");
    BOOST_TEST(base64_lines("f") == "Zg==\r\n");
    BOOST_TEST(base64_lines("fo") == "Zm8=\r\n");
    BOOST_TEST(base64_lines("foo") == "Zm9v\r\n");
    BOOST_TEST(base64_lines("foob") == "Zm9vYg==\r\n");
    BOOST_TEST(base64_lines("fooba") == "Zm9vYmE=\r\n");
    BOOST_TEST(base64_lines("foobar") == "Zm9vYmFy\r\n");
    BOOST_TEST(base64_lines(std::string_view("\xFB\xFF\x00", 3)) == "+/8A\r\n");
}

BOOST_AUTO_TEST_CASE(lines_of_76) {
    const std::string one_line(57, 'x');  // 57 bytes are exactly 76 characters
    std::string expected;
    for (int i = 0; i < 19; ++i) expected += "eHh4";  // "xxx"
    const auto exact = base64_lines(one_line);
    BOOST_TEST(exact == expected + "\r\n");
    const auto two = base64_lines(one_line + "y");
    BOOST_TEST(two == exact + "eQ==\r\n");
    std::string all_bytes;
    for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
    const auto encoded = base64_lines(all_bytes);
    for (const auto& line : split(encoded.substr(0, encoded.size() - 2), "\r\n")) BOOST_TEST(line.size() <= 76u);
    BOOST_TEST(base64_decode(encoded) == all_bytes);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(message_ids)

BOOST_AUTO_TEST_CASE(shape_and_uniqueness) {
    static const std::regex shape("<[0-9a-f]{32}\\.1795000000@mail\\.example\\.jp>");
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto id = make_message_id("mail.example.jp", 1795000000);
        BOOST_TEST(std::regex_match(id, shape), id);
        seen.insert(id);
    }
    BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(bad_domain_is_refused) {
    BOOST_CHECK_THROW(make_message_id("", 1), std::invalid_argument);
    BOOST_CHECK_THROW(make_message_id("example.jp>\r\nBcc: x", 1), std::invalid_argument);
    BOOST_CHECK_THROW(make_message_id("a@example.jp", 1), std::invalid_argument);
    BOOST_CHECK_THROW(make_message_id("例え.jp", 1), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(code_mail)

BOOST_AUTO_TEST_CASE(real_template_exact_text) {
    const auto mail = render_code_mail(real_templates(), ip_phone_params());
    BOOST_TEST(mail.subject == "【楽天コミュニケーションズ】ログイン認証コードの送付");
    const std::string expected =
        "IP電話サービスをご利用のお客様\n"
        "\n"
        "楽天コミュニケーションズです。\n"
        "セルフケアへのログインのため、ログイン認証コードをお送りします。\n"
        "認証コードの入力欄にペーストするか、半角数字で入力してください。\n"
        "\n"
        "■ログイン認証コード\n"
        "482913\n"
        "\n"
        "ログイン認証コードの有効期限は20分です。\n"
        "20分を過ぎた場合は、もう一度セルフケアログインページからログインし直して、"
        "ログイン認証コードを再度入手してください。\n"
        "\n"
        "「comm.rakuten.co.jp」からのメールを受信できるように、ドメイン指定受信の設定をお願いいたします。\n"
        "\n"
        "■お心当たりのない場合\n"
        "ログインをされていないのにこのメールが届いた場合は、このメールを破棄してください。\n"
        "セルフケアパスワードが第三者に知られている可能性がありますので、"
        "パスワードの再発行についてカスタマーセンターへお問い合わせください。\n"
        "\n"
        "楽天コミュニケーションズ\n"
        "\n"
        "※このメールは送信専用のアドレスから自動で送信しています。ご返信いただいても確認・回答はできません。\n";
    BOOST_TEST(mail.body == expected);
    BOOST_TEST(mail.body.find("http") == std::string::npos);
    BOOST_TEST(mail.body.find("www.") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(values_are_not_html_escaped) {
    auto p = ip_phone_params();
    p.portal = "mc050";
    p.portal_name = "モバイルチョイス\"050\"";
    p.operator_name = "A&B <テスト>";
    p.lifetime_minutes = 15;
    const auto mail = render_code_mail(real_templates(), p);
    BOOST_TEST(mail.body.find("モバイルチョイス\"050\"をご利用のお客様\n") == 0u);
    BOOST_TEST(mail.body.find("\nA&B <テスト>\n") != std::string::npos);
    BOOST_TEST(mail.body.find("有効期限は15分です。\n15分を過ぎた場合") != std::string::npos);
    BOOST_TEST(mail.body.find("&amp;") == std::string::npos);
    BOOST_TEST(mail.body.find("&quot;") == std::string::npos);
    BOOST_TEST(mail.subject == "【A&B <テスト>】ログイン認証コードの送付");
}

BOOST_AUTO_TEST_CASE(portal_template_overrides_the_default) {
    nidan_test::temp_dir dir;
    write_file(dir / "code_mail.txt", "default {{{code}}}\n");
    write_file(dir / "code_mail.ip-phone.txt", "ip-phone {{{code}}} {{{portal_name}}} {{{support_url}}}\n");
    fs::create_directory(dir / "lang");
    write_file(dir / "lang" / "ja.toml",
               "[language]\nname = \"日本語\"\n[mail]\ncode_subject = \"【{{operator_name}}】ログイン認証コードの送付\"\n");
    const nidan::template_store store(dir.path(), "ja");

    auto p = ip_phone_params();
    BOOST_TEST(render_code_mail(store, p).body ==
               "ip-phone 482913 IP電話サービス https://comm.rakuten.co.jp/toiawase/selfcare-mail/\n");
    p.portal = "freevoice";
    BOOST_TEST(render_code_mail(store, p).body == "default 482913\n");
    p.portal.clear();
    BOOST_TEST(render_code_mail(store, p).body == "default 482913\n");
}

BOOST_AUTO_TEST_CASE(bad_params_are_refused) {
    auto p = ip_phone_params();
    p.code = "";
    BOOST_CHECK_THROW(render_code_mail(real_templates(), p), std::invalid_argument);
    p.code = "12a456";
    BOOST_CHECK_THROW(render_code_mail(real_templates(), p), std::invalid_argument);
    p = ip_phone_params();
    p.lifetime_minutes = 0;
    BOOST_CHECK_THROW(render_code_mail(real_templates(), p), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(rendered_mail_builds_into_a_message) {
    const auto p = ip_phone_params();
    const auto mail = render_code_mail(real_templates(), p);
    message_fields f;
    f.from_address = "no-reply@" + p.sender_domain;
    f.from_name = p.operator_name;
    f.to_address = "taro.yamada@example.jp";
    f.subject = mail.subject;
    f.body = mail.body;
    f.date_unix = 1795000000;
    f.message_id = make_message_id(p.sender_domain, f.date_unix);
    const auto message = build_message(f);
    check_lines(message);
    std::string crlf_body;
    for (const char c : mail.body) crlf_body += c == '\n' ? std::string("\r\n") : std::string(1, c);
    BOOST_TEST(message_body(message) == crlf_body);
}

BOOST_AUTO_TEST_SUITE_END()
