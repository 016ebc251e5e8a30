//! The `/` filter: whitespace-separated terms, all of which must match. A bare term matches the
//! VM name, `host:` the host name, `state:` the state (`state:active`/`state:inactive` too,
//! `state:template` the templates), `tag:` a tag of the VM's,
//! `re:` the name against a regular expression (case-insensitive); `!` before any term
//! excludes what it matches.

use regex::{Regex, RegexBuilder};

use crate::model::{Vm, VmState};

#[derive(Clone, Debug)]
enum Kind {
    Name(String),
    /// A tag of the VM's, whole (`tag:db` is not `db2`); `tag:` alone: any tag.
    Tag(String),
    /// An event's kind (`kind:host`, `kind:lifecycle`…), for the events pane.
    Event(String),
    Host(String),
    State(String),
    Regex(Regex),
}

#[derive(Clone, Debug)]
struct Term {
    kind: Kind,
    /// `!term`: the VM (or host) must not match.
    not: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

/// Compiled patterns are kept small: a filter is typed, and a huge one only costs memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Filter {
    /// Reads the filter line; an invalid `re:` pattern is an error naming it (the caller keeps
    /// the filter it had).
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for word in text.split_whitespace() {
            let (not, word) = match word.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, word),
            };
            if word.is_empty() {
                // A lone `!` while typing: nothing to exclude yet.
                continue;
            }
            let kind = if let Some(p) = strip_prefix_ci(word, "re:") {
                RegexBuilder::new(p)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map(Kind::Regex)
                    .map_err(|e| format!("re:{p}: {}", first_line(&e.to_string())))?
            } else {
                let lower = word.to_lowercase();
                if let Some(h) = lower.strip_prefix("host:") {
                    Kind::Host(h.to_string())
                } else if let Some(t) = lower.strip_prefix("tag:") {
                    Kind::Tag(t.to_string())
                } else if let Some(k) = lower.strip_prefix("kind:") {
                    Kind::Event(k.to_string())
                } else if let Some(v) = lower.strip_prefix("vm:") {
                    Kind::Name(v.to_string())
                } else if let Some(s) = lower.strip_prefix("state:") {
                    // Spaces never occur inside a term; "shutoff" matches "shut off".
                    Kind::State(s.to_string())
                } else {
                    Kind::Name(lower)
                }
            };
            terms.push(Term { kind, not });
        }
        Ok(Filter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an object (pool, network, job) named `name` on `host` passes: names and
    /// patterns match its name, `host:` its host; `state:` terms do not apply.
    pub fn name_matches(&self, name: &str, host: &str) -> bool {
        let lower = name.to_lowercase();
        self.terms.iter().all(|t| {
            let hit = match &t.kind {
                Kind::Name(n) => lower.contains(n.as_str()),
                Kind::Host(h) => contains_ci(host, h),
                Kind::Regex(r) => r.is_match(name),
                Kind::State(_) | Kind::Tag(_) | Kind::Event(_) => return true,
            };
            hit != t.not
        })
    }

    /// Whether an event of `kind` passes the `kind:` terms (a prefix: `kind:life`).
    pub fn kind_matches(&self, kind: &str) -> bool {
        self.terms.iter().all(|t| match &t.kind {
            Kind::Event(k) => kind.starts_with(k.as_str()) != t.not,
            _ => true,
        })
    }

    /// Whether a host name passes the `host:` terms (lets callers skip whole hosts).
    pub fn host_matches(&self, host: &str) -> bool {
        self.terms.iter().all(|t| match &t.kind {
            Kind::Host(h) => contains_ci(host, h) != t.not,
            _ => true,
        })
    }

    /// Whether the VM passes the name, state and pattern terms.
    pub fn vm_matches(&self, vm: &Vm) -> bool {
        self.terms.iter().all(|t| {
            let hit = match &t.kind {
                Kind::Name(n) => contains_ci(&vm.name, n),
                Kind::Tag(t) if t.is_empty() => !vm.tags.is_empty(),
                Kind::Tag(t) => vm.tags.iter().any(|x| x.eq_ignore_ascii_case(t)),
                Kind::State(s) if s == "template" => vm.template,
                Kind::State(s) => state_matches(vm.state, s),
                Kind::Regex(r) => r.is_match(&vm.name),
                Kind::Host(_) | Kind::Event(_) => return true,
            };
            hit != t.not
        })
    }
}

fn strip_prefix_ci<'a>(word: &'a str, prefix: &str) -> Option<&'a str> {
    let head = word.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &word[prefix.len()..])
}

/// regex's errors draw the pattern over several lines; the filter line has room for one.
fn first_line(e: &str) -> String {
    e.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim().trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| e.lines().next().unwrap_or_default().to_string())
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
pub(crate) fn state_key(state: VmState) -> &'static str {
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
            known: Default::default(),
            template: false,
            tags: Vec::new(),
            note: None,
            started: None,
        }
    }

    impl Filter {
        fn parse_ok(text: &str) -> Filter {
            Filter::parse(text).expect("valid filter")
        }
    }

    #[test]
    fn tags_match_whole_and_case_blind() {
        let db = Vm {
            tags: vec!["db".into(), "Team:Ops".into()],
            ..vm("pg", VmState::Running)
        };
        assert!(Filter::parse_ok("tag:db").vm_matches(&db));
        assert!(Filter::parse_ok("tag:team:ops").vm_matches(&db));
        assert!(!Filter::parse_ok("tag:d").vm_matches(&db), "whole tags");
        assert!(!Filter::parse_ok("!tag:db").vm_matches(&db));
        assert!(Filter::parse_ok("tag:").vm_matches(&db));
        assert!(!Filter::parse_ok("tag:").vm_matches(&vm("x", VmState::Running)));
        assert!(
            Filter::parse_ok("tag:db").name_matches("pool", "h"),
            "not a VM: no effect"
        );
    }

    #[test]
    fn templates_by_state_template() {
        let tpl = Vm {
            template: true,
            ..vm("golden", VmState::Shutoff)
        };
        let f = Filter::parse_ok("state:template");
        assert!(f.vm_matches(&tpl) && !f.vm_matches(&vm("x", VmState::Shutoff)));
        assert!(!Filter::parse_ok("!state:template").vm_matches(&tpl));
    }

    #[test]
    fn exclusions_and_patterns() {
        let f = Filter::parse_ok("!web state:running");
        assert!(f.vm_matches(&vm("db-1", VmState::Running)));
        assert!(!f.vm_matches(&vm("web-1", VmState::Running)));
        let f = Filter::parse_ok("!state:running !host:lab");
        assert!(f.vm_matches(&vm("a", VmState::Shutoff)));
        assert!(!f.vm_matches(&vm("a", VmState::Running)));
        assert!(!f.host_matches("lab-edge") && f.host_matches("kvm1"));
        let f = Filter::parse_ok("re:^web-0[1-3]$");
        assert!(f.vm_matches(&vm("WEB-02", VmState::Running)));
        assert!(!f.vm_matches(&vm("web-04", VmState::Running)));
        assert!(!f.vm_matches(&vm("prod-web-01", VmState::Running)));
        assert!(!Filter::parse_ok("!re:^web").vm_matches(&vm("web-1", VmState::Running)));
        // A lone `!` (half typed) and an empty pattern match everything.
        assert!(Filter::parse_ok("! re:").vm_matches(&vm("x", VmState::Paused)));
    }

    #[test]
    fn an_invalid_pattern_is_an_error_naming_it() {
        let e = Filter::parse("web re:([a-").unwrap_err();
        assert!(e.starts_with("re:([a-: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        // Too big to compile is an error too, not gigabytes.
        assert!(Filter::parse("re:(a{1000}){1000}").is_err());
    }

    #[test]
    fn substring_case_insensitive() {
        let f = Filter::parse_ok("WEB");
        assert!(f.vm_matches(&vm("prod-web-01", VmState::Running)));
        assert!(!f.vm_matches(&vm("db-01", VmState::Running)));
        let f = Filter::parse_ok("café");
        assert!(f.vm_matches(&vm("CAFÉ-staging", VmState::Running)));
    }

    #[test]
    fn prefixes_combine() {
        let f = Filter::parse_ok("state:running host:prod web");
        assert!(f.host_matches("kvm-prod-01"));
        assert!(!f.host_matches("lab-edge"));
        assert!(f.vm_matches(&vm("web-1", VmState::Running)));
        assert!(!f.vm_matches(&vm("web-1", VmState::Paused)));
        assert!(!f.vm_matches(&vm("db-1", VmState::Running)));
    }

    #[test]
    fn state_aliases() {
        assert!(Filter::parse_ok("state:shutoff").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse_ok("state:shut").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse_ok("state:inactive").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse_ok("state:active").vm_matches(&vm("a", VmState::Paused)));
        assert!(!Filter::parse_ok("state:active").vm_matches(&vm("a", VmState::Shutoff)));
        assert!(Filter::parse_ok("").is_empty());
    }
}
