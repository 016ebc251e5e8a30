#!/usr/bin/env python3
"""Generate a large libvirt test-driver host (a single <node> XML file).

    scripts/gen_fleet.py --vms 5000 --out /tmp/fleet-5000.xml
    virsh -c test:///tmp/fleet-5000.xml list --all

The output is deterministic for a given (--vms, --seed, --name) and uses the
same encodings as the hand-written hosts in demo/ (see demo/README.md):

* runtime state via the test-driver namespace
  (<test:runstate>N</test:runstate>, <test:transient/>, <test:hasmanagedsave/>)
* autostart / inactive objects via the <vd:overlay> block that libvirt ignores
  and virtdeck applies after connecting (disable with --no-overlay).

--hostile mixes in names a hostile host could report (markup characters, line
and paragraph separators, bidi overrides, zero-width joiners, C1 controls, a
newline, 500 characters, CJK, emoji) for VMs, titles, volumes, pools and
networks, plus VNC socket paths and listen addresses holding shell syntax. The
first VMs take each hostile name once, then every 100th VM takes one again:

    scripts/gen_fleet.py --vms 20 --hostile --name hostile --out tests/fixtures/hostile-fleet.xml
    scripts/gen_fleet.py --vms 5000 --hostile --out /tmp/hostile-5000.xml
    scripts/gen_fleet.py --vms 20000 --hostile --out /tmp/hostile-20000.xml

Storage note: the test driver fixes every pool's capacity at 100 GiB and sums
volume allocations, so allocations are scaled to keep each pool below
~90 GiB (volume *capacities* stay realistic: thin qcow2 images).

Stdlib only.
"""
import argparse
import random
import sys
import unicodedata
import uuid

NS_TEST = "http://libvirt.org/schemas/domain/test/1.0"
NS_VD = "urn:virtdeck:demo"
MiB_PER_GiB = 1024
POOL_ALLOC_BUDGET_MIB = 90 * MiB_PER_GiB  # test driver pool capacity is 100 GiB

# name prefix, vcpu choices, memory choices (MiB), extra data disks, windows?
ROLES = [
    ("web", (1, 2, 4), (1024, 2048, 4096), (0, 0, 1), False),
    ("app", (2, 4, 8), (4096, 8192, 16384), (0, 1), False),
    ("db", (4, 8, 16), (16384, 32768, 65536), (1, 2), False),
    ("cache", (1, 2, 4), (2048, 4096, 8192), (0,), False),
    ("k8s-worker", (4, 8, 12, 16), (8192, 16384, 32768), (0, 1), False),
    ("k8s-master", (2, 4), (4096, 8192), (0,), False),
    ("ci-runner", (2, 4, 8), (4096, 8192), (0, 1), False),
    ("mq", (2, 4), (2048, 4096, 8192), (0, 1), False),
    ("dns", (1,), (512, 1024), (0,), False),
    ("monitor", (2, 4), (4096, 8192), (1,), False),
    ("win2022", (2, 4, 8), (4096, 8192, 16384), (0, 1), True),
    ("win11", (2, 4), (4096, 8192), (0,), True),
    ("sandbox", (1, 2), (512, 1024, 2048), (0,), False),
]

# (state name, runstate number, weight)
STATES = [
    ("running", 1, 70),
    ("shutoff", 5, 20),
    ("paused", 3, 6),
    ("shutdown", 4, 1),
    ("crashed", 6, 1),
    ("pmsuspended", 7, 1),
    ("blocked", 2, 1),
]

UNICODE_NAMES = ["café", "über", "東京", "naïve", "smörgås", "señal", "данные", "λ-calc"]
TITLES = [
    "frontend", "backend API", "batch worker", "PostgreSQL replica",
    "R&D <sandbox>", "build agent", "\"legacy\" ERP", "Tom's test box",
    "cache node", "metrics & logs",
]

# What a hostile host may report as names (libvirt 9.0's test driver accepts each of them
# for domains, pools, volumes and networks). XML 1.0 cannot carry C0 controls other than
# tab and newline, so those cannot come through a definition.
HOSTILE_NAMES = [
    "q<&'\">x",
    "ls\u2028ps\u2029x",
    "bidi-\u202eexe.txt",
    "zwj-\U0001F468\u200d\U0001F469\u200d\U0001F467",
    "c1-\u0085\u009b31m-x",
    "nl-a\n[[hosts]]\nb",
    "tab\tx\x7fdel",
    "long-" + "x" * 495,
    "日本語の仮想マシン",
    "emoji-🚀🦀",
    "zw-\u200bsp\ufeffbom\u2060",
    "iso-\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
]
HOSTILE_TITLE = "R\u202eLO title\u2028second line\u009b2J"
# (socket path, listen address) of VNC devices whose values hold shell syntax.
HOSTILE_GRAPHICS = [
    ("/var/lib/libvirt/qemu/x;touch /tmp/pwn;.sock", None),
    (None, "$(touch /tmp/p)"),
]


def xml_text(s):
    """Element text or attribute value: markup escaped, invisible characters as references."""
    out = []
    for c in s:
        if c in "&<>'\"":
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;"}[c])
        elif unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"):
            out.append("&#x%x;" % ord(c))
        else:
            out.append(c)
    return "".join(out)


NETWORKS_XML = """\
  <network>
    <name>default</name>
    <uuid>{u_default}</uuid>
    <forward mode='nat'/>
    <bridge name='virbr0' stp='on' delay='0'/>
    <ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp>
        <range start='192.168.122.2' end='192.168.122.254'/>
      </dhcp>
    </ip>
  </network>
  <network>
    <name>backend</name>
    <uuid>{u_backend}</uuid>
    <forward mode='route'/>
    <bridge name='virbr1' stp='on' delay='0'/>
    <ip address='10.64.0.1' netmask='255.255.0.0'>
      <dhcp>
        <range start='10.64.1.0' end='10.64.254.254'/>
      </dhcp>
    </ip>
  </network>
  <network>
    <name>prod-br</name>
    <uuid>{u_bridge}</uuid>
    <forward mode='bridge'/>
    <bridge name='br0'/>
  </network>
"""


def det_uuid(host, kind, name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"virtdeck-fleet/{host}/{kind}/{name}"))


def fmt_mac(n):
    return "52:54:00:%02x:%02x:%02x" % ((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)


def generate(n_vms, seed, host, overlay, hostile=False):
    rng = random.Random(seed)
    width = max(4, len(str(n_vms)))
    pools = {
        "default": dict(type="dir", path="/var/lib/libvirt/images", vols=[]),
        "data": dict(type="dir", path="/srv/vm-data", vols=[]),
        "vg-fast": dict(type="logical", path="/dev/vg_fast", vols=[]),
    }
    domains = []
    mac_counter = 0
    state_names = [s for s in STATES]
    state_weights = [s[2] for s in STATES]

    for i in range(n_vms):
        role, vcpus, mems, extra_disks, windows = rng.choice(ROLES)
        name = f"{role}-{i:0{width}d}"
        if i % 997 == 500:  # a sprinkling of non-ASCII names
            name = f"{UNICODE_NAMES[(i // 997) % len(UNICODE_NAMES)]}-{i:0{width}d}"
        graphics = (None, None)
        if hostile and i < len(HOSTILE_NAMES):
            name = HOSTILE_NAMES[i]
            if i < len(HOSTILE_GRAPHICS):
                graphics = HOSTILE_GRAPHICS[i]
        elif hostile and i % 100 == 0:
            name = f"{HOSTILE_NAMES[(i // 100) % len(HOSTILE_NAMES)]}-{i:0{width}d}"
        state, runstate, _ = rng.choices(state_names, state_weights)[0]
        transient = state in ("running", "paused") and rng.random() < 0.05
        managed_save = state == "shutoff" and rng.random() < 0.15
        autostart = not transient and role not in ("sandbox", "ci-runner") and rng.random() < 0.4
        vcpu = rng.choice(vcpus)
        mem = rng.choice(mems)
        title = rng.choice(TITLES) if rng.random() < 0.3 else None
        if hostile and i < len(HOSTILE_NAMES):
            title = HOSTILE_TITLE

        bus = "sata" if windows else "virtio"
        disks = []
        os_vol = f"{name}.qcow2"
        os_cap = rng.choice((20, 30, 40, 60, 80, 100))
        pools["default"]["vols"].append([os_vol, os_cap * MiB_PER_GiB, rng.randint(500, os_cap * 200), "qcow2"])
        disks.append(("file", f"{pools['default']['path']}/{os_vol}", bus, "qcow2"))
        for k in range(rng.choice(extra_disks)):
            if role == "db" and k == 0:
                vol = f"{name}-data"
                cap = rng.choice((50, 100, 200))
                pools["vg-fast"]["vols"].append([vol, cap * MiB_PER_GiB, cap * MiB_PER_GiB, "raw"])
                disks.append(("block", f"{pools['vg-fast']['path']}/{vol}", bus, "raw"))
            else:
                vol = f"{name}-data{k}.qcow2"
                cap = rng.choice((100, 250, 500, 1024, 2048))
                pools["data"]["vols"].append([vol, cap * MiB_PER_GiB, rng.randint(100, cap * 100), "qcow2"])
                disks.append(("file", f"{pools['data']['path']}/{vol}", bus, "qcow2"))
        cdrom = windows and rng.random() < 0.3

        nics = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            mac_counter += 1
            kind, src = rng.choice((("bridge", "br0"), ("network", "default"),
                                    ("network", "backend"), ("network", "prod-br")))
            nics.append((kind, src, "e1000e" if windows else "virtio", fmt_mac(mac_counter)))

        domains.append(dict(name=name, title=title, vcpu=vcpu, mem=mem, runstate=runstate,
                            transient=transient, managed_save=managed_save,
                            autostart=autostart, disks=disks, cdrom=cdrom, nics=nics,
                            windows=windows, graphics=graphics))

    if hostile:
        for k, hname in enumerate(HOSTILE_NAMES[:8]):
            pools[hname] = dict(type="dir", path=f"/srv/hostile-{k}/{hname}",
                                vols=[[f"{hname}.img", 1024, 512, "raw"]])

    # Keep every pool under the test driver's fixed 100 GiB capacity.
    for p in pools.values():
        total = sum(v[2] for v in p["vols"])
        if total > POOL_ALLOC_BUDGET_MIB:
            scale = POOL_ALLOC_BUDGET_MIB / total
            for v in p["vols"]:
                v[2] = max(1, int(v[2] * scale))
        if p["type"] == "logical":  # LVs: capacity == allocation
            for v in p["vols"]:
                v[1] = v[2]

    out = []
    w = out.append
    w("<?xml version='1.0' encoding='UTF-8'?>\n")
    # ("--" is not allowed inside XML comments)
    w(f"<!-- generated by scripts/gen_fleet.py: vms={n_vms} seed={seed} name={host}"
      f"{' hostile' if hostile else ''} -->\n")
    w(f"<node xmlns:vd='{NS_VD}'>\n")
    w("  <cpu><nodes>4</nodes><sockets>2</sockets><cores>32</cores><threads>2</threads>"
      "<mhz>2250</mhz><model>x86_64</model></cpu>\n")
    w(f"  <memory>{4 * 1024 * 1024 * 1024}</memory>\n")  # 4 TiB in KiB

    if overlay:
        w("  <vd:overlay>\n")
        for d in domains:
            if d["autostart"]:
                w(f"    <vd:autostart domain='{xml_text(d['name'])}'/>\n")
        for net in ("default", "backend", "prod-br"):
            w(f"    <vd:autostart network=\"{net}\"/>\n")
        for pool in pools:
            w(f"    <vd:autostart pool='{xml_text(pool)}'/>\n")
        w("  </vd:overlay>\n")

    for d in domains:
        w(f"  <domain type='kvm' xmlns:test='{NS_TEST}'>\n")
        w(f"    <name>{xml_text(d['name'])}</name>\n")
        w(f"    <uuid>{det_uuid(host, 'domain', d['name'])}</uuid>\n")
        if d["title"]:
            w(f"    <title>{xml_text(d['title'])}</title>\n")
        w(f"    <memory unit='MiB'>{d['mem']}</memory>\n")
        w(f"    <vcpu placement='static'>{d['vcpu']}</vcpu>\n")
        w("    <os>\n      <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n"
          "      <boot dev='hd'/>\n    </os>\n")
        w(f"    <clock offset='{'localtime' if d['windows'] else 'utc'}'/>\n")
        w("    <devices>\n")
        letters = {"virtio": 0, "sata": 0}
        for kind, path, bus, fmt in d["disks"]:
            dev = ("vd" if bus == "virtio" else "sd") + "abcdefgh"[letters[bus]]
            letters[bus] += 1
            path = xml_text(path)
            src = f"<source dev='{path}'/>" if kind == "block" else f"<source file='{path}'/>"
            w(f"      <disk type='{kind}' device='disk'><driver name='qemu' type='{fmt}'/>"
              f"{src}<target dev='{dev}' bus='{bus}'/></disk>\n")
        if d["cdrom"]:
            dev = "sd" + "abcdefgh"[letters["sata"]]
            w("      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
              "<source file='/var/lib/libvirt/images/virtio-win.iso'/>"
              f"<target dev='{dev}' bus='sata'/><readonly/></disk>\n")
        for kind, src, model, mac in d["nics"]:
            attr = "bridge" if kind == "bridge" else "network"
            w(f"      <interface type='{kind}'><mac address='{mac}'/>"
              f"<source {attr}='{src}'/><model type='{model}'/></interface>\n")
        w("      <console type='pty'/>\n")
        socket, listen = d["graphics"]
        if socket:
            w(f"      <graphics type='vnc'><listen type='socket' socket='{xml_text(socket)}'/>"
              "</graphics>\n")
        elif listen:
            w(f"      <graphics type='vnc' port='5901' listen='{xml_text(listen)}'/>\n")
        else:
            w("      <graphics type='vnc' port='-1' autoport='yes'/>\n")
        w("    </devices>\n")
        w(f"    <test:runstate>{d['runstate']}</test:runstate>\n")
        if d["transient"]:
            w("    <test:transient/>\n")
        if d["managed_save"]:
            w("    <test:hasmanagedsave/>\n")
        w("  </domain>\n")

    w(NETWORKS_XML.format(u_default=det_uuid(host, "net", "default"),
                          u_backend=det_uuid(host, "net", "backend"),
                          u_bridge=det_uuid(host, "net", "prod-br")))
    if hostile:
        for k, hname in enumerate(HOSTILE_NAMES):
            w(f"  <network>\n    <name>{xml_text(hname)}</name>\n"
              f"    <uuid>{det_uuid(host, 'net', hname)}</uuid>\n"
              f"    <bridge name='vbh{k}'/>\n  </network>\n")

    if hostile:
        # Node devices whose host-reported text is hostile: the host-device picker and pane
        # show vendor, product and interface names.
        for k, hname in enumerate(HOSTILE_NAMES[:8]):
            w(f"  <device>\n    <name>pci_0000_{k + 1:02x}_00_0</name>\n    <parent>computer</parent>\n"
              f"    <capability type='pci'>\n      <class>0x020000</class>\n"
              f"      <domain>0</domain><bus>{k + 1}</bus><slot>0</slot><function>0</function>\n"
              f"      <product id='0x1533'>{xml_text(hname)}</product>\n"
              f"      <vendor id='0x8086'>{xml_text(hname)}</vendor>\n"
              f"      <iommuGroup number='{k}'>"
              f"<address domain='0x0000' bus='0x{k + 1:02x}' slot='0x00' function='0x0'/>"
              f"<address domain='0x0000' bus='0x{k + 1:02x}' slot='0x00' function='0x1'/>"
              f"</iommuGroup>\n    </capability>\n  </device>\n")
            w(f"  <device>\n    <name>net_h{k}</name>\n    <parent>pci_0000_{k + 1:02x}_00_0</parent>\n"
              f"    <capability type='net'>\n      <interface>{xml_text(hname[:15])}</interface>\n"
              f"      <link state='up'/>\n    </capability>\n  </device>\n")

    # shared ISO used by the Windows CD-ROMs
    pools["default"]["vols"].append(["virtio-win.iso", 598, 598, "raw"])
    for pname, p in pools.items():
        w(f"  <pool type='{p['type']}'>\n    <name>{xml_text(pname)}</name>\n"
          f"    <uuid>{det_uuid(host, 'pool', pname)}</uuid>\n")
        if p["type"] == "logical":
            w("    <source><device path='/dev/nvme0n1p3'/><name>vg_fast</name>"
              "<format type='lvm2'/></source>\n")
        w(f"    <target><path>{xml_text(p['path'])}</path></target>\n")
        for name, cap, alloc, fmt in p["vols"]:
            vtype = "block" if p["type"] == "logical" else "file"
            fmt_xml = "" if vtype == "block" else f"<target><format type='{fmt}'/></target>"
            w(f"    <volume type='{vtype}'><name>{xml_text(name)}</name>"
              f"<capacity unit='MiB'>{cap}</capacity><allocation unit='MiB'>{alloc}</allocation>"
              f"{fmt_xml}</volume>\n")
        w("  </pool>\n")
    w("</node>\n")

    stats = {}
    for d in domains:
        key = next(s[0] for s in STATES if s[1] == d["runstate"])
        stats[key] = stats.get(key, 0) + 1
    stats["transient"] = sum(d["transient"] for d in domains)
    stats["managed_save"] = sum(d["managed_save"] for d in domains)
    stats["autostart"] = sum(d["autostart"] for d in domains) if overlay else 0
    stats["volumes"] = sum(len(p["vols"]) for p in pools.values())
    return "".join(out), stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vms", type=int, default=5000, help="number of domains (default 5000)")
    ap.add_argument("--out", default="-", help="output file ('-' = stdout, the default)")
    ap.add_argument("--seed", type=int, default=42, help="RNG seed (default 42)")
    ap.add_argument("--name", default="fleet", help="host name used to derive UUIDs")
    ap.add_argument("--no-overlay", action="store_true",
                    help="omit the <vd:overlay> block (autostart flags)")
    ap.add_argument("--hostile", action="store_true",
                    help="mix in hostile names, titles and graphics (see above)")
    args = ap.parse_args(argv)
    if args.vms < 0:
        ap.error("--vms must be >= 0")

    xml, stats = generate(args.vms, args.seed, args.name, not args.no_overlay, args.hostile)
    if args.out == "-":
        sys.stdout.write(xml)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(xml)
    summary = ", ".join(f"{k}={v}" for k, v in stats.items())
    print(f"gen_fleet: {args.vms} domains ({summary}) -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
