#!/usr/bin/env bash
# Makes a fresh clone runnable: installs the software Vulkan driver when no usable one is present
# (Debian 12: bookworm-backports' mesa; the release's own 22.3 is too old for Dawn), and npm dependencies
# when node_modules is missing. Safe to run repeatedly; does nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

need_driver() {
  [ "$(uname -s)" = Linux ] || return 1
  ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' && return 0
  command -v dpkg-query >/dev/null || return 1
  # NVIDIA's own driver is fine; a missing or too-old mesa (which ships lavapipe) needs the backports build.
  ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null | grep -q nvidia && return 1
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -z "$v" ] && return 0
  dpkg --compare-versions "$v" lt 24 && return 0
  return 1
}

if need_driver; then
  echo "setup: no usable Vulkan driver; installing mesa-vulkan-drivers from bookworm-backports" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' | as_root tee /etc/apt/sources.list.d/backports.list >/dev/null
  fi
  as_root apt-get update -q
  as_root apt-get install -y -q -t bookworm-backports libvulkan1 mesa-vulkan-drivers
fi

# --browser (npm run test:browser): Debian's Chromium for the headless WebGPU smoke test.
if [ "${1:-}" = "--browser" ] && [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if command -v apt-get >/dev/null && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
    echo "setup: installing Debian's chromium for the browser test" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -q chromium || { as_root apt-get update -q && as_root apt-get install -y -q chromium; }
  else
    echo "setup: Chromium is missing: run 'sudo apt-get install -y chromium' (or set CHROMIUM=/path/to/chromium)" >&2
    exit 1
  fi
fi

if [ -z "${KILN_SETUP_NO_NPM:-}" ] && { [ ! -d node_modules/webgpu ] || [ ! -d node_modules/vitest ]; }; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi
