#include "wshub/frame.hpp"

#include <boost/test/unit_test.hpp>

using namespace wshub;

BOOST_AUTO_TEST_SUITE(frame)

BOOST_AUTO_TEST_CASE(small_text_frame_has_two_byte_header) {
    std::string out;
    append_frame(out, opcode::text, "hello");
    BOOST_TEST(out.size() == 7u);
    BOOST_TEST(static_cast<unsigned char>(out[0]) == 0x81); // FIN + text
    BOOST_TEST(static_cast<unsigned char>(out[1]) == 5);    // unmasked, length 5
    BOOST_TEST(out.substr(2) == "hello");
}

BOOST_AUTO_TEST_CASE(length_encodings_switch_at_126_and_65536) {
    for (std::size_t n : {125u, 126u, 65535u, 65536u, 1u << 20}) {
        std::string out;
        append_frame(out, opcode::binary, std::string(n, 'x'));
        BOOST_TEST(out.size() == frame_header_size(n) + n);
        BOOST_TEST(static_cast<unsigned char>(out[0]) == 0x82);
        const auto len7 = static_cast<unsigned char>(out[1]);
        if (n < 126) {
            BOOST_TEST(len7 == n);
        } else if (n <= 0xFFFF) {
            BOOST_TEST(len7 == 126);
            BOOST_TEST(((static_cast<unsigned char>(out[2]) << 8) | static_cast<unsigned char>(out[3])) == n);
        } else {
            BOOST_TEST(len7 == 127);
            std::uint64_t v = 0;
            for (int i = 0; i < 8; ++i)
                v = v << 8 | static_cast<unsigned char>(out[2 + i]);
            BOOST_TEST(v == n);
        }
    }
}

BOOST_AUTO_TEST_CASE(frames_append_back_to_back) {
    std::string out;
    append_frame(out, opcode::text, "a");
    append_frame(out, opcode::binary, std::string("\0\1", 2));
    BOOST_TEST(out.size() == 3u + 4u);
    BOOST_TEST(static_cast<unsigned char>(out[3]) == 0x82);
}

BOOST_AUTO_TEST_SUITE_END()
