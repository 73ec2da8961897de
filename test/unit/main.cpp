#define BOOST_TEST_MODULE wshub unit tests
#include <boost/test/unit_test.hpp>
