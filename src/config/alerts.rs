//! `[[alerts]]` in config.toml, read into `alert::Rule`s at start: a rule that cannot be read is
//! a `path:line: message` error then, not a rule that silently never fires.

use serde::Deserialize;

use super::{line_of, ConfigError};
use crate::alert::{rule, Cond, Rule};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertEntry {
    /// `"vm.cpu > 90"`, `"host.lost"`…
    pub when: toml::Spanned<String>,
    /// How long it must hold: `"5m"`; at once when absent.
    #[serde(default, rename = "for")]
    pub hold: Option<toml::Spanned<String>>,
    /// Shown in the toast and the events pane instead of the condition.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub exec: Option<AlertExec>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertExec {
    /// The program and its arguments, run as written (no shell).
    pub command: toml::Spanned<Vec<String>>,
}

/// Every entry as a rule, or the first that cannot be one.
pub fn rules(path: &str, source: &str, entries: &[AlertEntry]) -> Result<Vec<Rule>, ConfigError> {
    let at = |span: std::ops::Range<usize>| Some(line_of(source, span.start));
    entries
        .iter()
        .map(|e| {
            let when = e.when.get_ref().trim().to_string();
            let cond = Cond::parse(&when).map_err(|m| {
                ConfigError::new(path, at(e.when.span()), format!("alerts: when: {m}"))
            })?;
            let hold = match &e.hold {
                None => std::time::Duration::ZERO,
                Some(h) => rule::parse_hold(h.get_ref()).map_err(|m| {
                    ConfigError::new(path, at(h.span()), format!("alerts: {m}"))
                })?,
            };
            let exec = match &e.exec {
                None => Vec::new(),
                Some(x) => {
                    let argv = x.command.get_ref();
                    if argv.first().is_none_or(|p| p.trim().is_empty()) {
                        return Err(ConfigError::new(
                            path,
                            at(x.command.span()),
                            "alerts.exec: command is a program and its arguments, e.g. [\"notify-send\", \"virtdeck\"]",
                        ));
                    }
                    argv.clone()
                }
            };
            Ok(Rule {
                name: e.name.clone().unwrap_or_else(|| when.clone()),
                when,
                cond,
                hold,
                exec,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::alert::{rule::Metric, Cond};
    use crate::config::Config;
    use std::time::Duration;

    #[test]
    fn rules_are_read_with_their_window_and_program() {
        let src = r#"
[[alerts]]
when = "vm.cpu > 90"
for = "5m"

[[alerts]]
when = "host.lost"
name = "host gone"
[alerts.exec]
command = ["notify-send", "virtdeck"]
"#;
        let c = Config::parse("c.toml", src).unwrap();
        assert_eq!(c.alerts.len(), 2);
        assert!(matches!(
            c.alerts[0].cond,
            Cond::Above {
                metric: Metric::VmCpu,
                ..
            }
        ));
        assert_eq!(c.alerts[0].hold, Duration::from_secs(300));
        assert_eq!(c.alerts[0].name, "vm.cpu > 90");
        assert!(c.alerts[0].exec.is_empty());
        assert_eq!(c.alerts[1].name, "host gone");
        assert_eq!(c.alerts[1].exec, ["notify-send", "virtdeck"]);
        assert_eq!(c.alerts[1].hold, Duration::ZERO);
    }

    #[test]
    fn a_bad_rule_names_its_line() {
        let e = |src: &str| Config::parse("/c.toml", src).unwrap_err().to_string();
        let src = "poll_interval = 2\n\n[[alerts]]\nwhen = \"vm.cpu > 90\"\n\n[[alerts]]\nwhen = \"vm.cpuu > 9\"\n";
        assert_eq!(
            e(src),
            "/c.toml:7: alerts: when: unknown reading \"vm.cpuu\": one of vm.cpu, vm.memory, host.cpu, host.memory, host.storage, host.overcommit, vm.state, host.lost, host.unresponsive"
        );
        let src = "[[alerts]]\nwhen = \"host.lost\"\nfor = \"5 days\"\n";
        assert!(
            e(src).starts_with("/c.toml:3: alerts: for = \"5 days\""),
            "{}",
            e(src)
        );
        let src = "[[alerts]]\nwhen = \"host.lost\"\n[alerts.exec]\ncommand = []\n";
        assert!(
            e(src).starts_with("/c.toml:4: alerts.exec: command"),
            "{}",
            e(src)
        );
        let src = "[[alerts]]\nwhen = \"host.lost\"\nfour = \"5m\"\n";
        assert!(e(src).starts_with("/c.toml:3:"), "{}", e(src));
        let src = "[[alerts]]\nfor = \"5m\"\n";
        assert!(e(src).contains("when"), "{}", e(src));
    }
}
