// Boost.URL compiled into the fuzz targets with their instrumentation, instead of linking Debian's
// libboost_url, so that libFuzzer sees coverage inside the URL parser that route() relies on.
#include <boost/url/src.hpp>
