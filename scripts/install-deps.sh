#!/usr/bin/env bash
# Installs the system libraries keras-inspect builds against (libhdf5-dev and zlib, found with pkg-config),
# when it is missing. Debian/Ubuntu: apt-get; macOS: Homebrew.
set -euo pipefail

# `--python`: also Python's venv module, for the fixture and benchmark scripts (Debian ships it
# separately as python3-venv).
if [ "${1:-}" = "--python" ] && ! python3 -c "import ensurepip, venv" 2>/dev/null; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "Installing python3-venv with apt-get..." >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
  else
    echo "the benchmark and fixture scripts need Python 3 with the venv module" >&2
    exit 1
  fi
fi

# `--graphviz`: also Graphviz's dot, which `graph --format svg` runs and the tests parse DOT with.
if [ "${1:-}" = "--graphviz" ] && ! command -v dot >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "Installing graphviz with apt-get..." >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq graphviz >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install graphviz
  else
    echo "the graph tests need Graphviz (dot); install it with your package manager" >&2
    exit 1
  fi
fi

if pkg-config --exists hdf5 zlib 2>/dev/null; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "Installing libhdf5-dev, zlib1g-dev and pkg-config with apt-get..." >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libhdf5-dev zlib1g-dev pkg-config >/dev/null
elif command -v brew >/dev/null 2>&1; then
  brew install hdf5 pkg-config
else
  echo "keras-inspect needs libhdf5 (pkg-config name 'hdf5'); install it with your package manager." >&2
  exit 1
fi

pkg-config --exists hdf5 || { echo "libhdf5 installed, but pkg-config cannot find 'hdf5'." >&2; exit 1; }
# Package.swift links libhdf5 statically when the static library is installed. SwiftPM keeps the
# manifest's evaluation (keyed by its text) and the build plan made from it: a build tried before
# libhdf5 was installed would otherwise go on linking it dynamically. Forget both.
root="$(cd "$(dirname "$0")/.." && pwd)"
if command -v swift >/dev/null 2>&1; then swift package --package-path "$root" purge-cache >/dev/null 2>&1 || true; fi
touch "$root/Package.swift"
