//! Host evacuation: the options that matter for a batch (the migrate wizard's own fields,
//! so the same parsing and checks) plus how many migrations run at once, then the plan with
//! every VM's pre-flight verdicts (`app::migrations` asks the hosts and builds it).

use super::migrate::{bandwidth_field, copy_field, downtime_field, number, unsafe_field};
use super::{check, Field, Kind, Wizard};

/// Most migrations an evacuation may run at once: more only split the same link.
pub const MAX_CONCURRENCY: u64 = 16;

pub fn new(kind: Kind, default_concurrency: usize) -> Wizard {
    let title = match &kind {
        Kind::Evacuate { name, .. } => format!("Evacuate {name}"),
        _ => "Evacuate".into(),
    };
    let mut w = Wizard::new(
        title,
        kind,
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
    super::migrate::refresh(w);
    let c = concurrency(w).map(|_| ());
    check(w, "concurrency", c);
}
