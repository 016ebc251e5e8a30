#!/usr/bin/env bash
# Runs one bench against the shipped binary: `scripts/bench.sh idle` (or hosts100). `cargo bench`
# alone runs its own build of virtdeck, which link/order.txt does not lay out (see
# benches/support/shipped.rs), so its RSS is not the one users get. Environment knobs of the
# bench (VIRTDECK_IDLE_*, …) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: scripts/bench.sh BENCH   (idle, hosts100, …)" >&2; exit 2; }
cargo build --release --locked
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
cp target/release/virtdeck "$DIR/virtdeck"
VIRTDECK_BENCH_BIN="$DIR/virtdeck" cargo bench --locked --bench "$1"
