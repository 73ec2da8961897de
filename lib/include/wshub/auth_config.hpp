// The JWT verifier and the API token the configuration asks for, built from the flags and the key,
// secret and token files they name. Reads files: at startup, and again on SIGHUP.
#pragma once

#include "wshub/auth.hpp"
#include "wshub/config.hpp"

#include <optional>
#include <string>

namespace wshub {

// The verifier for --jwt-secret, --jwt-secret-file or --jwt-public-key with the --jwt-issuer,
// --jwt-audience and --jwt-leeway options; nullopt when none of the three is set. Throws
// std::invalid_argument naming the flag when a file cannot be read or the key or secret is unfit.
std::optional<jwt_verifier> make_jwt_verifier(const config& cfg);

// A secret file's contents without its trailing line break(s) ("\n" or "\r\n"), as `echo` and
// editors leave them; any other byte is part of the secret.
std::string secret_from_file_contents(std::string contents);

// The publish API's bearer token: --api-token, or --api-token-file's contents; empty when neither
// is set. Throws std::invalid_argument naming the flag when the file cannot be read or is empty.
std::string api_token_of(const config& cfg);

// What requests are checked against. Replaced as a whole when the files are read again, so that
// secrets rotate without a restart.
struct credentials {
    std::optional<jwt_verifier> jwt;
    std::string api_token; // empty: the API answers loopback peers only
};

// Both of the above; throws as they do.
credentials read_credentials(const config& cfg);

} // namespace wshub
