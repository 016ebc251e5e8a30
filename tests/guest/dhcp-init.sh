#!/bin/busybox sh
# PID 1 of the DHCP test guest (tests/common/dhcp_guest.rs packs it as /init into a busybox
# initramfs). Loads the virtio-net modules listed in /modules/order, asks for a DHCP lease on
# eth0 with the hostname from the kernel command line (vdk_host=NAME arrives as $vdk_host),
# then pings the gateway now and then so the host's ARP table knows the guest too.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "vdk-guest: init"
for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || echo "vdk-guest: insmod $m failed"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] || echo "vdk-guest: no eth0"
host="${vdk_host:-vdk-guest}"
hostname "$host"
# The guest agent, when the domain has its channel: /dev/virtio-ports/NAME as udev would
# make it, then qemu-ga on it (restarted if it ends).
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] || continue
  mkdir -p /dev/virtio-ports
  ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done
if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && [ -x /usr/sbin/qemu-ga ]; then
  mkdir -p /var/run /run
  (while :; do /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /tmp; sleep 1; done) &
  echo "vdk-guest: agent started"
fi
ip link set lo up
ip link set eth0 up
# -q: quit once bound (the lease lasts an hour, longer than any test); retry until bound.
until udhcpc -i eth0 -s /bin/dhcp-event -x "hostname:$host" -t 5 -T 1 -A 1 -q -n; do
  echo "vdk-guest: no lease yet"
done
while :; do
  gw="$(ip route | awk '/^default/ { print $3; exit }')"
  [ -n "$gw" ] && ping -c 1 -W 1 "$gw" >/dev/null 2>&1
  sleep 2
done
