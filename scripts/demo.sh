#!/usr/bin/env bash
# Runs virtdeck on the embedded demo fleet (libvirt test driver; no hypervisor needed).
# Installs what building needs (libvirt-dev, pkg-config) if missing, builds in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "demo: cargo not found: install Rust first (https://rustup.rs)" >&2; exit 1; }
bash scripts/lab.sh install-only
cargo build --release --locked
exec target/release/virtdeck --demo "$@"
