// Boost.JSON compiled into the fuzz targets with their instrumentation, instead of linking Debian's
// libboost_json, so that libFuzzer sees coverage inside the parser of token headers and claims.
#include <boost/json/src.hpp>
