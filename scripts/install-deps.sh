#!/bin/sh
# Installs what wshub needs from Debian 12's packages, and only what is missing (idempotent).
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus what the tests use: nginx, redis-server, docker-compose (config
#                                    check), curl, clang, clang-tidy and the libFuzzer runtime, and for
#                                    the browser test Chromium (Debian's) and playwright-core (npm) to
#                                    drive it
set -eu

# Where the browser test looks for playwright-core (test/browser/CMakeLists.txt names it too).
browser_test_modules=/usr/local/lib/wshub-browser-test
playwright_version=1.65.1

packages="g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libboost-test1.81-dev libfmt-dev libspdlog-dev libjwt-dev libssl-dev libhiredis-dev zlib1g-dev"
if [ "${1:-}" = "--test" ]; then
  packages="$packages nginx redis-server docker-compose curl clang clang-tidy libclang-rt-14-dev chromium"
  # Node from Debian only when there is none; never Debian's npm package (a node that is already
  # installed comes with its own npm).
  command -v node >/dev/null 2>&1 || packages="$packages nodejs"
fi

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi

if [ "${1:-}" = "--test" ]; then
  installed=$(node -p "require('$browser_test_modules/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
  if [ "$installed" != "$playwright_version" ]; then
    echo "installing: playwright-core@$playwright_version (npm) into $browser_test_modules"
    command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js with its npm" >&2; exit 1; }
    mkdir -p "$browser_test_modules"
    # No browser download: the test drives Debian's chromium.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$browser_test_modules" --no-save --no-audit \
      --no-fund --loglevel=error "playwright-core@$playwright_version"
  fi
fi
