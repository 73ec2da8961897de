// Which browser origins may open a WebSocket (--allowed-origins), against cross-site WebSocket
// hijacking: a page on another site can make a visitor's browser connect with its cookies, and the
// Origin header is the only thing that tells such a connection apart. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wshub {

class origin_policy {
  public:
    // Any origin, and requests without one.
    origin_policy() = default;

    // Parses a comma-separated list such as "https://a.example, http://localhost:8080".
    // Entries are scheme://host[:port] (one trailing '/' is tolerated), or "*" for any origin.
    // An empty (or all-blank) list allows any origin. Throws std::invalid_argument naming the
    // first entry that is not an origin.
    static origin_policy parse(std::string_view list);

    // Whether a request with this Origin header value may connect; an empty value means the
    // header was missing. The comparison is exact after lowercasing the scheme and host and
    // dropping a default port (80 for http/ws, 443 for https/wss), as browsers do.
    //
    // A missing Origin is allowed only when any origin is (empty list or "*"): browsers always
    // send Origin on a WebSocket handshake, so with a list configured, a request without one comes
    // from a non-browser client, and such clients are expected to send a listed Origin too rather
    // than pass by default.
    bool allowed(std::string_view origin_header) const;

    // Whether every origin (and a missing one) is allowed: an empty list or "*".
    bool allows_any() const noexcept { return any_; }

    // The normalised entries: what parse() made of the list (checked by the tests and the fuzzer).
    const std::vector<std::string>& origins() const noexcept { return origins_; }

  private:
    std::vector<std::string> origins_; // normalised, sorted, unique
    bool any_ = true;
};

} // namespace wshub
