# Shared by Pigeon's scripts: messages and the cargo bin dir on PATH.
# shellcheck shell=bash

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Tools installed with `cargo install` live here; a fresh shell may not have it on PATH yet.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Speech models for the tests (the setup's download, the test's converted tiny.en).
# schemathesis, which checks the hub against its OpenAPI document, pinned.
SCHEMATHESIS_VERSION=4.32.5
pigeon_schemathesis() {
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/pigeon/schemathesis-$SCHEMATHESIS_VERSION/bin/schemathesis"
}

pigeon_models_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/pigeon/models"; }
