#pragma once
// The shipped language catalogs (templates/lang/*.toml), so that tests expect the texts the
// server shows instead of copying sentences: catalog_text("ja", "message.wrong_code").
// Header-only: it needs nidan's headers, which only the test executables see.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/render/message_catalog.hpp"
#include "nidan_test/process.hpp"

namespace nidan_test {

inline const nidan::render::message_catalogs& shipped_catalogs() {
    static const auto catalogs = nidan::render::message_catalogs::load(source_dir() + "/templates/lang", "ja");
    return catalogs;
}

inline const std::string& catalog_text(std::string_view language, std::string_view key) {
    return shipped_catalogs().text(language, key);
}

// The text with its {{name}} tags filled in, as the server fills them.
inline std::string catalog_text_with(std::string_view language, std::string_view key,
                                     const std::vector<std::pair<std::string, std::string>>& values) {
    return nidan::render::fill_tags(catalog_text(language, key), values);
}

}  // namespace nidan_test
