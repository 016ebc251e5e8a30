//! The embedded demo fleet: libvirt test-driver hosts compiled into the binary, written to a
//! temporary directory at start and opened as `test:///…` URIs, so every screen can be tried
//! without a hypervisor.

use std::path::Path;
use std::sync::Arc;

pub mod metrics;

use crate::app::HostSpec;
pub use crate::host::overlay::Overlay;
use crate::host::WorkerOptions;

pub const FLEET: &[(&str, &str)] = &[
    ("kvm-prod-01", include_str!("../demo/kvm-prod-01.xml")),
    ("kvm-prod-02", include_str!("../demo/kvm-prod-02.xml")),
    ("lab-edge", include_str!("../demo/lab-edge.xml")),
];

/// The fleet written out to a temporary directory, removed when dropped.
pub struct DemoFleet {
    dir: tempfile::TempDir,
}

/// A demo host: its spec and the overlay to apply on connect.
pub struct DemoHost {
    pub spec: HostSpec,
    pub overlay: Arc<Overlay>,
    /// Its made-up metrics (the test driver reports none).
    pub metrics: Arc<metrics::DemoMetrics>,
}

impl DemoHost {
    /// The worker options for this host: `base` (config.toml, `--readonly`) plus the overlay,
    /// applied on every connect.
    ///
    /// The connection is read-write even under `--readonly`. The overlay has to call
    /// `virDomainSetAutostart` and friends, which libvirt refuses on a read-only connection,
    /// and the test driver keeps its state per connection, so the overlay cannot run on a
    /// second, read-write one either. `--readonly` is still kept: the app refuses every
    /// change in that mode before a command reaches a worker (lifecycle, VM detail edits and
    /// the new-VM wizard, storage, networks, migrations, consoles, and the dashboard's
    /// add/remove host, which leaves config.toml alone; `tests/demo_readonly.rs` presses every
    /// bound key and checks). Nothing here outlives the process: a change that got through
    /// would only touch this in-memory fleet.
    pub fn options(&self, base: &WorkerOptions) -> WorkerOptions {
        let overlay = Arc::clone(&self.overlay);
        WorkerOptions {
            on_connect: Some(Arc::new(move |c| overlay.apply(c))),
            readonly: false,
            simulate: Some(Arc::clone(&self.metrics) as Arc<dyn crate::host::Simulate>),
            ..base.clone()
        }
    }
}

impl DemoFleet {
    pub fn create() -> std::io::Result<DemoFleet> {
        let dir = tempfile::Builder::new()
            .prefix("virtdeck-demo-")
            .tempdir()?;
        for (name, xml) in FLEET {
            std::fs::write(dir.path().join(format!("{name}.xml")), xml)?;
        }
        Ok(DemoFleet { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn hosts(&self) -> Vec<DemoHost> {
        FLEET
            .iter()
            .map(|(name, xml)| DemoHost {
                spec: HostSpec {
                    name: name.to_string(),
                    uri: format!(
                        "test://{}",
                        self.dir.path().join(format!("{name}.xml")).display()
                    ),
                },
                overlay: Arc::new(Overlay::parse(xml)),
                metrics: Arc::new(node_size(xml)),
            })
            .collect()
    }
}

/// The simulator for a host file: its CPUs and memory as its `<node>` states them (what
/// `virNodeGetInfo` reports), with the test driver's defaults when absent.
fn node_size(xml: &str) -> metrics::DemoMetrics {
    let num = |tag: &str| -> Option<u64> {
        let open = format!("<{tag}>");
        let from = xml.find(&open)? + open.len();
        let to = from + xml[from..].find('<')?;
        xml[from..to].trim().parse().ok()
    };
    let cpus = ["nodes", "sockets", "cores", "threads"]
        .iter()
        .map(|t| num(t).unwrap_or(1))
        .product::<u64>();
    metrics::DemoMetrics::new(
        u32::try_from(cpus).unwrap_or(16),
        num("memory").unwrap_or(8 << 20),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_parses() {
        let o = Overlay::parse(
            "<node><vd:overlay xmlns:vd='urn:virtdeck:demo'><vd:autostart domain='a&amp;b'/>\
             <vd:autostart pool='default'/><vd:inactive network='iso'/></vd:overlay></node>",
        );
        assert_eq!(o.autostart_domains, vec!["a&b"]);
        assert_eq!(o.autostart_pools, vec!["default"]);
        assert_eq!(o.inactive_networks, vec!["iso"]);
    }

    #[test]
    fn fleet_files_have_overlays_and_uris() {
        let fleet = DemoFleet::create().unwrap();
        let hosts = fleet.hosts();
        assert_eq!(hosts.len(), FLEET.len());
        for h in &hosts {
            assert!(h.spec.uri.starts_with("test:///"), "{}", h.spec.uri);
            assert!(!h.overlay.autostart_domains.is_empty(), "{}", h.spec.name);
        }
    }
}
