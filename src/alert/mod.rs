//! Alerts: rules from `config.toml` watched against the fleet's readings (`rule`), fired once
//! when they start holding and cleared once when they stop (`track`). The app raises the toast,
//! the events entry and the count; `exec` hands the alert to a program.

pub mod exec;
pub mod rule;
pub mod track;

pub use rule::{Cond, Rule};
pub use track::{Change, Subject, Tracker};
