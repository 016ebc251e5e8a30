//! The 500 VMs: `scripts/gen_fleet.py` output defined into the daemon's shared test host.
//!
//! `test+tcp://…/FILE.xml` would give every connection its own fresh copy of the file, and the
//! test driver cannot load autostart flags from it (the demo fleet sets them from an overlay
//! on each connection: two calls per autostart VM, which over this link would be part of what
//! is measured). So the domains are defined into `test:///default` through the daemon's unix
//! socket (no delay), with their autostart flags, states, transient ones and managed saves;
//! that host lives in the daemon as long as one connection holds it, and every connection to
//! `…/default` sees the same VMs — the worker, virsh and the setup connection alike.
//!
//! The truth (every VM's state, autostart, persistence as libvirt reports them after setup)
//! is written to a file for the measuring child, which compares the app's model with it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use quick_xml::events::Event;
use quick_xml::Reader;
use virt::connect::Connect;

use super::Res;

/// One domain of the generated file.
struct Spec {
    xml: String,
    name: String,
    runstate: u32,
    transient: bool,
    managed_save: bool,
}

/// What libvirt says about one VM once the fleet is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    pub name: String,
    /// `virDomainState`.
    pub state: u32,
    pub autostart: bool,
    pub persistent: bool,
}

pub fn generate(vms: usize, out: &Path) -> Res<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_fleet.py");
    let st = Command::new("python3")
        .arg(&script)
        .arg("--vms")
        .arg(vms.to_string())
        .arg("--out")
        .arg(out)
        .stderr(Stdio::null())
        .status()?;
    if !st.success() {
        return Err(format!("{} failed: {st}", script.display()).into());
    }
    Ok(())
}

/// The `<domain>` elements of a generated `<node>` file, and the overlay's autostart names.
fn parse(node: &str) -> Res<(Vec<Spec>, BTreeSet<String>)> {
    let mut r = Reader::from_str(node);
    let mut specs = Vec::new();
    let mut autostart = BTreeSet::new();
    loop {
        let before = r.buffer_position() as usize;
        match r.read_event()? {
            Event::Start(e) if e.name().as_ref() == b"domain" => {
                let end = e.to_end().into_owned();
                r.read_to_end(end.name())?;
                let xml = node[before..r.buffer_position() as usize]
                    .trim()
                    .to_string();
                specs.push(spec(xml)?);
            }
            Event::Empty(e) if e.name().as_ref() == b"vd:autostart" => {
                for a in e.attributes().flatten() {
                    if a.key.as_ref() == b"domain" {
                        autostart.insert(a.unescape_value()?.into_owned());
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok((specs, autostart))
}

fn spec(xml: String) -> Res<Spec> {
    let mut s = Spec {
        xml: String::new(),
        name: String::new(),
        runstate: 5,
        transient: false,
        managed_save: false,
    };
    let mut r = Reader::from_str(&xml);
    let mut path: Vec<Vec<u8>> = Vec::new();
    loop {
        match r.read_event()? {
            Event::Start(e) => path.push(e.name().as_ref().to_vec()),
            Event::End(_) => {
                path.pop();
            }
            Event::Empty(e) => match e.name().as_ref() {
                b"test:transient" => s.transient = true,
                b"test:hasmanagedsave" => s.managed_save = true,
                _ => {}
            },
            Event::Text(t) if path.len() == 2 => {
                let text = t.decode()?;
                match path[1].as_slice() {
                    b"name" => s.name.push_str(&text),
                    b"test:runstate" => s.runstate = text.trim().parse()?,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    s.xml = xml;
    Ok(s)
}

/// Defines the generated fleet into the shared test host at `uri` (emptied first) and
/// returns the connection that keeps it alive, with libvirt's view of every VM.
pub fn populate(uri: &str, node_file: &Path) -> Res<(Connect, Vec<Truth>)> {
    let (specs, autostart) = parse(&std::fs::read_to_string(node_file)?)?;
    let c = Connect::open(Some(uri))?;
    // The test host starts with one running domain, "test".
    for d in c.list_all_domains(0)? {
        if d.is_active()? {
            d.destroy()?;
        }
        if d.is_persistent()? {
            d.undefine()?;
        }
    }
    for s in &specs {
        if s.transient {
            c.create_domain_xml(&s.xml, 0)?;
            continue;
        }
        let d = c.define_domain_xml(&s.xml)?;
        if autostart.contains(&s.name) {
            d.set_autostart(true)?;
        }
        // The test driver ignores <test:runstate> on define: drive each VM there. Blocked,
        // in shutdown and suspended to memory become running; crashed stays shut off.
        match s.runstate {
            1 | 2 | 4 | 7 => d.create()?,
            3 => {
                d.create()?;
                d.suspend()?;
            }
            _ => {}
        }
        if s.managed_save && d.is_active()? {
            d.managed_save(0)?;
        }
    }
    let mut truth = Vec::new();
    for d in c.list_all_domains(0)? {
        truth.push(Truth {
            name: d.name()?,
            state: d.state()?.0.to_raw(),
            autostart: d.autostart()?,
            persistent: d.is_persistent()?,
        });
    }
    if truth.len() != specs.len() {
        return Err(format!(
            "defined {} VMs, the host lists {}",
            specs.len(),
            truth.len()
        )
        .into());
    }
    Ok((c, truth))
}

pub fn write_truth(path: &Path, truth: &[Truth]) -> Res<()> {
    let mut s = String::new();
    for t in truth {
        // Generated names hold no tabs or newlines.
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            t.name, t.state, t.autostart as u8, t.persistent as u8
        ));
    }
    std::fs::write(path, s)?;
    Ok(())
}

pub fn read_truth(path: &Path) -> Res<Vec<Truth>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            match f.as_slice() {
                [name, state, auto, pers] => Ok(Truth {
                    name: name.to_string(),
                    state: state.parse()?,
                    autostart: *auto == "1",
                    persistent: *pers == "1",
                }),
                _ => Err(format!("bad truth line {l:?}").into()),
            }
        })
        .collect()
}
