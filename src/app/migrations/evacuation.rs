//! The evacuation plan as the wizard's last page shows it and Enter starts it: each running
//! VM's pre-flight round against every candidate host decides where it may go (a blocking
//! check rules that host out, as in the migrate wizard without "migrate anyway"), then the
//! memory balancer (`migrate::plan`) places it. Pure: built from the app's state on demand.

use super::evacuate_wizard::EvacuateForm;
use crate::app::wizard::Wizard;
use crate::app::App;
use crate::migrate::plan::{plan_evacuation, TargetLoad, VmLoad};
use crate::migrate::preflight::{blocking, Check, Status};
use crate::model::HostId;

/// Memory a target keeps free after an evacuation places VMs on it (for its own processes).
pub const RESERVE_KIB: u64 = 512 * 1024;

/// One VM's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub vm: VmLoad,
    /// The host it goes to, with that host's checks (their warnings are shown).
    pub to: Option<(HostId, Vec<Check>)>,
    /// It stays: per candidate host, the checks that rule that host out (empty for a host
    /// whose checks passed: it had no room left).
    pub refused: Vec<(HostId, Vec<Check>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Evacuation {
    /// In start order (largest first), then the VMs that stay.
    pub verdicts: Vec<Verdict>,
}

impl Evacuation {
    pub fn assignments(&self) -> impl Iterator<Item = (&VmLoad, HostId)> {
        self.verdicts
            .iter()
            .filter_map(|v| v.to.as_ref().map(|(h, _)| (&v.vm, *h)))
    }
}

/// The checks of `uuid` against `host` in the current round (`None`: not answered yet).
fn checks<'a>(app: &'a App, uuid: &str, host: HostId) -> Option<&'a [Check]> {
    app.migrations
        .preflight
        .iter()
        .find(|p| p.uuid == uuid && p.target == host)
        .and_then(|p| p.checks.as_deref())
}

/// The plan, or `None` while a check is still running (or the round was not asked yet).
pub fn plan(app: &App, w: &Wizard) -> Option<Evacuation> {
    let EvacuateForm { vms, targets, .. } = w.spec_as()?;
    let round = &app.migrations.preflight;
    if round.is_empty() || round.iter().any(|p| p.checks.is_none()) {
        return None;
    }
    let loads: Vec<TargetLoad> = targets
        .iter()
        .map(|(id, _)| {
            let h = app.host(*id);
            TargetLoad {
                host: *id,
                free_kib: h
                    .and_then(|h| h.node.memory.as_ref())
                    .map_or(0, |m| m.available_kib),
                eligible: h.is_some_and(|h| h.status.is_connected()),
            }
        })
        .collect();
    let allowed =
        |uuid: &str, host: HostId| checks(app, uuid, host).is_some_and(|c| !blocking(c, false));
    let placed = plan_evacuation(vms, &loads, RESERVE_KIB, allowed);
    let mut verdicts: Vec<Verdict> = placed
        .assignments
        .into_iter()
        .map(|(vm, host)| Verdict {
            to: Some((
                host,
                checks(app, &vm.uuid, host).unwrap_or_default().to_vec(),
            )),
            vm,
            refused: Vec::new(),
        })
        .collect();
    for vm in placed.unplaced {
        let refused = targets
            .iter()
            .map(|(h, _)| {
                let failed = checks(app, &vm.uuid, *h)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.status == Status::Fail)
                    .cloned()
                    .collect();
                (*h, failed)
            })
            .collect();
        verdicts.push(Verdict {
            vm,
            to: None,
            refused,
        });
    }
    Some(Evacuation { verdicts })
}
