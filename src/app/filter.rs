//! The `/` filter: whitespace-separated terms, all of which must match. A bare term matches the
//! VM name, `host:` the host name, `state:` the state (`state:active`/`state:inactive` too).

use crate::model::{Vm, VmState};

#[derive(Clone, Debug, PartialEq)]
enum Term {
    Name(String),
    Host(String),
    State(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .map(|t| {
                let lower = t.to_lowercase();
                if let Some(h) = lower.strip_prefix("host:") {
                    Term::Host(h.to_string())
                } else if let Some(s) = lower.strip_prefix("state:") {
                    // Spaces never occur inside a term; "shutoff" matches "shut off".
                    Term::State(s.to_string())
                } else {
                    Term::Name(lower)
                }
            })
            .collect();
        Filter { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a host name passes the `host:` terms (lets callers skip whole hosts).
    pub fn host_matches(&self, host: &str) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Host(h) => contains_ci(host, h),
            _ => true,
        })
    }

    /// Whether the VM passes the name and state terms.
    pub fn vm_matches(&self, vm: &Vm) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Name(n) => contains_ci(&vm.name, n),
            Term::State(s) => state_matches(vm.state, s),
            Term::Host(_) => true,
        })
    }
}

fn state_matches(state: VmState, term: &str) -> bool {
    match term {
        "" => true,
        "active" => state.is_active(),
        "inactive" | "stopped" | "off" => !state.is_active(),
        _ => state_key(state).contains(term),
    }
}

/// The state label without spaces, as `state:` terms spell it.
fn state_key(state: VmState) -> &'static str {
    match state {
        VmState::Shutoff => "shutoff",
        VmState::Shutdown => "shuttingdown",
        VmState::NoState => "nostate",
        s => s.label(),
    }
}

/// Case-insensitive substring test; `needle` is already lower case. ASCII fast path since
/// this runs for every VM on every keystroke.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(name: &str, state: VmState) -> Vm {
        Vm {
            uuid: name.into(),
            name: name.into(),
            id: None,
            state,
            vcpus: 1,
            memory_kib: 0,
            max_memory_kib: 0,
            cpu_time_ns: None,
            io: Default::default(),
            autostart: false,
            persistent: true,
            managed_save: false,
            started: None,
        }
    }

    #[test]
    fn substring_case_insensitive() {
        let f = Filter::parse("WEB");
        assert!(f.vm_matches(&vm("prod-web-01", VmState::Running)));
        assert!(!f.vm_matches(&vm("db-01", VmState::Running)));
        let f = Filter::parse("café");
        assert!(f.vm_matches(&vm("CAFÉ-staging", VmState::Running)));
    }

    #[test]
    fn prefixes_combine() {
        let f = Filter::parse("state:running host:prod web");
        assert!(f.host_matches("kvm-prod-01"));
        assert!(!f.host_matches("lab-edge"));
        assert!(f.vm_matches(&vm("web-1", VmState::Running)));
        assert!(!f.vm_matches(&vm("web-1", VmState::Paused)));
        assert!(!f.vm_matches(&vm("db-1", VmState::Running)));
    }

    #[test]
    fn state_aliases() {
        assert!(Filter::parse("state:shutoff").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse("state:shut").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse("state:inactive").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse("state:active").vm_matches(&vm("a", VmState::Paused)));
        assert!(!Filter::parse("state:active").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse("").is_empty());
    }
}
