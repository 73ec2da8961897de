#include "nginx_process.hpp"

#include "free_port.hpp"
#include "test_io.hpp"
#include "text_file.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace wshub_test {

namespace {

// Replaces every match of `re` in `text` and returns how many there were.
std::size_t replace_all(std::string& text, const std::regex& re, const std::string& with) {
    const auto n = static_cast<std::size_t>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
    text = std::regex_replace(text, re, with);
    return n;
}

void write_stderr(const std::string& s) {
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, s.data(), s.size());
}

asio::awaitable<void> connect_once(asio::ip::tcp::socket& socket, asio::ip::tcp::endpoint ep) {
    auto [ec] = co_await socket.async_connect(ep, asio::as_tuple(asio::use_awaitable));
    if (ec) throw boost::system::system_error(ec, "connect to nginx");
}

} // namespace

boost::test_tools::assertion_result nginx_available(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result ok(::access(nginx_binary, X_OK) == 0);
    if (!ok) ok.message() << nginx_binary << " is not installed (apt-get install nginx)";
    return ok;
}

std::string fill_nginx_config(const std::string& shipped, std::uint16_t listen_port,
                              const std::string& prefix_dir, const std::string& proxy_timeout) {
    std::string conf = shipped;
    if (!proxy_timeout.empty()) {
        const auto timeouts = replace_all(conf, std::regex(R"(\b(proxy_(read|send)_timeout)\s+[^;]+;)"),
                                          "$1 " + proxy_timeout + ";");
        BOOST_REQUIRE_MESSAGE(timeouts > 0, "docker/nginx.conf sets no proxy_read_timeout to scale down");
    }
    // The nodes come from the upstream file, which the prefix holds under this name.
    BOOST_REQUIRE_MESSAGE(std::regex_search(conf, std::regex(R"(\binclude\s+wshub-upstream\.conf;)")),
                          "docker/nginx.conf does not include wshub-upstream.conf");
    const auto listens = replace_all(conf, std::regex(R"(\blisten\s+80\b([^;]*);)"),
                                     "listen 127.0.0.1:" + std::to_string(listen_port) + "$1;");
    BOOST_REQUIRE_MESSAGE(listens > 0,
                          "docker/nginx.conf has no 'listen 80;' to move to a free loopback port");
    // An IPv6 listener would be on every interface; keep it on loopback too.
    replace_all(conf, std::regex(R"(\blisten\s+\[::\]:80\b([^;]*);)"),
                "listen [::1]:" + std::to_string(listen_port) + "$1;");
    // pid comes from -g (a second one would be a duplicate); the image's user may not exist here.
    replace_all(conf, std::regex(R"((^|\n)[ \t]*(pid|user)[ \t][^;]*;)"), "$1");
    // Keep the access log out of /var/log, in the shipped format.
    const std::regex http_block(R"(\bhttp\s*\{)");
    BOOST_REQUIRE_MESSAGE(std::regex_search(conf, http_block), "docker/nginx.conf has no http {} block");
    const auto access_logs = replace_all(conf, std::regex(R"(\baccess_log\s+[^\s;]+)"),
                                         "access_log " + prefix_dir + "/logs/access.log");
    if (access_logs == 0)
        conf =
            std::regex_replace(conf, http_block, "http {\n    access_log " + prefix_dir + "/logs/access.log;",
                               std::regex_constants::format_first_only);
    return conf;
}

std::string fill_nginx_upstream(const std::string& shipped, const std::vector<std::uint16_t>& ports) {
    BOOST_REQUIRE(!ports.empty());
    const std::regex node(R"((\bserver\s+)[A-Za-z0-9.-]+:23333\b)");
    std::string filled;
    std::size_t i = 0;
    auto rest = shipped.cbegin();
    for (std::sregex_iterator m(shipped.begin(), shipped.end(), node), end; m != end; ++m, ++i) {
        filled.append(rest, (*m)[0].first);
        filled += (*m)[1].str() + "127.0.0.1:" + std::to_string(ports[i % ports.size()]);
        rest = (*m)[0].second;
    }
    filled.append(rest, shipped.cend());
    BOOST_REQUIRE_MESSAGE(i > 0, "the upstream file has no 'server <node>:23333' to point at a test server");
    return filled;
}

nginx_prefix::nginx_prefix(std::vector<std::uint16_t> upstream_ports, std::uint16_t listen_port,
                           const std::string& proxy_timeout, const std::string& upstream_file) {
    std::string tmpl = (fs::temp_directory_path() / "wshub-nginx-XXXXXX").string();
    BOOST_REQUIRE_MESSAGE(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
    dir_ = tmpl;
    fs::create_directories(dir_ + "/logs");
    const std::string docker_dir = std::string(WSHUB_SOURCE_DIR) + "/docker/";
    std::ofstream(config_path()) << fill_nginx_config(read_file(docker_dir + "nginx.conf"), listen_port, dir_,
                                                      proxy_timeout);
    // nginx resolves a relative include against the directory of its main config.
    std::ofstream(dir_ + "/wshub-upstream.conf")
        << fill_nginx_upstream(read_file(docker_dir + upstream_file), upstream_ports);
}

nginx_prefix::~nginx_prefix() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string nginx_prefix::global_directives() const {
    // notice level so that "start worker processes" tells when the listener is up.
    return "daemon off; pid " + dir_ + "/nginx.pid; error_log stderr notice;";
}

std::vector<std::string> nginx_prefix::command(std::vector<std::string> extra) const {
    std::vector<std::string> argv = {nginx_binary, "-p", dir_ + "/", "-c", config_path()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("-g");
    argv.push_back(global_directives());
    return argv;
}

nginx_process::nginx_process(std::uint16_t upstream_port, const std::string& proxy_timeout)
    : nginx_process(std::vector<std::uint16_t>{upstream_port}, proxy_timeout) {}

nginx_process::nginx_process(std::vector<std::uint16_t> upstream_ports, const std::string& proxy_timeout) {
    const char* upstream_file = upstream_ports.size() > 1 ? multi_node_upstream : single_node_upstream;
    // The free port can be taken by someone else before nginx binds it: then try another.
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_loopback_port();
        prefix_ = std::make_unique<nginx_prefix>(upstream_ports, port_, proxy_timeout, upstream_file);
        // SIGTERM if the runner dies: the master then stops its workers too.
        child_ = std::make_unique<child_process>(prefix_->command(), "[nginx] ", true, SIGTERM);
        // The master binds and listens before it starts the workers.
        if (child_->wait_for_line("start worker processes", std::chrono::seconds(10))) break;
        const bool port_taken = child_->count_lines("Address already in use") > 0;
        child_.reset();
        BOOST_REQUIRE_MESSAGE(port_taken, "nginx did not start (its output is above)");
    }
    BOOST_REQUIRE_MESSAGE(child_, "nginx found no free port in 3 attempts");

    test_io io;
    asio::ip::tcp::socket socket(io.context());
    io.run(connect_once(socket, {asio::ip::address_v4::loopback(), port_}), "connect to nginx",
           std::chrono::seconds(10), [&socket] {
               boost::system::error_code ignored;
               socket.close(ignored);
           });
}

nginx_process::~nginx_process() {
    if (!child_) return;
    child_->send_signal(SIGTERM); // fast shutdown: open WebSocket connections are not waited for
    if (!child_->wait_exit(std::chrono::seconds(10)))
        write_stderr("nginx did not stop within 10 s of SIGTERM; killing its process group\n");
    child_.reset(); // SIGKILLs the group if anything is left, and reaps
}

} // namespace wshub_test
