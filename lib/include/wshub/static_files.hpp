// The files under lib/static (the demo page and the JavaScript client), compiled into the binary
// by cmake/embed_static_files.cmake: wshub serves them without reading anything at run time.
#pragma once

#include <string_view>

namespace wshub {

struct static_file {
    std::string_view path;         // where it is served: "/" for index.html, else "/<name>"
    std::string_view content_type; // e.g. "text/javascript; charset=utf-8"
    std::string_view body;         // the file's bytes
};

// The file served at `path` (without a query), or nullptr.
const static_file* find_static_file(std::string_view path);

} // namespace wshub
