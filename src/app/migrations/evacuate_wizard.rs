//! Host evacuation: the options that matter for a batch (the migrate wizard's own fields,
//! so the same parsing and checks) plus how many migrations run at once, then the plan with
//! every VM's pre-flight verdicts (`app::migrations` asks the hosts and builds it).

use super::migrate_wizard::{bandwidth_field, copy_field, downtime_field, number, unsafe_field};
use crate::app::wizard::{check, Context, Field, Spec, Wizard};
use crate::app::{App, Effect};
use crate::migrate::plan::VmLoad;
use crate::model::HostId;

/// Most migrations an evacuation may run at once: more only split the same link.
pub const MAX_CONCURRENCY: u64 = 16;

/// Every running VM of the wizard's host (named `name`) to the other connected hosts.
#[derive(Clone, Debug, PartialEq)]
pub struct EvacuateForm {
    pub name: String,
    pub vms: Vec<VmLoad>,
    pub targets: Vec<(HostId, String)>,
}

impl Spec for EvacuateForm {
    fn verb(&self) -> &'static str {
        "evacuate"
    }

    fn refresh(&self, w: &mut Wizard, _: &Context) {
        refresh(w)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        super::submit_evacuation(app)
    }

    fn on_last_page(&self, app: &mut App) -> Vec<Effect> {
        super::preflight(app)
    }

    fn needs_host(&self) -> bool {
        false
    }
}

pub fn new(host: HostId, form: EvacuateForm, default_concurrency: usize) -> Wizard {
    let title = format!("Evacuate {}", form.name);
    let mut w = Wizard::new(
        title,
        host,
        form,
        vec!["Options", "Plan"],
        vec![
            copy_field(0),
            unsafe_field(0),
            bandwidth_field(0).hint("per migration; empty: unlimited"),
            downtime_field(0),
            Field::text(
                "concurrency",
                "At once",
                0,
                &default_concurrency.to_string(),
            )
            .hint("how many migrations run at the same time"),
        ],
    );
    refresh(&mut w);
    w
}

/// Migrations at once, as typed.
pub fn concurrency(w: &Wizard) -> Result<usize, String> {
    match number(w, "concurrency", "at once")? {
        Some(n @ 1..=MAX_CONCURRENCY) => Ok(n as usize),
        _ => Err(format!("at once: 1 to {MAX_CONCURRENCY}")),
    }
}

pub fn refresh(w: &mut Wizard) {
    super::migrate_wizard::refresh(w);
    let c = concurrency(w).map(|_| ());
    check(w, "concurrency", c);
}
