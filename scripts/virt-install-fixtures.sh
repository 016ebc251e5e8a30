#!/bin/bash
# Regenerates tests/fixtures/virt-install/*.xml: what `virt-install --print-xml` (virtinst 4.1,
# osinfo-db from Debian 12) defines for the same choices the new-VM tests make, so
# tests/newvm_xml.rs can compare virtdeck's domain XML with it. Needs scripts/lab.sh (a running
# qemu:///system: virt-install reads the host's capabilities to pick q35 and devices).
# Nothing is created: --print-xml only prints (install phase, then the final definition).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/virt-install
mkdir -p "$out"
tmp=$(mktemp -d)
had_boot=$([ -d /var/lib/libvirt/boot ] && echo 1 || true)
pools_before=$(virsh -c qemu:///system pool-list --all --name | sort)
# virt-install defines (and autostarts) a dir pool for every disk's directory and a
# "boot-scratch" pool for the cloud-init seed, even with --print-xml: remove what it added.
cleanup() {
    local p path
    for p in $(comm -13 <(echo "$pools_before") <(virsh -c qemu:///system pool-list --all --name | sort)); do
        # Only pools over our own directories: others may define pools meanwhile.
        path=$(virsh -c qemu:///system pool-dumpxml "$p" | sed -n 's|.*<path>\(.*\)</path>.*|\1|p' | head -1)
        case "$path" in
            "$tmp"|"$tmp"/*|/var/lib/libvirt/boot) ;;
            *) continue ;;
        esac
        virsh -q -c qemu:///system pool-destroy "$p" >/dev/null 2>&1 || true
        virsh -q -c qemu:///system pool-undefine "$p" >/dev/null
    done
    [ -n "$had_boot" ] || rm -rf /var/lib/libvirt/boot
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p /var/lib/libvirt/boot
# virt-install checks that media, kernels and disks exist; the contents do not matter.
touch "$tmp/install.iso" "$tmp/vmlinuz" "$tmp/initrd.gz" "$tmp/disk.img" "$tmp/hda.img"
qemu-img create -q -f qcow2 "$tmp/vda.qcow2" 20G
printf '#cloud-config\n' >"$tmp/user-data"
printf 'instance-id: x\n' >"$tmp/meta-data"
common=(--print-xml --connect qemu:///system --noautoconsole --memory 2048 --vcpus 2
        --graphics vnc,listen=127.0.0.1)

gen() {
    local name=$1
    shift
    virt-install "${common[@]}" --name "vdk-$name" "$@" >"$out/$name.xml"
    # Temp paths differ per run: keep the fixtures stable.
    sed -i "s|$tmp|/TMP|g; s|<uuid>.*</uuid>|<uuid>UUID</uuid>|; s|<mac address=\"[^\"]*\"/>|<mac address=\"MAC\"/>|; s|virtinst-[^\"/]*-cloudinit.iso|virtinst-cloudinit.iso|" "$out/$name.xml"
    echo "$out/$name.xml"
}

gen iso --osinfo debian11 --cdrom "$tmp/install.iso" \
    --disk path="$tmp/vda.qcow2",format=qcow2 --network network=default
# --install kernel=… would copy the kernel into a "boot-scratch" pool it defines; --boot gives
# the same <os> kernel/initrd/cmdline (one phase only: virtdeck boots it transiently).
gen url --osinfo debian11 \
    --boot kernel="$tmp/vmlinuz",initrd="$tmp/initrd.gz",kernel_args="console=ttyS0" \
    --disk path="$tmp/vda.qcow2",format=qcow2 --network network=default
gen pxe --osinfo debian11 --pxe \
    --disk path="$tmp/vda.qcow2",format=qcow2 --network bridge=br0,mac=52:54:00:12:34:56
gen import --osinfo debian11 --import --disk path="$tmp/disk.img",format=raw \
    --network network=default,model=e1000e
gen cloud --osinfo debian11 --import --disk path="$tmp/vda.qcow2",format=qcow2 \
    --network network=default \
    --cloud-init user-data="$tmp/user-data",meta-data="$tmp/meta-data"
gen legacy --osinfo winxp --cdrom "$tmp/install.iso" \
    --disk path="$tmp/hda.img",format=raw --network network=default
# The guest agent's channel, which virtdeck adds by default for an OS osinfo does not know
# and on request for one without virtio: virt-install adds it only when told.
agent=(--channel unix,target.type=virtio,target.name=org.qemu.guest_agent.0)
gen generic --osinfo generic --cdrom "$tmp/install.iso" \
    --disk path="$tmp/hda.img",format=raw --network network=default "${agent[@]}"
gen legacy-agent --osinfo winxp --cdrom "$tmp/install.iso" \
    --disk path="$tmp/hda.img",format=raw --network network=default "${agent[@]}"
# UEFI: Secure Boot said either way (virtdeck always says it; see src/xml/newvm/wire.rs).
gen win11 --osinfo win11 --cdrom "$tmp/install.iso" \
    --disk path="$tmp/vda.qcow2",format=qcow2 --network network=default \
    --boot uefi,firmware.feature0.name=secure-boot,firmware.feature0.enabled=yes,firmware.feature1.name=enrolled-keys,firmware.feature1.enabled=yes
gen uefi --osinfo debian11 --import --disk path="$tmp/disk.img",format=raw \
    --network network=default --boot uefi,firmware.feature0.name=secure-boot,firmware.feature0.enabled=no \
    --tpm emulator,model=tpm-tis
