#!/usr/bin/env bash
# CI check of the package: builds the .deb (scripts/deb.sh), installs it with dpkg -i on this
# machine (CI runs on a throwaway Debian 12 root), runs `virtdeck --version` and draws one frame
# of `virtdeck --demo` in tmux, then removes the package again.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
bash scripts/deb.sh
deb="$(ls -t "$target"/debian/virtdeck_*.deb | head -1)"
dpkg-deb -f "$deb" Depends | grep -q libvirt0 || { echo "deb: Depends lacks libvirt0" >&2; exit 1; }
# Packed relocations (build.rs) need glibc 2.36; $auto alone says 2.34.
if readelf -V "$target/release/virtdeck" | grep -q GLIBC_ABI_DT_RELR; then
  dpkg-deb -f "$deb" Depends | grep -qF 'libc6 (>= 2.36)' || { echo "deb: Depends lacks libc6 (>= 2.36)" >&2; exit 1; }
fi
dpkg -i "$deb"
trap 'dpkg -r virtdeck >/dev/null' EXIT
test -f /usr/share/man/man1/virtdeck.1.gz
test -f /usr/share/bash-completion/completions/virtdeck
test -f /usr/share/doc/virtdeck/examples/config.toml
/usr/bin/virtdeck --version
session="vdk-deb-$$"
tmux new-session -d -s "$session" -x 120 -y 40 "env -u VIRTDECK_CONFIG_DIR /usr/bin/virtdeck --demo"
ok=0
for _ in $(seq 50); do
    sleep 0.2
    if tmux capture-pane -p -t "$session" | grep -q "kvm-prod-01"; then ok=1; break; fi
done
tmux capture-pane -p -t "$session" | head -5
tmux kill-session -t "$session" || true
[ "$ok" = 1 ] || { echo "deb: virtdeck --demo drew no frame with the demo hosts" >&2; exit 1; }
echo "deb: installed, --version and --demo work"
