// wshub-jwt-cost: what JWT verification costs an I/O thread.
//   verify: tokens one thread verifies per second with wshub's verifier, per algorithm and key size.
//   flood:  against a running `wshub --threads 1 --jwt-public-key ...`, the broadcast latency one
//           probe client sees (it publishes and receives its own messages, 100 a second) with and
//           without flooder threads that upgrade with valid tokens as fast as they can.
// Loopback only; every loop is bounded by --seconds.
#include "wshub/auth.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <jwt.h>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string bio_string(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

struct key_pair {
    std::string private_pem, public_pem;
};

key_pair pem_pair(EVP_PKEY* k) {
    if (!k) throw std::runtime_error("key generation failed");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(k, &EVP_PKEY_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(priv.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_bio_PUBKEY(pub.get(), k);
    return {bio_string(priv.get()), bio_string(pub.get())};
}

std::string sign(jwt_alg_t alg, const std::string& key, const std::string& sub) {
    jwt_t* raw = nullptr;
    jwt_new(&raw);
    std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
    jwt_set_alg(jwt.get(), alg, reinterpret_cast<const unsigned char*>(key.data()),
                static_cast<int>(key.size()));
    jwt_add_grant(jwt.get(), "sub", sub.c_str());
    jwt_add_grant_int(jwt.get(), "exp", unix_now() + 3600);
    char* out = jwt_encode_str(jwt.get());
    if (!out) throw std::runtime_error("signing failed");
    std::string token(out);
    std::free(out);
    return token;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read " + path);
    return s.str();
}

void verify_mode(double seconds) {
    const std::string secret(48, 's');
    struct item {
        const char* name;
        jwt_alg_t alg;
        std::string signing_key;
        wshub::jwt_verifier verifier;
    };
    std::vector<item> items;
    items.push_back({"HS256", JWT_ALG_HS256, secret, wshub::jwt_verifier::hs256(secret)});
    for (auto [name, bits] : {std::pair{"RS256 (2048-bit)", 2048u}, std::pair{"RS256 (4096-bit)", 4096u}}) {
        const auto kp = pem_pair(EVP_RSA_gen(bits));
        items.push_back(
            {name, JWT_ALG_RS256, kp.private_pem, wshub::jwt_verifier::public_key(kp.public_pem)});
    }
    for (auto [name, curve, alg] : {std::tuple{"ES256 (P-256)", "P-256", JWT_ALG_ES256},
                                    std::tuple{"ES384 (P-384)", "P-384", JWT_ALG_ES384},
                                    std::tuple{"ES512 (P-521)", "P-521", JWT_ALG_ES512}}) {
        const auto kp = pem_pair(EVP_EC_gen(curve));
        items.push_back({name, alg, kp.private_pem, wshub::jwt_verifier::public_key(kp.public_pem)});
    }
    fmt::print("{:<18} {:>14} {:>12}\n", "algorithm", "verifies/s", "us/verify");
    for (auto& it : items) {
        const auto token = sign(it.alg, it.signing_key, "bench-user");
        if (!std::holds_alternative<wshub::verified_identity>(it.verifier.verify(token, unix_now())))
            throw std::runtime_error(std::string("token does not verify: ") + it.name);
        std::size_t n = 0;
        const auto start = clock_type::now();
        const auto until = start + std::chrono::duration<double>(seconds);
        while (clock_type::now() < until) {
            for (int i = 0; i < 16; ++i)
                n += std::holds_alternative<wshub::verified_identity>(it.verifier.verify(token, unix_now()));
        }
        const double s = std::chrono::duration<double>(clock_type::now() - start).count();
        fmt::print("{:<18} {:>14.0f} {:>12.1f}\n", it.name, n / s, 1e6 * s / n);
    }
}

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (fd >= 0) ::close(fd);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0}; // no read waits forever
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

bool send_all(int fd, std::string_view b) {
    while (!b.empty()) {
        const auto n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        b.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Upgrades with the token; true on 101. The socket stays open for the caller.
bool upgrade(int fd, const std::string& token) {
    const std::string req =
        "GET /im HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Authorization: Bearer " +
        token + "\r\n\r\n";
    if (!send_all(fd, req)) return false;
    std::string head;
    char c;
    while (head.size() < 4096 && head.find("\r\n\r\n") == std::string::npos) {
        if (::recv(fd, &c, 1, 0) != 1) return false;
        head += c;
    }
    return head.rfind("HTTP/1.1 101", 0) == 0;
}

bool recv_exact(int fd, char* p, std::size_t n) {
    while (n > 0) {
        const auto got = ::recv(fd, p, n, 0);
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

// The payload of the next text frame (short frames only), skipping control frames.
bool read_text(int fd, std::string& payload) {
    for (;;) {
        unsigned char h[2];
        if (!recv_exact(fd, reinterpret_cast<char*>(h), 2)) return false;
        std::size_t len = h[1] & 0x7F;
        if (len == 126) {
            unsigned char e[2];
            if (!recv_exact(fd, reinterpret_cast<char*>(e), 2)) return false;
            len = (e[0] << 8) | e[1];
        }
        payload.resize(len);
        if (!recv_exact(fd, payload.data(), len)) return false;
        if ((h[0] & 0x0F) == 0x1) return true;
    }
}

struct latency_summary {
    std::size_t samples = 0;
    double p50 = 0, p99 = 0, max = 0;
};

latency_summary summarise(std::vector<double> v) {
    latency_summary s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    s.samples = v.size();
    s.p50 = v[v.size() / 2];
    s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    s.max = v.back();
    return s;
}

// The probe publishes a message every 10 ms and times its return; `seconds` long.
latency_summary probe(std::uint16_t port, const std::string& token, double seconds) {
    const int fd = connect_loopback(port);
    if (fd < 0 || !upgrade(fd, token)) throw std::runtime_error("probe could not upgrade");
    std::vector<double> ms;
    const auto until = clock_type::now() + std::chrono::duration<double>(seconds);
    std::string payload;
    while (clock_type::now() < until) {
        const std::string text = "probe";
        std::string frame = {char(0x81), char(0x80 | text.size()), 0, 0, 0, 0}; // mask key 0
        frame += text;
        const auto sent = clock_type::now();
        if (!send_all(fd, frame) || !read_text(fd, payload))
            throw std::runtime_error("probe connection failed");
        ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // pacing: 100 probes a second
    }
    ::close(fd);
    return summarise(std::move(ms));
}

void flood_mode(std::uint16_t port, const std::string& key_pem, const std::string& alg_name, int flooders,
                double seconds) {
    const jwt_alg_t alg = jwt_str_alg(alg_name.c_str());
    const auto token = sign(alg, key_pem, "probe");
    const auto flood_token = sign(alg, key_pem, "flooder");

    const auto quiet = probe(port, token, seconds);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> upgrades{0}, failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < flooders; ++i)
        threads.emplace_back([&] {
            while (!stop.load()) {
                const int fd = connect_loopback(port);
                if (fd < 0) {
                    failures++;
                    continue;
                }
                (upgrade(fd, flood_token) ? upgrades : failures)++;
                ::close(fd);
            }
        });
    const auto start = clock_type::now();
    const auto loaded = probe(port, token, seconds);
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    stop = true;
    for (auto& t : threads)
        t.join();
    fmt::print("{} tokens, {} flooder threads, {:.0f} s per phase\n", alg_name, flooders, seconds);
    fmt::print("{:<24} {:>10} {:>10} {:>10} {:>10}\n", "phase", "probes", "p50_ms", "p99_ms", "max_ms");
    fmt::print("{:<24} {:>10} {:>10.3f} {:>10.3f} {:>10.3f}\n", "no flood", quiet.samples, quiet.p50,
               quiet.p99, quiet.max);
    fmt::print("{:<24} {:>10} {:>10.3f} {:>10.3f} {:>10.3f}\n", "handshake flood", loaded.samples, loaded.p50,
               loaded.p99, loaded.max);
    fmt::print("flood: {:.0f} upgrades/s accepted, {} failed\n", upgrades.load() / elapsed, failures.load());
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        auto arg = [&](const char* name, const char* fallback) -> std::string {
            for (int i = 2; i + 1 < argc; ++i)
                if (std::string(argv[i]) == name) return argv[i + 1];
            return fallback;
        };
        const double seconds = std::clamp(std::stod(arg("--seconds", "2")), 0.1, 60.0);
        if (mode == "verify") {
            verify_mode(seconds);
            return 0;
        }
        if (mode == "flood") {
            flood_mode(static_cast<std::uint16_t>(std::stoul(arg("--port", "0"))),
                       read_file(arg("--key", "")), arg("--alg", "RS256"), std::stoi(arg("--flooders", "2")),
                       seconds);
            return 0;
        }
        std::fprintf(stderr, "usage: wshub-jwt-cost verify [--seconds S]\n"
                             "       wshub-jwt-cost flood --port P --key PRIVATE.pem --alg RS256|ES512|... "
                             "[--flooders N] [--seconds S]\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wshub-jwt-cost: %s\n", e.what());
        return 1;
    }
}
