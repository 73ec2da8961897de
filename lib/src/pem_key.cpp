#include "wshub/pem_key.hpp"

#include <array>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdexcept>

namespace wshub {

namespace {

struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};

// Never prompt for a pass phrase: a public key has none.
int no_password(char*, int, int, void*) {
    return 0;
}

std::unique_ptr<BIO, bio_free> memory_bio(std::string_view pem) {
    std::unique_ptr<BIO, bio_free> in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!in) throw std::bad_alloc();
    return in;
}

// The key of a PUBLIC KEY block, else of a CERTIFICATE block; null if neither is there.
EVP_PKEY* read_key(std::string_view pem) {
    if (EVP_PKEY* k = PEM_read_bio_PUBKEY(memory_bio(pem).get(), nullptr, no_password, nullptr)) return k;
    std::unique_ptr<X509, x509_free> cert(
        PEM_read_bio_X509(memory_bio(pem).get(), nullptr, no_password, nullptr));
    return cert ? X509_get_pubkey(cert.get()) : nullptr;
}

std::vector<std::string> algorithms_of(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(key) < 2048)
            throw std::invalid_argument("JWT public key: RSA keys must have at least 2048 bits");
        return {"RS256", "RS384", "RS512"};
    case EVP_PKEY_EC: {
        std::array<char, 64> name{};
        std::size_t len = 0;
        if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &len) != 1) len = 0;
        const std::string_view curve(name.data(), len);
        if (curve == "prime256v1" || curve == "P-256") return {"ES256"};
        if (curve == "secp384r1" || curve == "P-384") return {"ES384"};
        if (curve == "secp521r1" || curve == "P-521") return {"ES512"};
        throw std::invalid_argument("JWT public key: EC keys must be on P-256, P-384 or P-521");
    }
    default:
        throw std::invalid_argument("JWT public key: only RSA and EC keys are supported");
    }
}

} // namespace

pem_public_key pem_public_key::parse(std::string_view pem) {
    if (pem.empty() || pem.size() > std::size_t{1024} * 1024)
        throw std::invalid_argument("JWT public key: empty or too large");
    std::shared_ptr<evp_pkey_st> key(read_key(pem), [](EVP_PKEY* k) { EVP_PKEY_free(k); });
    ERR_clear_error(); // a failed first attempt leaves errors that are not the caller's business
    if (!key) throw std::invalid_argument("JWT public key: not a PEM public key or certificate");
    pem_public_key out;
    out.algorithms_ = algorithms_of(key.get());
    out.key_ = std::move(key);
    return out;
}

} // namespace wshub
