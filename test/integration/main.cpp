// The integration test runner; each suite is registered as its own CTest test.
#define BOOST_TEST_MODULE wshub_integration
#include <boost/test/unit_test.hpp>
