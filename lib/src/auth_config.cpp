#include "wshub/auth_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <spdlog/spdlog.h>
#include <sstream>
#include <stdexcept>

namespace wshub {

namespace {

std::string read_file(const std::string& path, const char* flag) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream contents;
    if (in) contents << in.rdbuf();
    if (!in || in.bad()) throw std::invalid_argument(std::string(flag) + ": cannot read " + path);
    return contents.str();
}

// The flag's name in front of what the verifier found wrong.
template <typename Make>
jwt_verifier named(const char* flag, Make make) {
    try {
        return make();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(flag) + ": " + e.what());
    }
}

} // namespace

std::string secret_from_file_contents(std::string contents) {
    while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r'))
        contents.pop_back();
    return contents;
}

namespace {

std::optional<jwt_verifier> build(const config& cfg) {
    jwt_options options;
    options.leeway = cfg.jwt_leeway;
    options.issuer = cfg.jwt_issuer;
    options.audience = cfg.jwt_audience;
    if (!cfg.jwt_secret.empty())
        return named("--jwt-secret", [&] { return jwt_verifier::hs256(cfg.jwt_secret, options); });
    if (!cfg.jwt_secret_file.empty()) {
        auto secret = secret_from_file_contents(read_file(cfg.jwt_secret_file, "--jwt-secret-file"));
        return named("--jwt-secret-file", [&] { return jwt_verifier::hs256(std::move(secret), options); });
    }
    if (!cfg.jwt_public_key_path.empty()) {
        const auto pem = read_file(cfg.jwt_public_key_path, "--jwt-public-key");
        return named("--jwt-public-key", [&] { return jwt_verifier::public_key(pem, options); });
    }
    return std::nullopt;
}

} // namespace

std::optional<jwt_verifier> make_jwt_verifier(const config& cfg) {
    auto verifier = build(cfg);
    if (verifier) {
        const auto& o = verifier->options();
        spdlog::info("JWT required: {}; issuer {}, audience {}, leeway {} s",
                     fmt::join(verifier->algorithms(), ", "), o.issuer.empty() ? "any" : o.issuer,
                     o.audience.empty() ? "any" : o.audience, o.leeway.count());
    }
    return verifier;
}

std::string api_token_of(const config& cfg) {
    if (!cfg.api_token_file.empty()) {
        auto token = secret_from_file_contents(read_file(cfg.api_token_file, "--api-token-file"));
        if (token.empty()) throw std::invalid_argument("--api-token-file: the file is empty");
        return token;
    }
    return cfg.api_token;
}

credentials read_credentials(const config& cfg) {
    return credentials{make_jwt_verifier(cfg), api_token_of(cfg)};
}

} // namespace wshub
