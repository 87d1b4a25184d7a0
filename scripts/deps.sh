#!/usr/bin/env bash
# Installs what wasync's build, tests, demo and benchmarks need on Debian 12.
# Idempotent: packages already present are not reinstalled.  Needs root (or
# sudo) only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# firefox-esr, webkit2gtk-driver + xvfb: the second and third browser engines
# (SpiderMonkey; JavaScriptCore, which has no JSPI and no SharedArrayBuffer);
# emscripten: the comparison builds (never in wasync's own path);
# imagemagick: screenshot checks.
apt_pkgs=(make gcc clang lld libclang-rt-14-dev wasi-libc libclang-rt-14-dev-wasm32
  clang-format wabt binaryen nodejs npm chromium time firefox-esr webkit2gtk-driver
  xvfb emscripten imagemagick)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere (e.g. nodesource, nvm): accept any node >= 20.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dev dependencies (Node with JSPI, Playwright, real-world modules).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
