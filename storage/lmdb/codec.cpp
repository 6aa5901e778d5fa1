#include "storage/lmdb/codec.hpp"

#include <string>

#include "storage/error.hpp"

namespace nidan::storage {
namespace {

constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63;

template <typename Unsigned>
void append_be(std::string& out, Unsigned value) {
    for (int shift = static_cast<int>(sizeof(Unsigned) * 8) - 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xFFu));
    }
}

template <typename Unsigned>
Unsigned read_be(std::string_view bytes) {
    if (bytes.size() < sizeof(Unsigned)) throw_corrupt("stored integer: truncated");
    Unsigned value = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
        value = static_cast<Unsigned>((value << 8) | static_cast<unsigned char>(bytes[i]));
    }
    return value;
}

}  // namespace

void append_u32_be(std::string& out, std::uint32_t value) { append_be(out, value); }
void append_u64_be(std::string& out, std::uint64_t value) { append_be(out, value); }
void append_i64_be(std::string& out, std::int64_t value) {
    append_be(out, static_cast<std::uint64_t>(value) ^ sign_bit);
}

std::uint32_t read_u32_be(std::string_view bytes) { return read_be<std::uint32_t>(bytes); }
std::uint64_t read_u64_be(std::string_view bytes) { return read_be<std::uint64_t>(bytes); }
std::int64_t read_i64_be(std::string_view bytes) {
    return static_cast<std::int64_t>(read_be<std::uint64_t>(bytes) ^ sign_bit);
}

value_writer::value_writer(std::uint8_t format_version) { out_.push_back(static_cast<char>(format_version)); }

value_writer& value_writer::u8(std::uint8_t value) {
    out_.push_back(static_cast<char>(value));
    return *this;
}
value_writer& value_writer::u32(std::uint32_t value) {
    append_u32_be(out_, value);
    return *this;
}
value_writer& value_writer::u64(std::uint64_t value) {
    append_u64_be(out_, value);
    return *this;
}
value_writer& value_writer::i64(std::int64_t value) {
    append_i64_be(out_, value);
    return *this;
}
value_writer& value_writer::boolean(bool value) { return u8(value ? 1 : 0); }
value_writer& value_writer::str(std::string_view value) {
    if (value.size() > UINT32_MAX) throw error(errc::invalid_input, "string too long to store");
    append_u32_be(out_, static_cast<std::uint32_t>(value.size()));
    out_.append(value);
    return *this;
}

value_reader::value_reader(std::string_view bytes, std::string_view what) : rest_(bytes), what_(what) {
    version_ = u8();
}

std::string_view value_reader::take(std::size_t count) {
    if (rest_.size() < count) throw_corrupt(std::string(what_) + ": truncated");
    std::string_view taken = rest_.substr(0, count);
    rest_.remove_prefix(count);
    return taken;
}

std::uint8_t value_reader::u8() { return static_cast<std::uint8_t>(take(1)[0]); }
std::uint32_t value_reader::u32() { return read_u32_be(take(4)); }
std::uint64_t value_reader::u64() { return read_u64_be(take(8)); }
std::int64_t value_reader::i64() { return read_i64_be(take(8)); }

bool value_reader::boolean() {
    const std::uint8_t byte = u8();
    if (byte > 1) throw_corrupt(std::string(what_) + ": bad boolean");
    return byte == 1;
}

std::string_view value_reader::str() {
    const std::uint32_t length = u32();
    return take(length);
}

void value_reader::expect_end() const {
    if (!rest_.empty()) throw_corrupt(std::string(what_) + ": trailing bytes");
}

}  // namespace nidan::storage
