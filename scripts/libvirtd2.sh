#!/usr/bin/env bash
# A private SECOND root libvirtd (QEMU driver, KVM) on this machine, for tests that
# need two daemons: live migration, a daemon that is SIGSTOPped / killed / restarted
# while the main qemu:///system daemon (scripts/lab.sh) keeps running untouched.
#
#   scripts/libvirtd2.sh start    start it (idempotent); prints on stdout, last lines:
#                                   unix=qemu+unix:///system?socket=<BASE>/run/libvirt/libvirt-sock
#                                   tcp=qemu+tcp://<LISTEN>:16510/system
#                                   pid=<libvirtd pid>
#   scripts/libvirtd2.sh stop     kill libvirtd, its virtlogd and guests, remove <BASE>
#                                 (safe when not running, also when SIGSTOPped)
#   scripts/libvirtd2.sh pid      print the libvirtd pid (root namespace; kill -STOP it)
#   scripts/libvirtd2.sh uri [unix|tcp]   print a URI (default: the unix socket one)
#   scripts/libvirtd2.sh status   print the state; exit 0 running and answering,
#                                 1 running but not answering (e.g. stopped), 3 not running
#   scripts/libvirtd2.sh restart  stop + start
# Human-readable messages go to stderr; stdout carries only the values above.
#
# How: `unshare -m -u` gives libvirtd its own mount + UTS namespace (hostname vd-lab2);
# private directories under <BASE> are bind-mounted over /run/libvirt, /var/lib/libvirt,
# /etc/libvirt (a copy with its own libvirtd.conf + host_uuid), /var/log/libvirt and
# /var/cache/libvirt. libvirtd runs in the foreground (no -d) as the exec'd namespace
# process, so its pid is the pid of the namespace's first process and is the same
# seen from the root namespace. Its own virtlogd runs in the namespace with its own
# pid file. The namespace lives as long as one of its processes does; `start` after
# a SIGKILL builds a new one over the same directories (state, guests and a still
# running virtlogd are picked up again).
#
# Environment:
#   VIRTDECK_LAB2_DIR=DIR        base directory for all state (default /run/virtdeck-lab2)
#   VIRTDECK_LAB2_PORT=N         TCP port (default 16510), auth_tcp = "none"
#   VIRTDECK_LAB2_LISTEN=ADDR    TCP listen address (default 127.0.0.1); benches/slowlink.rs
#                                runs this script inside a network namespace and listens on
#                                the namespace's end of a veth pair
#   VIRTDECK_LAB2_HOSTNAME=NAME  hostname inside the namespace (default vd-lab2)
#   VIRTDECK_LAB2_TIMEOUT=N      seconds to wait for the daemon to answer / exit (default 30)
#
# Requires scripts/lab.sh to have run (packages, kvm/libvirt-qemu users, qemu.conf).
# See /work/shared/LAB.md ("Live migration between two daemons on one machine").
set -euo pipefail

BASE="${VIRTDECK_LAB2_DIR:-/run/virtdeck-lab2}"
PORT="${VIRTDECK_LAB2_PORT:-16510}"
LISTEN="${VIRTDECK_LAB2_LISTEN:-127.0.0.1}"
NS_HOSTNAME="${VIRTDECK_LAB2_HOSTNAME:-vd-lab2}"
TIMEOUT="${VIRTDECK_LAB2_TIMEOUT:-30}"

BASE="${BASE%/}"
MARKER="$BASE/.virtdeck-lab2"          # stop only removes a directory carrying this
RUN_DIR="$BASE/run/libvirt"            # bind-mounted over /run/libvirt
LIB_DIR="$BASE/lib/libvirt"            # over /var/lib/libvirt
ETC_DIR="$BASE/etc/libvirt"            # over /etc/libvirt
LOG_DIR="$BASE/log/libvirt"            # over /var/log/libvirt
CACHE_DIR="$BASE/cache/libvirt"        # over /var/cache/libvirt
LIBVIRTD_PID="$BASE/libvirtd.pid"
VIRTLOGD_PID="$BASE/virtlogd.pid"
DAEMON_LOG="$BASE/libvirtd.log"        # libvirtd's stdout/stderr
LOCK="$BASE.lock"                      # outside BASE: survives stop

UNIX_URI="qemu+unix:///system?socket=$RUN_DIR/libvirt-sock"
TCP_URI="qemu+tcp://$LISTEN:$PORT/system"

log() { printf 'libvirtd2: %s\n' "$*" >&2; }
warn() { printf 'libvirtd2: WARNING: %s\n' "$*" >&2; }
die() { printf 'libvirtd2: ERROR: %s\n' "$*" >&2; exit 1; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

case "$BASE" in
  /?*) ;;
  *) die "VIRTDECK_LAB2_DIR must be an absolute path other than / (got '$BASE')" ;;
esac

# ---------------------------------------------------------------- processes
# dev:inode of our private /run/libvirt: a process belongs to this daemon's namespace
# (any incarnation of it) iff it sees that directory at /run/libvirt.
rundir_id() { stat -c '%d:%i' "$RUN_DIR" 2>/dev/null; }

# belongs PID [RUNDIR_ID]: the process sees our private dir at /run/libvirt.
belongs() {
  local want="${2:-}"
  [ -n "$want" ] || want="$(rundir_id)" || return 1
  [ -n "$want" ] && [ "$(stat -L -c '%d:%i' "/proc/$1/root/run/libvirt" 2>/dev/null)" = "$want" ]
}

comm_of() { cat "/proc/$1/comm" 2>/dev/null; }
state_of() { # one-letter state from /proc/PID/stat (field 3, after "(comm)")
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  printf '%s\n' "${s%% *}"
}

# pid from a pid file if alive, named $2 and in our namespace.
pidfile_pid() { # file comm
  local pid
  [ -s "$1" ] || return 1
  pid="$(tr -dc 0-9 <"$1")"
  [ -n "$pid" ] && [ "$(comm_of "$pid")" = "$2" ] && belongs "$pid" || return 1
  printf '%s\n' "$pid"
}

# All processes in (any incarnation of) our namespace: libvirtd, virtlogd, qemu,
# helpers. One `find` for all mount-namespace links, then one stat per foreign
# namespace.
ns_pids() {
  local want self pid ns verdict
  want="$(rundir_id)" || return 0
  [ -n "$want" ] || return 0
  self="$(readlink /proc/self/ns/mnt)"
  declare -A seen=()
  self="${self//[^0-9]/}"
  while read -r pid ns; do
    ns="${ns//[^0-9]/}"   # mnt:[4026531841] -> 4026531841; empty if the process vanished
    if [ -z "$ns" ] || [ "$ns" = "$self" ]; then continue; fi
    verdict="${seen[$ns]:-}"
    if [ -z "$verdict" ]; then
      if belongs "$pid" "$want"; then verdict=yes; else verdict=no; fi
      seen[$ns]="$verdict"
    fi
    if [ "$verdict" = yes ]; then printf '%s\n' "$pid"; fi
  done < <(find /proc/[0-9]*/ns/mnt -maxdepth 0 -printf '%p %l\n' 2>/dev/null \
             | sed -n 's#^/proc/\([0-9]*\)/ns/mnt #\1 #p')
}

# The libvirtd pid: from its pid file, else found by scanning the namespace.
libvirtd_pid() {
  local pid
  if pid="$(pidfile_pid "$LIBVIRTD_PID" libvirtd)"; then
    printf '%s\n' "$pid"; return 0
  fi
  for pid in $(ns_pids); do
    if [ "$(comm_of "$pid")" = libvirtd ]; then printf '%s\n' "$pid"; return 0; fi
  done
  return 1
}

answers() { timeout "${1:-5}" virsh -c "$UNIX_URI" version >/dev/null 2>&1; }

print_uris() {
  printf 'unix=%s\ntcp=%s\npid=%s\n' "$UNIX_URI" "$TCP_URI" "$1"
}

# ---------------------------------------------------------------- start
prepare_dirs() {
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  local b
  for b in libvirtd virtlogd virsh unshare; do
    command -v "$b" >/dev/null || die "$b not installed: run scripts/lab.sh first"
  done
  id -u libvirt-qemu >/dev/null 2>&1 || die "user libvirt-qemu missing: run scripts/lab.sh first"

  if [ -d "$BASE" ] && [ ! -e "$MARKER" ] && [ -n "$(ls -A "$BASE" 2>/dev/null)" ]; then
    die "$BASE exists, is not empty and is not ours (no $MARKER); choose another VIRTDECK_LAB2_DIR"
  fi
  mkdir -p "$BASE" "$RUN_DIR" "$LIB_DIR/images" "$LIB_DIR/qemu" "$LOG_DIR/qemu" \
    "$CACHE_DIR/qemu" "$ETC_DIR/qemu"
  chmod 755 "$BASE"
  : >>"$MARKER"

  if [ ! -e "$ETC_DIR/libvirtd.conf" ]; then
    # A copy of the host's config files (not its domain/network definitions), then
    # our own libvirtd.conf. Re-created only with a fresh BASE.
    find /etc/libvirt -maxdepth 1 -type f ! -name libvirtd.conf -exec cp -p {} "$ETC_DIR/" \;
    local qconf="$ETC_DIR/qemu.conf" k
    # Both daemons share the network namespace but allocate ports independently: a guest
    # started on one could be handed the VNC or incoming-migration port a guest of the other
    # holds ("Failed to find an available port"). Give this one its own ranges.
    for k in 'user = "root"' 'group = "root"' 'dynamic_ownership = 0' \
      'remote_display_port_min = 6900' 'remote_display_port_max = 6999' \
      'migration_port_min = 49300' 'migration_port_max = 49399'; do
      grep -Eq "^[[:space:]]*${k%% *}[[:space:]]*=" "$qconf" 2>/dev/null || printf '%s\n' "$k" >>"$qconf"
    done
    # Seed the QEMU capabilities cache from the main daemon: saves a probe of QEMU.
    if [ -d /var/cache/libvirt/qemu/capabilities ]; then
      cp -a /var/cache/libvirt/qemu/capabilities "$CACHE_DIR/qemu/" 2>/dev/null || true
    fi
    cat >"$ETC_DIR/libvirtd.conf.new" <<EOF
# written by scripts/libvirtd2.sh: second test daemon, NOT for production
listen_tls = 0
listen_tcp = 1
listen_addr = "$LISTEN"
tcp_port = "$PORT"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
EOF
    mv "$ETC_DIR/libvirtd.conf.new" "$ETC_DIR/libvirtd.conf"
  fi
}

launch() {
  # Sockets left behind by a killed daemon: nobody listens on them any more.
  rm -f "$RUN_DIR/libvirt-sock" "$RUN_DIR/libvirt-sock-ro" "$RUN_DIR/libvirt-admin-sock"
  local vl_running=0
  if pidfile_pid "$VIRTLOGD_PID" virtlogd >/dev/null; then
    vl_running=1
  else
    rm -f "$RUN_DIR/virtlogd-sock" "$RUN_DIR/virtlogd-admin-sock"
  fi
  : >>"$DAEMON_LOG"
  printf '==== %s start\n' "$(date '+%F %T')" >>"$DAEMON_LOG"

  # Inside the new namespace: hostname, bind mounts, virtlogd (unless a virtlogd of
  # an earlier incarnation is still serving the same socket), then exec libvirtd.
  # setsid: own session, so the caller's terminal / process group signals miss it.
  # A clean environment; all fds to the log so no caller pipe is held open, and not
  # the lock (fd 9), or the daemon would hold it for ever.
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    B="$BASE" H="$NS_HOSTNAME" VL="$vl_running" \
    unshare --mount --uts --propagation private -- /bin/sh -c '
      set -e
      hostname "$H"
      mkdir -p /run/libvirt /var/lib/libvirt /etc/libvirt /var/log/libvirt /var/cache/libvirt
      mount --bind "$B/run/libvirt" /run/libvirt
      mount --bind "$B/lib/libvirt" /var/lib/libvirt
      mount --bind "$B/etc/libvirt" /etc/libvirt
      mount --bind "$B/log/libvirt" /var/log/libvirt
      mount --bind "$B/cache/libvirt" /var/cache/libvirt
      if [ "$VL" != 1 ]; then virtlogd -d -p "$B/virtlogd.pid"; fi
      exec libvirtd --listen -p "$B/libvirtd.pid" -f /etc/libvirt/libvirtd.conf
    ' </dev/null >>"$DAEMON_LOG" 2>&1 9>&- &
  LAUNCHED=$!
}

cmd_start() {
  local pid st t0 deadline
  t0="$(date +%s.%N)"
  prepare_dirs
  if pid="$(libvirtd_pid)"; then
    st="$(state_of "$pid" || true)"
    case "$st" in
      T|t) die "libvirtd (pid $pid) is stopped (state $st): 'kill -CONT $pid' or '$0 stop' first" ;;
    esac
    answers "$TIMEOUT" || die "libvirtd (pid $pid) runs but does not answer on $UNIX_URI within ${TIMEOUT}s (log: $DAEMON_LOG)"
    log "already running (pid $pid, hostname $NS_HOSTNAME)"
    print_uris "$pid"
    return 0
  fi

  # Guests or a virtlogd of a killed incarnation may still run: they are reused.
  log "starting libvirtd (base $BASE, hostname $NS_HOSTNAME, tcp $LISTEN:$PORT)"
  launch
  deadline=$((SECONDS + TIMEOUT))
  until answers 5; do
    # our own child: a zombie until waited for
    if ! kill -0 "$LAUNCHED" 2>/dev/null || [ "$(state_of "$LAUNCHED" || true)" = Z ]; then
      wait "$LAUNCHED" 2>/dev/null || true
      tail -n 20 "$DAEMON_LOG" >&2 || true
      die "libvirtd exited during start-up (log: $DAEMON_LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$DAEMON_LOG" >&2 || true
      die "libvirtd (pid $LAUNCHED) did not answer 'virsh -c $UNIX_URI version' within ${TIMEOUT}s (log: $DAEMON_LOG)"
    fi
    sleep 0.1
  done
  pid="$(libvirtd_pid)" || die "libvirtd answers but its pid is unknown (pid file $LIBVIRTD_PID)"
  [ "$pid" = "$LAUNCHED" ] || warn "pid file says $pid, launched $LAUNCHED"
  timeout 5 virsh -c "$TCP_URI" version >/dev/null 2>&1 \
    || die "libvirtd answers on the unix socket but not on $TCP_URI (port $PORT taken? log: $DAEMON_LOG)"
  log "ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s (pid $pid)"
  print_uris "$pid"
}

# ---------------------------------------------------------------- stop
cmd_stop() {
  local pids=() p left=() deadline
  mapfile -t pids < <({ pidfile_pid "$LIBVIRTD_PID" libvirtd || true
                        pidfile_pid "$VIRTLOGD_PID" virtlogd || true
                        ns_pids; } | sort -un)
  if [ "${#pids[@]}" -gt 0 ]; then
    log "stopping ${#pids[@]} process(es): $(for p in "${pids[@]}"; do printf '%s(%s) ' "$p" "$(comm_of "$p")"; done)"
    # SIGCONT first: a SIGSTOPped daemon would keep SIGTERM pending forever.
    kill -CONT "${pids[@]}" 2>/dev/null || true
    kill -TERM "${pids[@]}" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while :; do
      left=()
      for p in "${pids[@]}"; do
        # a zombie (state Z) has exited already
        if kill -0 "$p" 2>/dev/null && [ "$(state_of "$p" || true)" != Z ]; then left+=("$p"); fi
      done
      [ "${#left[@]}" -eq 0 ] && break
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "SIGKILL to ${left[*]}"
        kill -KILL "${left[@]}" 2>/dev/null || true
        sleep 0.5
        break
      fi
      sleep 0.1
    done
    # A guest started during the wait would have escaped: check once more.
    mapfile -t left < <(ns_pids)
    if [ "${#left[@]}" -gt 0 ]; then
      kill -KILL "${left[@]}" 2>/dev/null || true
      sleep 0.5
      mapfile -t left < <(ns_pids)
      [ "${#left[@]}" -eq 0 ] || warn "still alive: ${left[*]}"
    fi
  else
    log "not running"
  fi

  if [ -d "$BASE" ]; then
    if [ -e "$MARKER" ] || [ -z "$(ls -A "$BASE" 2>/dev/null)" ]; then
      rm -rf -- "$BASE"
      log "removed $BASE"
    else
      warn "$BASE is not ours (no $MARKER): left in place"
    fi
  fi
}

# ---------------------------------------------------------------- status
cmd_status() {
  local pid st vl
  if ! pid="$(libvirtd_pid)"; then
    vl="$(pidfile_pid "$VIRTLOGD_PID" virtlogd || true)"
    echo "not running${vl:+ (virtlogd $vl still running)}"
    return 3
  fi
  st="$(state_of "$pid" || echo '?')"
  vl="$(pidfile_pid "$VIRTLOGD_PID" virtlogd || echo none)"
  case "$st" in
    T|t) echo "stopped: libvirtd pid $pid (state $st), virtlogd $vl"; return 1 ;;
  esac
  if answers 3; then
    echo "running: libvirtd pid $pid (state $st), virtlogd $vl, hostname $NS_HOSTNAME"
    echo "unix=$UNIX_URI"
    echo "tcp=$TCP_URI"
    return 0
  fi
  echo "not answering: libvirtd pid $pid (state $st), virtlogd $vl"
  return 1
}

# ---------------------------------------------------------------- main
with_lock() {
  mkdir -p "$(dirname "$LOCK")"
  exec 9>>"$LOCK"
  flock -w "$((TIMEOUT + 30))" 9 || die "another libvirtd2.sh holds $LOCK"
}

case "${1:-}" in
  start) with_lock; cmd_start ;;
  stop) with_lock; cmd_stop ;;
  restart) with_lock; cmd_stop; cmd_start ;;
  pid) libvirtd_pid || { echo "libvirtd2: not running" >&2; exit 1; } ;;
  uri)
    case "${2:-unix}" in
      unix) echo "$UNIX_URI" ;;
      tcp) echo "$TCP_URI" ;;
      *) die "uri: expected 'unix' or 'tcp'" ;;
    esac ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
