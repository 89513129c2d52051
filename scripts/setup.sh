#!/usr/bin/env bash
# Sets up codectx on a fresh machine that can reach the package registries only.
#
#   scripts/setup.sh             install what is needed and build the release binary
#   scripts/setup.sh --deps-only install what is needed, build nothing
#
# Needs: a Rust toolchain (cargo, rustc >= 1.88) and a C compiler (tree-sitter
# grammars are C). protoc is not needed: the build uses the one vendored by the
# `protoc-bin-vendored` crate.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else "$@"; fi; }

if ! have cargo; then
  echo "setup: cargo not found; install Rust from your package manager or rustup first" >&2
  exit 1
fi
if ! have cc && ! have gcc && ! have clang; then
  if have apt-get; then
    as_root apt-get update -qq && as_root apt-get install -y -qq build-essential
  else
    echo "setup: no C compiler found; install gcc or clang" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--deps-only" ]; then
  exit 0
fi

cargo build --release --locked --bin codectx
echo "setup: built $(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/codectx"
