//! `HostCommand::NodeDevices`: the host's PCI, USB and mediated devices for the attach
//! form's host-device picker, with the network interfaces and block devices below them that
//! show what the host itself uses (`model::hostdev`).

use std::collections::HashMap;

use virt::connect::Connect;
use virt::error::Error;
use virt::sys;

use crate::model::hostdev::HostDevices;

/// The devices listed: the offered kinds, what sits below them (interfaces, disks) and the
/// links between (USB interfaces, SCSI hosts and targets), so a disk on a SATA controller
/// finds its way up to the PCI function.
const FLAGS: sys::virConnectListAllNodeDeviceFlags = sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET
    | sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI;

/// Reads the devices. One that vanished between the list and its XML (unplugged) or whose
/// XML does not parse is left out: the rest is still worth showing.
pub(super) fn read(conn: &Connect, local: bool) -> Result<HostDevices, Error> {
    let mut devices = Vec::new();
    for dev in conn.list_all_node_devices(FLAGS)? {
        let Ok(xml) = dev.xml_desc(0) else {
            continue;
        };
        if let Ok(d) = crate::xml::nodedev::parse(&xml) {
            devices.push(d);
        }
    }
    Ok(HostDevices {
        devices,
        addrs: local.then(local_addrs),
    })
}

/// This machine's addresses per interface (getifaddrs).
fn local_addrs() -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for a in if_addrs::get_if_addrs().unwrap_or_default() {
        let (ip, prefix) = match &a.addr {
            if_addrs::IfAddr::V4(v) => (std::net::IpAddr::V4(v.ip), v.prefixlen),
            if_addrs::IfAddr::V6(v) => (std::net::IpAddr::V6(v.ip), v.prefixlen),
        };
        out.entry(a.name)
            .or_default()
            .push(format!("{ip}/{prefix}"));
    }
    out
}
