#pragma once
// Byte encodings for keys and values.
//
// Keys: integers are big-endian so LMDB's byte-wise key order is numeric order. Signed
// integers additionally have their sign bit flipped (i64 -> u64 + 2^63), so negative values sort
// before positive ones too.
//
// Values: a leading format-version byte, then fixed-width big-endian integers and strings
// prefixed by a u32 length. value_reader checks every size; a short, over-long or otherwise
// malformed value throws storage::error(storage_corrupt) instead of reading past the end.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace nidan::storage {

void append_u32_be(std::string& out, std::uint32_t value);
void append_u64_be(std::string& out, std::uint64_t value);
void append_i64_be(std::string& out, std::int64_t value);  // sign bit flipped, see above

// Decode the first 4 or 8 bytes of `bytes`; fewer bytes than that throw storage_corrupt.
std::uint32_t read_u32_be(std::string_view bytes);
std::uint64_t read_u64_be(std::string_view bytes);
std::int64_t read_i64_be(std::string_view bytes);

class value_writer {
public:
    explicit value_writer(std::uint8_t format_version);

    value_writer& u8(std::uint8_t value);
    value_writer& u32(std::uint32_t value);
    value_writer& u64(std::uint64_t value);
    value_writer& i64(std::int64_t value);
    value_writer& boolean(bool value);
    value_writer& str(std::string_view value);  // u32 length, then the bytes

    const std::string& bytes() const noexcept { return out_; }
    std::string take() noexcept { return std::move(out_); }  // leaves the writer empty

private:
    std::string out_;
};

class value_reader {
public:
    // `what` names the value in error messages ("accounts value"); it must outlive the reader.
    value_reader(std::string_view bytes, std::string_view what);

    std::uint8_t format_version() const noexcept { return version_; }

    std::uint8_t u8();
    std::uint32_t u32();
    std::uint64_t u64();
    std::int64_t i64();
    bool boolean();             // only 0 or 1 are valid
    std::string_view str();     // a view into the bytes given to the constructor

    // Throws storage_corrupt when bytes are left over: a value longer than its format says is
    // as suspect as a short one.
    void expect_end() const;

private:
    std::string_view take(std::size_t count);

    std::string_view rest_;
    std::string_view what_;
    std::uint8_t version_ = 0;
};

}  // namespace nidan::storage
