//! Pure migration logic beside the runner (`host::migrate`, which also reads the facts):
//! pre-flight checks as a function of facts read from both hosts (`preflight`), and host
//! evacuation planning (`plan`). The options and the record the UI shows are in
//! `model::migration`.

pub mod plan;
pub mod preflight;
