#!/usr/bin/env bash
# Prepare a real qemu:///system libvirtd (with KVM) on a Debian 12 machine, as root,
# without systemd. Idempotent: a re-run on a prepared machine only checks and
# finishes in well under a second.
#
#   scripts/lab.sh                 install packages, configure, start virtlogd + libvirtd,
#                                  and an sshd on 127.0.0.1:22 taking root's own key, so
#                                  qemu+ssh://root@127.0.0.1/system works without prompts
#   scripts/lab.sh install-only    only install what building against libvirt needs
#                                  (libvirt-dev, pkg-config; enough for test:/// URIs)
#
# Environment:
#   VIRTDECK_REQUIRE_KVM=1   exit non-zero if KVM is not usable (default: warn only)
#   VIRTDECK_LAB_TIMEOUT=N   seconds to wait for libvirtd to answer (default 30)
#
# See /work/shared/LAB.md for the facts this script is built on.
set -euo pipefail

URI="qemu:///system"
MODE="${1:-full}"
TIMEOUT="${VIRTDECK_LAB_TIMEOUT:-30}"
# qemu-utils 7.2 build known to match Debian 12's qemu-system-x86 (LAB.md); used only
# when no 7.2 version can be discovered from apt at run time.
QEMU_UTILS_FALLBACK="1:7.2+dfsg-7+deb12u18+b3"

LIBVIRTD_PID=/run/libvirtd.pid
VIRTLOGD_PID=/run/virtlogd.pid
QEMU_CONF=/etc/libvirt/qemu.conf

log() { printf 'lab: %s\n' "$*"; }
warn() { printf 'lab: WARNING: %s\n' "$*" >&2; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }

case "$MODE" in
  full) PKGS=(libvirt-dev pkg-config libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
              qemu-system-x86 qemu-utils dnsmasq-base tmux nasm
              openssh-server openssh-client netcat-openbsd libxml2-utils
              lvm2 parted busybox-static iptables virtinst osinfo-db
              xorriso python3-yaml file
              ovmf swtpm swtpm-tools qemu-guest-agent) ;;
  install-only) PKGS=(libvirt-dev pkg-config) ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$MODE' (expected nothing or 'install-only')" ;;
esac

# Run a command as root (directly, or through sudo when available).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

# Version of an installed package ("" if not fully installed).
installed_version() {
  dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null \
    | awk '$1 == "ii" { print $2 }'
}

# ---------------------------------------------------------------- packages
missing_packages() {
  local status p
  # One dpkg-query for all packages; unknown packages print nothing for themselves.
  status="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' "${PKGS[@]}" 2>/dev/null || true)"
  for p in "${PKGS[@]}"; do
    if ! grep -q "^$p ii " <<<"$status"; then
      echo "$p"
    elif [ "$p" = qemu-utils ]; then
      # qemu-utils from backports (10.x) conflicts with Debian 12's qemu-system-x86 7.2.
      local v; v="$(awk -v p="$p" '$1 == p { print $3 }' <<<"$status")"
      case "$v" in 1:7.2*) ;; *) echo "$p" ;; esac
    fi
  done
}

# The qemu-utils version to pin: the one matching qemu-system-x86 (installed or
# candidate) if apt offers it, else the newest 7.2 build apt knows, else LAB.md's string.
qemu_utils_version() {
  local want available
  want="$(installed_version qemu-system-x86)"
  if [ -z "$want" ]; then
    want="$(apt-cache policy qemu-system-x86 2>/dev/null | awk '/Candidate:/ { print $2; exit }')"
  fi
  available="$(apt-cache madison qemu-utils 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')"
  case "$want" in
    1:7.2*) if grep -qxF "$want" <<<"$available"; then echo "$want"; return; fi ;;
  esac
  want="$(grep -m1 '^1:7\.2' <<<"$available" || true)"
  echo "${want:-$QEMU_UTILS_FALLBACK}"
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "packages present (${PKGS[*]})"
    return
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || die "apt-get update failed"
  local args=() p
  for p in "${missing[@]}"; do
    if [ "$p" = qemu-utils ]; then
      local v; v="$(qemu_utils_version)"
      log "pinning qemu-utils=$v"
      args+=("qemu-utils=$v")
    else
      args+=("$p")
    fi
  done
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends --allow-downgrades "${args[@]}" \
    || die "apt-get install failed (${args[*]}); see 'apt-cache policy qemu-utils' and LAB.md"
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] || die "still missing after install: ${missing[*]}"
  log "packages installed"
}

install_packages
if [ "$MODE" = install-only ]; then
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "the daemon setup must run as root (qemu:///system)"

# ---------------------------------------------------------------- users, config, dirs
getent group kvm >/dev/null || { log "creating group kvm"; groupadd -r kvm; }
getent group libvirt-qemu >/dev/null || { log "creating group libvirt-qemu"; groupadd -r libvirt-qemu; }
if ! id -u libvirt-qemu >/dev/null 2>&1; then
  log "creating user libvirt-qemu"
  useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
fi

mkdir -p /etc/libvirt /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/images \
  /var/lib/libvirt/qemu /var/cache/libvirt/qemu

conf_changed=0
ensure_conf() { # key value-as-written
  if [ ! -f "$QEMU_CONF" ] || ! grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$QEMU_CONF"; then
    printf '%s = %s\n' "$1" "$2" >>"$QEMU_CONF"
    log "qemu.conf: $1 = $2"
    conf_changed=1
  fi
}
ensure_conf user '"root"'
ensure_conf group '"root"'
ensure_conf dynamic_ownership 0

# ---------------------------------------------------------------- daemons
pid_alive() { # pidfile
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

virsh_answers() { timeout 5 virsh -c "$URI" "$@" >/dev/null 2>&1; }

if pid_alive "$VIRTLOGD_PID" && [ -S /run/libvirt/virtlogd-sock ]; then
  log "virtlogd running (pid $(cat "$VIRTLOGD_PID"))"
else
  log "starting virtlogd"
  virtlogd -d -p "$VIRTLOGD_PID" || die "virtlogd failed to start"
fi

libvirtd_running=0
if pid_alive "$LIBVIRTD_PID"; then
  libvirtd_running=1
elif virsh_answers uri; then
  libvirtd_running=1 # a daemon we did not start (other pid file) already answers
fi

if [ "$libvirtd_running" = 1 ] && [ "$conf_changed" = 1 ]; then
  if pid_alive "$LIBVIRTD_PID"; then
    pid="$(cat "$LIBVIRTD_PID")"
    log "qemu.conf changed: restarting libvirtd (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "libvirtd (pid $pid) did not exit"
    libvirtd_running=0
  else
    warn "qemu.conf changed but the running libvirtd has no pid file at $LIBVIRTD_PID; restart it by hand"
  fi
fi

if [ "$libvirtd_running" = 1 ]; then
  if pid_alive "$LIBVIRTD_PID"; then
    log "libvirtd running (pid $(cat "$LIBVIRTD_PID"))"
  else
    log "libvirtd answering on $URI"
  fi
else
  log "starting libvirtd"
  libvirtd -d -p "$LIBVIRTD_PID" || die "libvirtd failed to start"
fi

deadline=$((SECONDS + TIMEOUT))
until virsh_answers version; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "libvirtd did not answer 'virsh -c $URI version' within ${TIMEOUT}s (see /var/log/libvirt, try 'libvirtd -v' in the foreground)"
  fi
  sleep 0.2
done
log "libvirtd answers on $URI ($(virsh -c "$URI" version 2>/dev/null | awk '/Running hypervisor/ { print $3, $4 }'))"

# ---------------------------------------------------------------- KVM
kvm_problem=""
if [ ! -c /dev/kvm ]; then
  kvm_problem="/dev/kvm does not exist (no hardware virtualisation / nested KVM)"
elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
  kvm_problem="/dev/kvm is not readable+writable"
else
  caps="$(timeout 10 virsh -c "$URI" capabilities 2>/dev/null || true)"
  if ! grep -q "domain type='kvm'" <<<"$caps"; then
    kvm_problem="'virsh capabilities' reports no domain type='kvm'"
  fi
fi

if [ -n "$kvm_problem" ]; then
  warn "KVM not usable: $kvm_problem; only type='qemu' (TCG) guests will run"
  if [ "${VIRTDECK_REQUIRE_KVM:-0}" = 1 ]; then
    die "VIRTDECK_REQUIRE_KVM=1 and KVM is not usable"
  fi
else
  log "KVM usable (/dev/kvm, domain type='kvm')"
fi

# ---------------------------------------------------------------- sshd for qemu+ssh://
# Root's key (no passphrase) in its own authorized_keys, sshd on 127.0.0.1:22 (only if
# nothing listens there yet), the host key in root's known_hosts: then
# 'virsh -c qemu+ssh://root@127.0.0.1/system' works with host key checking and no
# prompt. The remote side runs virt-ssh-helper (libvirt-daemon) or nc (netcat-openbsd).
SSHD_PID=/run/virtdeck-sshd.pid
SSHD_OK=/run/virtdeck-sshd.ok   # "sshd=PID key=PUBKEY" of the last successful login
SSH_DIR=/root/.ssh
SSH_KEY="$SSH_DIR/id_ed25519"

port22_open() { timeout 2 bash -c '</dev/tcp/127.0.0.1/22' 2>/dev/null; }

mkdir -p /run/sshd "$SSH_DIR"
chmod 700 "$SSH_DIR"
if ! compgen -G '/etc/ssh/ssh_host_*_key' >/dev/null; then
  log "generating sshd host keys"
  ssh-keygen -A >/dev/null
fi
if [ ! -f "$SSH_KEY" ]; then
  log "generating $SSH_KEY"
  ssh-keygen -q -t ed25519 -N '' -C "root@virtdeck-lab" -f "$SSH_KEY"
fi
touch "$SSH_DIR/authorized_keys" "$SSH_DIR/known_hosts"
chmod 600 "$SSH_DIR/authorized_keys"
if ! grep -qxF "$(cat "$SSH_KEY.pub")" "$SSH_DIR/authorized_keys"; then
  log "authorizing $SSH_KEY.pub for root"
  cat "$SSH_KEY.pub" >>"$SSH_DIR/authorized_keys"
fi

sshd_started=0
if port22_open; then
  if pid_alive "$SSHD_PID"; then
    log "sshd running (pid $(cat "$SSHD_PID"))"
  else
    log "something already listens on 127.0.0.1:22; not starting sshd"
  fi
else
  log "starting sshd on 127.0.0.1:22"
  /usr/sbin/sshd -o ListenAddress=127.0.0.1 -o PermitRootLogin=prohibit-password \
    -o PidFile="$SSHD_PID" -p 22 || die "sshd failed to start"
  sshd_started=1
  for _ in $(seq 1 50); do port22_open && break; sleep 0.1; done
fi

if ! ssh-keygen -F 127.0.0.1 -f "$SSH_DIR/known_hosts" >/dev/null 2>&1; then
  keys="$(ssh-keyscan -T 5 -p 22 127.0.0.1 2>/dev/null || true)"
  if [ -n "$keys" ]; then
    printf '%s\n' "$keys" >>"$SSH_DIR/known_hosts"
    log "added 127.0.0.1 host keys to $SSH_DIR/known_hosts"
  else
    warn "ssh-keyscan got no host key from 127.0.0.1:22"
  fi
fi

# A real login costs ~0.3 s: skip it when our sshd and key are those last verified.
ssh_stamp=""
if pid_alive "$SSHD_PID"; then
  ssh_stamp="sshd=$(cat "$SSHD_PID") key=$(cat "$SSH_KEY.pub")"
fi
if [ -n "$ssh_stamp" ] && [ "$(cat "$SSHD_OK" 2>/dev/null)" = "$ssh_stamp" ]; then
  log "ssh root@127.0.0.1 verified earlier (qemu+ssh://root@127.0.0.1/system)"
elif timeout 10 ssh -o BatchMode=yes -o ConnectTimeout=5 -p 22 root@127.0.0.1 true 2>/dev/null; then
  log "ssh root@127.0.0.1 works with $SSH_KEY (qemu+ssh://root@127.0.0.1/system)"
  if [ -n "$ssh_stamp" ]; then printf '%s\n' "$ssh_stamp" >"$SSHD_OK"; fi
elif [ "$sshd_started" = 1 ]; then
  warn "sshd started but 'ssh -o BatchMode=yes root@127.0.0.1 true' fails; qemu+ssh:// tests will fail"
else
  warn "the server on 127.0.0.1:22 does not accept $SSH_KEY (BatchMode); qemu+ssh:// tests will fail"
fi

log "ready: $URI"
