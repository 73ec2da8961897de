// A whole text file, for tests that check or fill in the shipped configuration files.
#pragma once

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace wshub_test {

// Fails the test if the file cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace wshub_test
