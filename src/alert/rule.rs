//! One alert rule of `config.toml` (`[[alerts]] when = "vm.cpu > 90" for = "5m"`): what it
//! watches, parsed once at start so a typo is an error there and not a silent never-firing rule.

use std::fmt;
use std::time::Duration;

/// What a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A VM's CPU, percent of its vCPUs.
    VmCpu,
    /// A VM's memory in use, percent of its current allocation (needs balloon stats).
    VmMemory,
    HostCpu,
    HostMemory,
    /// The host's active pools' allocation, percent of their capacity.
    HostStorage,
    /// Running vCPUs per host CPU.
    HostOvercommit,
}

impl Metric {
    const ALL: [(&'static str, Metric); 6] = [
        ("vm.cpu", Metric::VmCpu),
        ("vm.memory", Metric::VmMemory),
        ("host.cpu", Metric::HostCpu),
        ("host.memory", Metric::HostMemory),
        ("host.storage", Metric::HostStorage),
        ("host.overcommit", Metric::HostOvercommit),
    ];

    pub fn name(self) -> &'static str {
        Metric::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("?", |(n, _)| n)
    }

    pub fn on_vm(self) -> bool {
        matches!(self, Metric::VmCpu | Metric::VmMemory)
    }

    /// The unit a reading is printed with.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::HostOvercommit => "×",
            _ => " %",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// A rule's condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Above {
        metric: Metric,
        cmp: Cmp,
        value: f64,
    },
    /// `vm.state == crashed` (`!=` when `negate`); the state as the `state:` filter spells it.
    VmState { state: String, negate: bool },
    /// `host.lost`: the host's connection is down (lost or not reachable).
    HostLost,
    /// `host.unresponsive`: a libvirt call has been running past the call timeout.
    HostUnresponsive,
}

impl Cond {
    pub fn on_vm(&self) -> bool {
        match self {
            Cond::Above { metric, .. } => metric.on_vm(),
            Cond::VmState { .. } => true,
            Cond::HostLost | Cond::HostUnresponsive => false,
        }
    }

    /// Whether a reading meets a threshold condition (`false` for the others).
    pub fn holds(&self, reading: f64) -> bool {
        match self {
            Cond::Above { cmp, value, .. } => cmp.holds(reading, *value),
            _ => false,
        }
    }
}

/// The VM states `vm.state` accepts, as the `state:` filter spells them.
pub const STATES: [&str; 8] = [
    "running",
    "blocked",
    "paused",
    "shuttingdown",
    "shutoff",
    "crashed",
    "pmsuspended",
    "nostate",
];

/// A parsed rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The `when` text as written (shown in events and handed to `exec`).
    pub when: String,
    pub cond: Cond,
    /// How long the condition must hold before the alert fires.
    pub hold: Duration,
    /// `name = "…"`, else the `when` text.
    pub name: String,
    /// `[alerts.exec] command = […]`: run (never through a shell) when it fires and clears.
    pub exec: Vec<String>,
}

/// Why a rule could not be read (the caller adds `path:line:`).
#[derive(Debug, PartialEq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError(m.into()))
}

const SYNTAX: &str = "expected e.g. \"vm.cpu > 90\", \"host.memory >= 95\", \"vm.state == crashed\" or \"host.lost\"";

impl Cond {
    pub fn parse(when: &str) -> Result<Cond, RuleError> {
        let words: Vec<&str> = when.split_whitespace().collect();
        match words.as_slice() {
            ["host.lost"] => Ok(Cond::HostLost),
            ["host.unresponsive"] => Ok(Cond::HostUnresponsive),
            ["vm.state", op @ ("==" | "!="), state] => {
                let state = state.to_ascii_lowercase();
                if !STATES.contains(&state.as_str()) {
                    return err(format!(
                        "unknown VM state {state:?}: one of {}",
                        STATES.join(", ")
                    ));
                }
                Ok(Cond::VmState {
                    state,
                    negate: *op == "!=",
                })
            }
            [subject, op, value] => {
                let Some(metric) = Metric::ALL
                    .iter()
                    .find(|(n, _)| n == subject)
                    .map(|(_, m)| *m)
                else {
                    let known: Vec<&str> = Metric::ALL.iter().map(|(n, _)| *n).collect();
                    return err(format!(
                        "unknown reading {subject:?}: one of {}, vm.state, host.lost, host.unresponsive",
                        known.join(", ")
                    ));
                };
                let cmp = match *op {
                    ">" => Cmp::Gt,
                    ">=" => Cmp::Ge,
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    _ => return err(format!("unknown comparison {op:?}: one of > >= < <=")),
                };
                let value: f64 = match value.trim_end_matches('%').parse() {
                    Ok(v) if f64::is_finite(v) => v,
                    _ => return err(format!("{value:?} is not a number")),
                };
                Ok(Cond::Above { metric, cmp, value })
            }
            _ => err(format!("cannot read {when:?}: {SYNTAX}")),
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::Above { metric, cmp, value } => {
                write!(f, "{} {} {value}", metric.name(), cmp.as_str())
            }
            Cond::VmState { state, negate } => {
                write!(f, "vm.state {} {state}", if *negate { "!=" } else { "==" })
            }
            Cond::HostLost => f.write_str("host.lost"),
            Cond::HostUnresponsive => f.write_str("host.unresponsive"),
        }
    }
}

/// `for = "5m"`: seconds (`90`, `90s`), minutes (`5m`), hours (`1h`); at most a day.
pub fn parse_hold(s: &str) -> Result<Duration, RuleError> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let per = match unit.trim() {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        u => return err(format!("for = {s:?}: unknown unit {u:?} (s, m or h)")),
    };
    match num.parse::<f64>() {
        Ok(n) if (0.0..=86_400.0).contains(&(n * per)) => Ok(Duration::from_secs_f64(n * per)),
        _ => err(format!(
            "for = {s:?}: expected a duration such as \"30s\", \"5m\" or \"1h\" (at most 24h)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_print_back() {
        for when in [
            "vm.cpu > 90",
            "host.memory >= 95",
            "host.storage > 90",
            "host.overcommit > 4",
            "vm.memory < 5",
            "vm.state == crashed",
            "vm.state != running",
            "host.lost",
            "host.unresponsive",
        ] {
            assert_eq!(Cond::parse(when).unwrap().to_string(), when);
        }
        assert_eq!(
            Cond::parse("  vm.cpu   >  90% ").unwrap(),
            Cond::Above {
                metric: Metric::VmCpu,
                cmp: Cmp::Gt,
                value: 90.0
            }
        );
        assert_eq!(
            Cond::parse("vm.state == CRASHED").unwrap(),
            Cond::VmState {
                state: "crashed".into(),
                negate: false
            }
        );
    }

    #[test]
    fn bad_conditions_say_what_is_wrong() {
        let e = |w: &str| Cond::parse(w).unwrap_err().0;
        assert!(e("vm.cpuu > 90").contains("unknown reading \"vm.cpuu\""));
        assert!(e("vm.cpu => 90").contains("unknown comparison"));
        assert!(e("vm.cpu > lots").contains("not a number"));
        assert!(e("vm.cpu > NaN").contains("not a number"));
        assert!(e("vm.state == exploded").contains("unknown VM state"));
        assert!(e("vm.cpu").contains("expected e.g."));
        assert!(e("").contains("expected e.g."));
        assert!(
            e("host.lost now").contains("unknown comparison")
                || e("host.lost now").contains("expected")
        );
    }

    #[test]
    fn holds_compares_the_reading() {
        let c = Cond::parse("vm.cpu > 90").unwrap();
        assert!(c.holds(90.5) && !c.holds(90.0));
        let c = Cond::parse("host.memory <= 10").unwrap();
        assert!(c.holds(10.0) && !c.holds(10.1));
        assert!(!Cond::HostLost.holds(1.0));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_hold("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_hold("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_hold("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_hold("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_hold("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_hold("0").unwrap(), Duration::ZERO);
        assert!(parse_hold("5 days").is_err());
        assert!(parse_hold("25h").is_err());
        assert!(parse_hold("-1m").is_err());
        assert!(parse_hold("m").is_err());
    }
}
