//! Virtual networks, DHCP leases, host interfaces and VM addresses as a host reports them.
//! Filled by `host::network`, shown by the networks pane and the VM table.

/// `<forward mode>`; `Isolated` is a network without `<forward>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ForwardMode {
    Nat,
    Route,
    Open,
    Isolated,
    Bridge,
    /// passthrough, private, vepa, hostdev.
    Other,
}

impl ForwardMode {
    pub fn label(self) -> &'static str {
        match self {
            ForwardMode::Nat => "nat",
            ForwardMode::Route => "route",
            ForwardMode::Open => "open",
            ForwardMode::Isolated => "isolated",
            ForwardMode::Bridge => "bridge",
            ForwardMode::Other => "other",
        }
    }
}

/// One IP block of a network (`<ip address prefix|netmask>` with its DHCP range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetIp {
    /// "ipv4" or "ipv6".
    pub family: String,
    /// The host side address, e.g. 192.168.122.1.
    pub address: String,
    pub prefix: u8,
    /// First and last address of each `<dhcp><range>`.
    pub dhcp: Vec<(String, String)>,
}

/// One virtual network.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub name: String,
    pub uuid: String,
    pub forward: ForwardMode,
    /// The bridge libvirt creates (nat/route/isolated) or uses (bridge mode).
    pub bridge: Option<String>,
    pub ips: Vec<NetIp>,
    pub active: bool,
    pub autostart: bool,
    pub persistent: bool,
    /// VMs with an interface on it, running or not (a shut-off VM cannot start without it),
    /// sorted by name, each once.
    pub users: Vec<NetUser>,
}

/// A VM with an interface on a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetUser {
    pub vm: String,
    /// Active (running or paused): its interface is on the network now.
    pub running: bool,
}

impl Network {
    pub fn running_users(&self) -> usize {
        self.users.iter().filter(|u| u.running).count()
    }

    /// The VMS column: "0", or "3 (1 on)": all VMs on it, then how many run. Short, so that
    /// names keep their room at 80 columns.
    pub fn users_label(&self) -> String {
        match self.users.len() {
            0 => "0".into(),
            n => format!("{n} ({} on)", self.running_users()),
        }
    }
}

/// One DHCP lease of a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub mac: String,
    pub ip: String,
    pub prefix: u8,
    pub hostname: Option<String>,
    /// Seconds since the epoch.
    pub expiry: i64,
}

/// A host network interface (from `virConnectListAllInterfaces`, or /sys for local hosts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostIface {
    pub name: String,
    /// bridge, ethernet, bond, vlan.
    pub kind: String,
    pub mac: Option<String>,
    pub active: bool,
    /// Addresses with their prefix (`192.0.2.2/24`). Only known for the machine virtdeck
    /// runs on: libvirt's interface driver (udev backend) does not report them.
    pub addrs: Vec<String>,
}

/// Where a VM's address came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrSource {
    Lease,
    Agent,
    Arp,
}

impl AddrSource {
    pub fn label(self) -> &'static str {
        match self {
            AddrSource::Lease => "lease",
            AddrSource::Agent => "agent",
            AddrSource::Arp => "arp",
        }
    }
}

/// One address of a VM's interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmAddr {
    pub iface: String,
    pub mac: String,
    pub ip: String,
    pub prefix: u8,
    pub source: AddrSource,
}

/// Everything the networks pane shows for one host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkInventory {
    /// Sorted by name.
    pub networks: Vec<Network>,
    pub ifaces: Vec<HostIface>,
}
