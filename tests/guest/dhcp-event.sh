#!/bin/busybox sh
# udhcpc's event script in the DHCP test guest (busybox has no default script at the path it
# looks for): configure the leased address and default route, say so on the console.
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
    for r in $router; do
      ip route replace default via "$r" dev "$interface"
      break
    done
    echo "vdk-guest: lease $ip on $interface"
    ;;
esac
exit 0
