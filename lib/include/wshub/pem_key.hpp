// A public key for checking JWT signatures, read from PEM text: the key itself and the JWS
// algorithms (RFC 7518) it may verify, which follow from its type and size alone. Pure: no I/O.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st; // OpenSSL's EVP_PKEY

namespace wshub {

class pem_public_key {
  public:
    // A PEM public key ("BEGIN PUBLIC KEY") or certificate ("BEGIN CERTIFICATE", of which only the
    // key is used: no chain or expiry check). RSA keys (2048 bits or more) verify RS256, RS384 and
    // RS512; EC keys the one ES algorithm of their curve: P-256 ES256, P-384 ES384, P-521 ES512.
    // Throws std::invalid_argument saying what is wrong with anything else.
    static pem_public_key parse(std::string_view pem);

    // The alg values this key verifies, e.g. {"RS256", "RS384", "RS512"}.
    const std::vector<std::string>& algorithms() const noexcept { return algorithms_; }

    // Read-only and shared: OpenSSL allows concurrent verifications with one key.
    evp_pkey_st* get() const noexcept { return key_.get(); }

  private:
    std::shared_ptr<evp_pkey_st> key_;
    std::vector<std::string> algorithms_;
};

} // namespace wshub
