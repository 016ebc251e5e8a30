#!/usr/bin/env bash
# Runs the whole virtdeck test suite on a Debian 12 machine (as root): installs the libvirt
# daemon, QEMU, tmux and nasm, starts a libvirtd when none is running (scripts/lab.sh), then
# runs formatting and lint checks, unit and render-snapshot tests, worker tests on the libvirt
# test driver, integration tests on real qemu:///system with KVM, and the tmux end-to-end test
# against the release binary.
#
# VIRTDECK_REQUIRE_KVM=0 lets the KVM tests skip on a machine without /dev/kvm.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "test: cargo not found: install Rust first (https://rustup.rs)" >&2; exit 1; }
export VIRTDECK_REQUIRE_KVM="${VIRTDECK_REQUIRE_KVM:-1}"
bash scripts/lab.sh
# A clean build of everything below takes about 6 GB (debug tests 4 GB, release 1 GB); say what
# the disk has, since a full disk shows up later as a compiler I/O error.
df -h --output=avail,target . | sed 's/^/test: disk: /'

echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "test: release build (used by the end-to-end test)"
cargo build --locked --release
export VIRTDECK_BIN="$PWD/target/release/virtdeck"
echo "test: package (.deb built, installed with dpkg -i, run)"
bash scripts/deb-check.sh
echo "test: cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
# Doc tests are left out (there are none); benches run through `cargo bench`, not here.
cargo test --locked --no-fail-fast --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
