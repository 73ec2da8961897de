#!/bin/sh
# Installs what wshub needs from Debian 12's packages, and only what is missing (idempotent).
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus what the tests use: nginx, docker-compose (config check), curl,
#                                    clang, clang-tidy and the libFuzzer runtime
set -eu

packages="g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libboost-test1.81-dev libfmt-dev libspdlog-dev libjwt-dev libssl-dev"
if [ "${1:-}" = "--test" ]; then
  packages="$packages nginx docker-compose curl clang clang-tidy libclang-rt-14-dev"
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
