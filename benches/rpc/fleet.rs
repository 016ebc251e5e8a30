//! The generated hosts: what `scripts/gen_fleet.py` writes, and what a complete snapshot of
//! one must show (every VM with the state its XML gives and the autostart flag its overlay
//! sets).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::Reader;
use virtdeck::demo::Overlay;
use virtdeck::model::{Vm, VmState};

use super::Res;

/// Writes a host of `vms` VMs to `out`; `overlay` keeps the autostart flags (applied on
/// connect, so the complete snapshot can be told from the first list).
pub fn generate(vms: usize, overlay: bool, out: &Path) -> Res<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_fleet.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg("--vms")
        .arg(vms.to_string())
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !overlay {
        cmd.arg("--no-overlay");
    }
    let status = cmd.status()?;
    if !status.success() {
        return Err(format!("{} failed: {status}", script.display()).into());
    }
    Ok(())
}

pub struct Expected {
    pub states: HashMap<String, VmState>,
    pub autostart: HashSet<String>,
}

impl Expected {
    pub fn read(text: &str) -> Expected {
        Expected {
            states: states(text),
            autostart: Overlay::parse(text).autostart_domains.into_iter().collect(),
        }
    }

    /// Every VM there, each with its state and its autostart flag.
    pub fn complete(&self, vms: &[Arc<Vm>]) -> bool {
        vms.len() == self.states.len()
            && vms.iter().all(|v| {
                self.states.get(&v.name) == Some(&v.state)
                    && v.autostart == self.autostart.contains(&v.name)
            })
    }

    /// Why `vms` is not complete (for the error when it never gets there).
    pub fn missing(&self, vms: &[Arc<Vm>]) -> String {
        let state = vms
            .iter()
            .filter(|v| self.states.get(&v.name) != Some(&v.state))
            .count();
        let auto = vms
            .iter()
            .filter(|v| v.autostart != self.autostart.contains(&v.name))
            .count();
        format!(
            "{} of {} VMs, {state} with another state, {auto} with another autostart flag",
            vms.len(),
            self.states.len()
        )
    }
}

/// Each domain's name and `<test:runstate>` (running when absent, as the test driver does).
fn states(text: &str) -> HashMap<String, VmState> {
    let mut out = HashMap::new();
    let mut reader = Reader::from_str(text);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<(Option<String>, i64)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_vec();
                if name == b"domain" && path.len() == 1 {
                    current = Some((None, 1));
                }
                path.push(name);
            }
            Ok(Event::Text(t)) => {
                let (Some(cur), Some(tag)) = (current.as_mut(), path.last()) else {
                    continue;
                };
                let Ok(text) = t.decode() else {
                    continue;
                };
                match (tag.as_slice(), path.len()) {
                    (b"name", 3) => cur.0 = Some(text.trim().to_string()),
                    (b"test:runstate", 3) => cur.1 = text.trim().parse().unwrap_or(1),
                    _ => {}
                }
            }
            Ok(Event::End(_)) => {
                path.pop();
                if path.len() == 1 {
                    if let Some((Some(name), raw)) = current.take() {
                        out.insert(name, VmState::from_raw(raw));
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}
