#!/usr/bin/env bash
# Regenerates screenshots/*.txt: real captures (tmux capture-pane) of the release binary
# running on the embedded demo fleet. Needs tmux and a release build (scripts/demo.sh or
# `cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VIRTDECK_BIN:-target/release/virtdeck}"
[ -x "$BIN" ] || cargo build --release --locked
BASE="vdk-shots-$$"
SOCK="$BASE"
CFG="$(mktemp -d)"
SOCKS=()
trap 'for s in "${SOCKS[@]}"; do tmux -L "$s" kill-server 2>/dev/null || true; done; rm -rf "$CFG"' EXIT
mkdir -p screenshots

shot() { # name: capture the pane once the screen has settled
  sleep 0.6
  tmux -L "$SOCK" capture-pane -p -t s > "screenshots/$1.txt"
  echo "screenshots/$1.txt"
}
keys() { tmux -L "$SOCK" send-keys -t s "$@"; }
esc() { # N separate Escapes (sent together they read as Alt+Escape)
  for _ in $(seq "$1"); do keys Escape; sleep 0.15; done
}
start() { # cols rows: a fresh tmux server per size (restarting one server races)
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  SOCK="$BASE-$1x$2"
  SOCKS+=("$SOCK")
  tmux -L "$SOCK" new-session -d -s s -x "$1" -y "$2" -e "VIRTDECK_CONFIG_DIR=$CFG" \
    -e TERM=xterm-256color "$BIN" --demo
  for _ in $(seq 50); do
    tmux -L "$SOCK" capture-pane -p -t s | grep -q "3/3 hosts connected" && break
    sleep 0.1
  done
}

start 120 36
# The demo's made-up metrics need a few polls (2 s apart) before the sparklines move.
sleep 12
shot dashboard
keys n && keys -l "qemu+ssh://root@kvm-04/sytem" && shot add-host
keys Escape && keys 2 && shot main
keys Enter && shot vm-detail
keys Escape && keys / && keys -l "state:run k8s" && shot filter
keys Enter && keys '*' && keys d && shot confirm-bulk
keys n && keys Escape && keys Escape && keys '?' && shot help
keys Escape && keys 3 && shot pools
keys Enter && shot volumes
keys n && keys -l "scratch.qcow2" && keys Tab && keys BSpace BSpace BSpace && keys -l "40G" \
  && shot volume-wizard
esc 2 && keys n && keys -l "nfs-isos" && keys Tab Right Right && shot pool-wizard
keys Enter && keys -l "nas.example.com" && keys Tab && keys -l "/export/isos" && keys Tab Tab \
  && keys -l "/var/lib/libvirt/isos" && keys Enter && keys Enter && shot pool-wizard-review
esc 4 && keys 4 && shot networks
keys n && keys -l "lab-net" && keys Enter && shot network-wizard
esc 2 && keys i && shot host-interfaces
# VM detail tabs and the new-VM wizard on the demo.
esc 1 && keys 2 && keys g && keys Enter && sleep 0.5 && keys Tab && shot vm-hardware
keys Tab && shot vm-snapshots
keys Tab && shot vm-xml
esc 1 && keys N && sleep 1 && shot new-vm-wizard
keys Enter && keys -l "debian11" && sleep 0.3 && shot new-vm-os
esc 2
# Migration on the demo: the wizard, its checks (real answers of the test driver), and the
# pane after the test driver refused to migrate (it has no migration support).
keys 2 && keys g && keys j j && keys m && shot migrate-wizard
keys Enter && keys Enter && sleep 1 && shot migrate-checks
esc 1 && for _ in 1 2 3 4 5; do keys Tab; done && keys Right && keys Enter && sleep 1 \
  && keys Enter && sleep 1.5 && shot migrations
# The jobs pane (the refused migration is one of them), then the : palette: host completions,
# and the VM table it scopes to one host and filters.
keys 6 && shot jobs
keys : && keys -l "vms @" && shot palette
keys Tab && keys -l " /k8s" && keys Enter && shot palette-scoped
# The events pane after a VM was shut down from the table.
esc 2 && keys / && keys -l "redis-cache-01" && keys Enter && keys d && sleep 1.5 \
  && keys 7 && shot events
start 80 24
sleep 20
shot dashboard-80x24
keys 2 && shot narrow-80x24

# Console, display panel and VNC preview need a real guest: the tiny KVM test guest on
# qemu:///system, when a daemon with KVM is reachable (scripts/lab.sh starts one).
caps="$(virsh -c qemu:///system capabilities 2>/dev/null || true)"
if [[ "$caps" == *"domain type='kvm'"* ]] && command -v nasm >/dev/null; then
  GDIR="$(mktemp -d)"; GNAME="vdk-shot-$$"
  nasm -f bin -o "$GDIR/tiny.img" tests/guest/tiny.asm
  sed -e "s|@NAME@|$GNAME|" -e "s|@DISK@|$GDIR/tiny.img|" tests/guest/tiny.xml > "$GDIR/tiny.xml"
  virsh -q -c qemu:///system define "$GDIR/tiny.xml" >/dev/null
  trap 'virsh -q -c qemu:///system destroy "$GNAME" >/dev/null 2>&1 || true; virsh -q -c qemu:///system undefine "$GNAME" >/dev/null 2>&1 || true; rm -rf "$GDIR"; for s in "${SOCKS[@]}"; do tmux -L "$s" kill-server 2>/dev/null || true; done; rm -rf "$CFG"' EXIT
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  SOCK="$BASE-kvm"; SOCKS+=("$SOCK")
  tmux -L "$SOCK" new-session -d -s s -x 100 -y 30 -e "VIRTDECK_CONFIG_DIR=$CFG" \
    -e TERM=xterm-256color "$BIN" -c qemu:///system
  for _ in $(seq 100); do tmux -L "$SOCK" capture-pane -p -t s | grep -q "$GNAME" && break; sleep 0.1; done
  keys / && keys -l "$GNAME" && keys Enter && keys c
  sleep 0.5; virsh -q -c qemu:///system start "$GNAME" >/dev/null
  for _ in $(seq 100); do tmux -L "$SOCK" capture-pane -p -t s | grep -q "GUEST READY" && break; sleep 0.1; done
  keys -l "hello from virtdeck" && keys Enter && shot console
  keys C-] && sleep 0.3 && keys v && shot display
  # Half blocks only make sense in colour: keep the escapes (view with `cat` in a terminal).
  keys p && sleep 1.5 && tmux -L "$SOCK" capture-pane -e -p -t s > screenshots/vnc-preview.ans
  python3 scripts/ans2png.py screenshots/vnc-preview.ans screenshots/vnc-preview.png
  echo screenshots/vnc-preview.ans screenshots/vnc-preview.png
  keys C-] && sleep 0.3
fi

# Put the 80x24 capture into the README between its markers.
python3 - <<'PY'
import re
readme = open("README.md").read()
shot = open("screenshots/dashboard-80x24.txt").read().rstrip("\n")
block = "<!-- screenshot:begin -->\n```text\n" + shot + "\n```\n<!-- screenshot:end -->"
readme = re.sub(r"<!-- screenshot:begin -->.*?<!-- screenshot:end -->", lambda _: block, readme, flags=re.S)
open("README.md", "w").write(readme)
PY
echo README.md
