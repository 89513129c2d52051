#!/usr/bin/env bash
# Sets up codectx on a fresh machine that can reach the package registries only.
#
#   scripts/setup.sh             install what is needed and build the release binary
#   scripts/setup.sh --deps-only install what is needed, build nothing
#
# Needs: a Rust toolchain (cargo, rustc >= 1.94: lancedb's minimum) and a C
# compiler (tree-sitter grammars are C); python3 + pip to fetch the onnxruntime
# wheel from PyPI; protoc for LanceDB's build (codectx's own proto uses the one
# vendored by `protoc-bin-vendored`). The last two are installed with apt-get when
# missing.
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

# protoc: LanceDB's lance-encoding compiles its protobuf files at build time.
if ! have protoc; then
  if have apt-get; then
    as_root apt-get update -qq && as_root apt-get install -y -qq protobuf-compiler
  else
    echo "setup: protoc not found; install the protobuf compiler (protobuf-compiler)" >&2
    exit 1
  fi
fi

# onnxruntime for the fastembed embedder: codectx loads libonnxruntime.so at run
# time (ort's load-dynamic) and never downloads it. It comes from the PyPI wheel,
# unpacked into the codectx data folder, where the binary looks for it
# (ORT_DYLIB_PATH or [embed] ort_dylib_path override that).
ORT_VERSION="${CODECTX_ORT_VERSION:-1.31.1}"
if [ -n "${CODECTX_HOME:-}" ]; then
  DATA_HOME="$CODECTX_HOME"
elif [ -n "${XDG_DATA_HOME:-}" ]; then
  DATA_HOME="$XDG_DATA_HOME/codectx"
else
  DATA_HOME="$HOME/.local/share/codectx"
fi
ORT_DIR="$DATA_HOME/onnxruntime"
# python3 with pip, to fetch wheels from PyPI.
ensure_pip() {
  if ! have python3 || ! python3 -m pip --version >/dev/null 2>&1; then
    if have apt-get; then
      as_root apt-get update -qq && as_root apt-get install -y -qq python3 python3-pip
    else
      echo "setup: python3 with pip is needed to fetch $1 from PyPI" >&2
      exit 1
    fi
  fi
}
if ! ls "$ORT_DIR"/onnxruntime/capi/libonnxruntime.so.* >/dev/null 2>&1; then
  ensure_pip "the onnxruntime wheel"
  echo "setup: installing onnxruntime $ORT_VERSION (PyPI wheel) into $ORT_DIR"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$ORT_DIR" "onnxruntime==$ORT_VERSION"
fi
echo "setup: onnxruntime: $(ls "$ORT_DIR"/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"

# LightGBM and numpy for `codectx train-ranker` / `codectx tune` (training/train_ranker.py),
# from PyPI into the codectx data folder, where the binary adds them to PYTHONPATH.
PY_DIR="$DATA_HOME/python"
if ! PYTHONPATH="$PY_DIR" python3 -c "import lightgbm, numpy" >/dev/null 2>&1; then
  ensure_pip "lightgbm"
  echo "setup: installing training/requirements.txt (lightgbm, numpy) into $PY_DIR"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
    --target "$PY_DIR" -r training/requirements.txt
fi

# The default embedding model, all-MiniLM-L6-v2. With network access fastembed
# downloads it from the Hugging Face hub on first use; offline, point
# CODECTX_MODEL_SOURCE at a local copy (a folder with model.onnx,
# model_quantized.onnx and the tokenizer files). A `shared/models` folder beside
# the checkout is used when present.
MODEL_SOURCE="${CODECTX_MODEL_SOURCE:-$(pwd)/../shared/models/all-MiniLM-L6-v2}"
MODEL_LINK="$DATA_HOME/models/all-MiniLM-L6-v2"
if [ -f "$MODEL_SOURCE/tokenizer.json" ] && [ ! -e "$MODEL_LINK" ]; then
  mkdir -p "$DATA_HOME/models"
  ln -s "$(cd "$MODEL_SOURCE" && pwd)" "$MODEL_LINK"
fi
if [ -e "$MODEL_LINK" ]; then
  echo "setup: embedding model: $MODEL_LINK"
else
  echo "setup: embedding model: fastembed downloads Xenova/all-MiniLM-L6-v2 on first use (offline: set CODECTX_MODEL_SOURCE, or index with --no-embed)"
fi

if [ "${1:-}" = "--deps-only" ]; then
  exit 0
fi

cargo build --release --locked --bin codectx
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
# The README's commands run target/release/codectx from the checkout, wherever
# CARGO_TARGET_DIR puts the build.
if [ -n "$TARGET_DIR" ] && [ "$TARGET_DIR/release/codectx" -ef "target/release/codectx" ]; then
  :
elif [ -n "$TARGET_DIR" ]; then
  mkdir -p target/release
  ln -sf "$TARGET_DIR/release/codectx" target/release/codectx
fi
echo "setup: built $TARGET_DIR/release/codectx"
