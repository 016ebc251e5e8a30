//! Migration logic beside the runner (`host::migrate`): pre-flight checks as a pure function
//! of facts read from both hosts (`preflight`), the reading itself (`gather`), and host
//! evacuation planning (`plan`). The options and the record the UI shows are in
//! `model::migration`.

pub(crate) mod ffi;
pub mod gather;
pub mod plan;
pub mod preflight;
