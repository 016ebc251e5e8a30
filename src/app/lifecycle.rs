//! Lifecycle requests: pick the target VMs (marked, else selected), refuse what cannot run
//! (read-only, wrong state, host down), ask for confirmation where needed, then emit commands.

use super::hosts::HostView;
use super::table::natural_cmp;
use super::toast::Level;
use super::{App, Confirm, ConfirmAction, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::{HostCommand, LifecycleOp};
use crate::model::{HostId, Vm, VmState};

/// The lifecycle operation a key runs, the same on the VM table and a VM's detail screen
/// (autostart is not here: each screen toggles it its own way).
pub fn op_for(action: Action) -> Option<LifecycleOp> {
    Some(match action {
        Action::Start => LifecycleOp::Start,
        Action::Shutdown => LifecycleOp::Shutdown,
        Action::Reboot => LifecycleOp::Reboot,
        Action::Reset => LifecycleOp::Reset,
        Action::ForceOff => LifecycleOp::ForceOff,
        Action::Pause => LifecycleOp::Pause,
        Action::Resume => LifecycleOp::Resume,
        Action::ManagedSave => LifecycleOp::ManagedSave,
        _ => return None,
    })
}

/// One VM an operation will run on.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub host: HostId,
    pub uuid: String,
    pub name: String,
}

/// Whether `op` makes sense for a VM in this state; the reason when it does not.
pub fn applicable(op: LifecycleOp, vm: &Vm) -> Result<(), String> {
    let s = vm.state;
    let ok = match op {
        LifecycleOp::Start => !s.is_active(),
        LifecycleOp::Shutdown
        | LifecycleOp::Reboot
        | LifecycleOp::Reset
        | LifecycleOp::ForceOff => s.is_active(),
        LifecycleOp::ManagedSave => s.is_active() && vm.persistent,
        LifecycleOp::Pause => matches!(s, VmState::Running | VmState::Blocked),
        LifecycleOp::Resume => s == VmState::Paused,
        LifecycleOp::SetAutostart(_) => vm.persistent,
    };
    if ok {
        return Ok(());
    }
    Err(match op {
        LifecycleOp::Start => format!("{} is already {}", vm.name, s.label()),
        LifecycleOp::ManagedSave if !vm.persistent => {
            format!(
                "{} is transient: only persistent VMs have a managed save",
                vm.name
            )
        }
        LifecycleOp::SetAutostart(_) => {
            format!(
                "{} is transient: only persistent VMs can autostart",
                vm.name
            )
        }
        LifecycleOp::Resume => format!("{} is not paused ({})", vm.name, s.label()),
        _ => format!("{} is {}: cannot {}", vm.name, s.label(), op.verb()),
    })
}

/// Why commands cannot go to this host now, if they cannot.
pub(super) fn host_problem(h: &HostView) -> Option<String> {
    if !h.status.is_connected() {
        Some(format!("host {} is not connected", h.name))
    } else if h.stalled_since.is_some() {
        Some(format!("host {} is not responding", h.name))
    } else {
        None
    }
}

fn needs_confirm(op: LifecycleOp, count: usize) -> bool {
    matches!(op, LifecycleOp::ForceOff | LifecycleOp::Reset) || count > 1
}

/// Handles a lifecycle key. `SetAutostart(_)` means "toggle": each VM gets the opposite of its
/// current flag.
pub fn request(app: &mut App, op: LifecycleOp) -> Vec<Effect> {
    request_for(app, op, |app| {
        if app.vms.marks.is_empty() {
            app.selected_row()
                .map(|r| {
                    let (h, vm) = app.vm(r);
                    (h.id, vm, host_problem(h))
                })
                .into_iter()
                .collect()
        } else {
            app.hosts
                .iter()
                .flat_map(|h| {
                    h.vms
                        .iter()
                        .filter(|vm| app.vms.marks.contains(&(h.id, vm.uuid.clone())))
                        .map(move |vm| (h.id, &**vm, host_problem(h)))
                })
                .collect()
        }
    })
}

/// The same request for one VM (the detail screen's keys): the same checks, questions and
/// messages as on the table, whatever is marked there.
pub fn request_one(app: &mut App, op: LifecycleOp, host: HostId, uuid: &str) -> Vec<Effect> {
    request_for(app, op, |app| {
        app.hosts
            .iter()
            .filter(|h| h.id == host)
            .flat_map(|h| {
                h.vms
                    .iter()
                    .filter(|vm| vm.uuid == uuid)
                    .map(move |vm| (h.id, &**vm, host_problem(h)))
            })
            .collect()
    })
}

type Candidates<'a> = Vec<(HostId, &'a Vm, Option<String>)>;

fn request_for(
    app: &mut App,
    op: LifecycleOp,
    pick: impl for<'a> Fn(&'a App) -> Candidates<'a>,
) -> Vec<Effect> {
    let mut candidates = pick(app);
    let now = app.now;
    // Commands and confirmation lists go in a stable, readable order.
    candidates.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| natural_cmp(&a.1.name, &b.1.name))
    });
    if candidates.is_empty() {
        app.messages.push(Level::Info, "no VM selected", now);
        return Vec::new();
    }
    let mut groups: Vec<(LifecycleOp, Vec<Target>)> = Vec::new();
    let mut refused = Vec::new();
    for (host, vm, problem) in candidates {
        let vm_op = match op {
            LifecycleOp::SetAutostart(_) => LifecycleOp::SetAutostart(!vm.autostart),
            o => o,
        };
        let verdict = match problem {
            Some(p) => Err(format!("{}: {p}", vm.name)),
            None => applicable(vm_op, vm),
        };
        match verdict {
            Ok(()) => {
                let t = Target {
                    host,
                    uuid: vm.uuid.clone(),
                    name: vm.name.clone(),
                };
                match groups.iter_mut().find(|(o, _)| *o == vm_op) {
                    Some((_, list)) => list.push(t),
                    None => groups.push((vm_op, vec![t])),
                }
            }
            Err(why) => refused.push(why),
        }
    }
    if let Some(first) = refused.first() {
        let text = if refused.len() == 1 {
            first.clone()
        } else {
            format!("{first} (and {} more skipped)", refused.len() - 1)
        };
        app.messages.push(Level::Info, text, now);
    }
    let count: usize = groups.iter().map(|(_, t)| t.len()).sum();
    if count == 0 {
        return Vec::new();
    }
    if needs_confirm(op, count) {
        // A toggle over mixed VMs confirms as one question and dispatches per group.
        let targets: Vec<Target> = groups.iter().flat_map(|(_, t)| t.clone()).collect();
        let mut c = confirm_text(op, &groups, targets);
        // The first VM's: the others differ only in the name (and the host's URI).
        if let ConfirmAction::Lifecycle { targets, .. } = &c.action {
            c.command = targets.first().and_then(|t| {
                let h = app.host(t.host)?;
                let argv = crate::virsh::lifecycle(
                    crate::virsh::Subject {
                        uri: &h.uri,
                        vm: &t.name,
                    },
                    op,
                );
                let more = match targets.len() {
                    1 => String::new(),
                    n => format!("   (and {} more)", n - 1),
                };
                Some(format!("{}{more}", crate::virsh::quote(&argv)))
            });
        }
        big_blast(app, &mut c);
        app.push_overlay(Mode::Confirm(c));
        return Vec::new();
    }
    let mut effects = Vec::new();
    for (o, targets) in groups {
        effects.extend(dispatch(app, o, &targets));
    }
    effects
}

/// A bulk action over more than one host or more than `TYPED_ABOVE` VMs names the hosts with
/// their counts and wants `yes` or the count typed: `Enter` alone never runs it.
pub const TYPED_ABOVE: usize = 10;

fn big_blast(app: &App, c: &mut Confirm) {
    let ConfirmAction::Lifecycle { targets, .. } = &c.action else {
        return;
    };
    let mut per_host: Vec<(HostId, usize)> = Vec::new();
    for t in targets {
        match per_host.iter_mut().find(|(h, _)| *h == t.host) {
            Some((_, n)) => *n += 1,
            None => per_host.push((t.host, 1)),
        }
    }
    let n = targets.len();
    if per_host.len() < 2 && n <= TYPED_ABOVE {
        return;
    }
    let hosts: Vec<String> = per_host
        .iter()
        .map(|(h, k)| {
            let name = app.host(*h).map_or("?", |h| h.name.as_str());
            format!("{name} ({k})")
        })
        .collect();
    c.body.push(String::new());
    c.body.push(format!(
        "{n} VMs on {} host{}: {}",
        per_host.len(),
        if per_host.len() == 1 { "" } else { "s" },
        hosts.join(", ")
    ));
    c.body.push(format!("Type yes or {n} to go ahead."));
    c.typed = Some((n.to_string(), String::new()));
}

fn confirm_text(
    op: LifecycleOp,
    groups: &[(LifecycleOp, Vec<Target>)],
    targets: Vec<Target>,
) -> Confirm {
    let what = if targets.len() == 1 {
        targets[0].name.clone()
    } else {
        format!("{} VMs", targets.len())
    };
    let verb = match op {
        LifecycleOp::SetAutostart(_) => "toggle autostart of",
        o => o.verb(),
    };
    let mut body = Vec::new();
    match op {
        LifecycleOp::ForceOff => body.push(
            "Like pulling the power cord: the guest loses anything not yet on disk.".to_string(),
        ),
        LifecycleOp::Reset => body.push(
            "Like pressing the reset button: the guest loses anything not yet on disk.".to_string(),
        ),
        _ => {}
    }
    if targets.len() > 1 {
        const SHOWN: usize = 8;
        for t in targets.iter().take(SHOWN) {
            body.push(format!("  • {}", t.name));
        }
        if targets.len() > SHOWN {
            body.push(format!("  … and {} more", targets.len() - SHOWN));
        }
    }
    let mut title = format!("{} {what}?", capitalise(verb));
    if let [(LifecycleOp::SetAutostart(on), _)] = groups {
        title = format!(
            "{} autostart of {what}?",
            if *on { "Enable" } else { "Disable" }
        );
    }
    Confirm {
        command: None,
        typed: None,
        title,
        body,
        action: ConfirmAction::Lifecycle { op, targets },
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Marks the targets pending and emits one command per VM. A confirmed toggle is re-resolved
/// per VM from its current flag.
pub fn dispatch(app: &mut App, op: LifecycleOp, targets: &[Target]) -> Vec<Effect> {
    let mut effects = Vec::with_capacity(targets.len());
    // One set, not a search per target: a toggle over 5,000 VMs stays linear.
    let autostart: std::collections::HashSet<(HostId, &str)> = match op {
        LifecycleOp::SetAutostart(_) => app
            .hosts
            .iter()
            .flat_map(|h| {
                h.vms
                    .iter()
                    .filter(|v| v.autostart)
                    .map(move |v| (h.id, v.uuid.as_str()))
            })
            .collect(),
        _ => Default::default(),
    };
    for t in targets {
        let vm_op = match op {
            LifecycleOp::SetAutostart(_) => {
                LifecycleOp::SetAutostart(!autostart.contains(&(t.host, t.uuid.as_str())))
            }
            o => o,
        };
        app.vms.pending.insert((t.host, t.uuid.clone()), vm_op);
        let id = app.requests.issue(
            t.host,
            super::requests::Owner::Lifecycle {
                uuid: t.uuid.clone(),
                name: t.name.clone(),
                op: vm_op,
            },
        );
        effects.push(Effect::Host(
            t.host,
            HostCommand::Lifecycle {
                id,
                uuid: t.uuid.clone(),
                op: vm_op,
            },
        ));
    }
    // A bulk action used the marks up; one VM's from the detail screen leaves them alone.
    if targets
        .iter()
        .all(|t| app.vms.marks.contains(&(t.host, t.uuid.clone())))
    {
        app.vms.marks.clear();
    }
    effects
}
