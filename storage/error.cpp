#include "storage/error.hpp"

namespace nidan::storage {

error::error(errc code, const std::string& context, int lmdb_code)
    : std::system_error(make_error_code(code), context), lmdb_code_(lmdb_code) {}

void throw_corrupt(std::string_view what) {
    throw error(errc::storage_corrupt, std::string(what));
}

}  // namespace nidan::storage
