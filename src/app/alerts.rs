//! Alerts in the app: once a second every rule is weighed against the readings the hosts last
//! sent; a rule that fires or clears raises a toast, an events entry (`kind:alert`), the count
//! in the status bar and, when it has one, its program (`Effect::AlertExec`).

use std::time::{Duration, Instant};

use super::events::{self, NoteKind};
use super::hosts::{HostStatus, HostView};
use super::toast::Level;
use super::{App, Effect};
use crate::alert::exec::Fields;
use crate::alert::rule::Metric;
use crate::alert::{Change, Cond, Rule, Subject, Tracker};
use crate::model::Vm;

/// How often the rules are weighed: readings arrive once per poll, so more is wasted.
const EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct AlertsUi {
    pub tracker: Tracker,
    /// Alerts firing now (the status bar's count).
    pub active: usize,
    last: Option<Instant>,
}

/// A reading of `metric` for a VM of `h`: `None` when there is none now.
fn vm_reading(h: &HostView, vm: &Vm, metric: Metric) -> Option<f64> {
    match metric {
        Metric::VmCpu => h.rates(&vm.uuid)?.cpu_pct,
        Metric::VmMemory => {
            let rss = vm.io.rss_kib()? as f64;
            (vm.max_memory_kib > 0).then(|| rss / vm.max_memory_kib as f64 * 100.0)
        }
        _ => None,
    }
}

fn host_reading(h: &HostView, metric: Metric) -> Option<f64> {
    match metric {
        Metric::HostCpu => h.node.cpu_pct,
        Metric::HostMemory => h.node.memory_pct(),
        Metric::HostStorage => super::dashboard::storage_pct(h),
        Metric::HostOvercommit => h.overcommit(),
        Metric::VmCpu | Metric::VmMemory => None,
    }
}

/// Whether `cond` holds for a VM, and the reading that says so. A VM of a host that is not
/// connected is unknown: its last readings are stale.
fn vm_verdict(h: &HostView, vm: &Vm, cond: &Cond) -> (Option<bool>, Option<f64>) {
    if !h.status.is_connected() {
        return (None, None);
    }
    match cond {
        Cond::Above { metric, .. } => {
            // A stopped VM has no load: the rule does not hold for it.
            if !vm.state.is_active() {
                return (Some(false), None);
            }
            let r = vm_reading(h, vm, *metric);
            (r.map(|r| cond.holds(r)), r)
        }
        Cond::VmState { state, negate } => {
            if vm.known == crate::model::Known::Listed {
                return (None, None);
            }
            (
                Some((crate::app::filter::state_key(vm.state) == state) != *negate),
                None,
            )
        }
        Cond::HostLost | Cond::HostUnresponsive => (Some(false), None),
    }
}

fn host_verdict(h: &HostView, cond: &Cond) -> (Option<bool>, Option<f64>) {
    match cond {
        Cond::HostLost => (
            Some(matches!(
                h.status,
                HostStatus::Lost { .. } | HostStatus::Unreachable { .. }
            )),
            None,
        ),
        Cond::HostUnresponsive => (Some(h.stalled_since.is_some()), None),
        Cond::Above { metric, .. } => {
            if !h.status.is_connected() {
                return (None, None);
            }
            let r = host_reading(h, *metric);
            (r.map(|r| cond.holds(r)), r)
        }
        Cond::VmState { .. } => (Some(false), None),
    }
}

/// One change to tell: which rule, about what, the reading.
struct Told {
    rule: usize,
    host: usize,
    vm: Option<(String, String)>,
    change: Change,
    reading: Option<f64>,
}

/// Weighs every rule; called with every tick.
pub fn tick(app: &mut App) -> Vec<Effect> {
    let rules = std::mem::take(&mut app.settings.alerts);
    let fx = weigh(app, &rules);
    app.settings.alerts = rules;
    fx
}

fn weigh(app: &mut App, rules: &[Rule]) -> Vec<Effect> {
    if rules.is_empty() {
        return Vec::new();
    }
    let now = app.now;
    if app
        .alerts
        .last
        .is_some_and(|t| now.saturating_duration_since(t) < EVERY)
    {
        return Vec::new();
    }
    app.alerts.last = Some(now);
    let tracker = &mut app.alerts.tracker;
    tracker.begin();
    let mut told = Vec::new();
    for (hi, h) in app.hosts.iter().enumerate() {
        for (ri, rule) in rules.iter().enumerate() {
            if !rule.cond.on_vm() {
                let (verdict, reading) = host_verdict(h, &rule.cond);
                let subject = Subject::Host(h.id);
                if let Some(change) = tracker.observe(ri, rule.hold, &subject, verdict, now) {
                    told.push(Told {
                        rule: ri,
                        host: hi,
                        vm: None,
                        change,
                        reading,
                    });
                }
                continue;
            }
            for vm in &h.vms {
                let (verdict, reading) = vm_verdict(h, vm, &rule.cond);
                // Most VMs meet no rule: no key is made for them unless something is tracked.
                if verdict == Some(false) && tracker.is_empty() {
                    continue;
                }
                let subject = Subject::Vm(h.id, vm.uuid.clone());
                if let Some(change) = tracker.observe(ri, rule.hold, &subject, verdict, now) {
                    told.push(Told {
                        rule: ri,
                        host: hi,
                        vm: Some((vm.uuid.clone(), vm.name.clone())),
                        change,
                        reading,
                    });
                }
            }
        }
    }
    for (ri, subject) in tracker.finish() {
        // The VM or host is gone: cleared, with the name it had when last told if any.
        let (host, vm) = match &subject {
            Subject::Host(id) => (*id, None),
            Subject::Vm(id, uuid) => (*id, Some((uuid.clone(), String::new()))),
        };
        let hi = app.hosts.iter().position(|h| h.id == host);
        told.push(Told {
            rule: ri,
            host: hi.unwrap_or(usize::MAX),
            vm,
            change: Change::Cleared,
            reading: None,
        });
    }
    app.alerts.active = app.alerts.tracker.active();
    told.into_iter()
        .filter_map(|t| tell(app, &rules[t.rule], t))
        .collect()
}

/// The toast, the events entry and the program of one change.
fn tell(app: &mut App, rule: &Rule, t: Told) -> Option<Effect> {
    let (host_id, host_name) = app
        .hosts
        .get(t.host)
        .map(|h| (h.id, h.name.clone()))
        .unwrap_or((crate::model::HostId(usize::MAX), String::new()));
    let (uuid, vm) = t.vm.unwrap_or_default();
    let value = t.reading.map(|r| format!("{r:.1}")).unwrap_or_default();
    let reading = match (&rule.cond, t.reading) {
        (Cond::Above { metric, .. }, Some(r)) => format!(" ({r:.1}{})", metric.unit()),
        _ => String::new(),
    };
    let whom = if vm.is_empty() {
        host_name.clone()
    } else {
        format!("{vm} on {host_name}")
    };
    let fired = t.change == Change::Fired;
    let text = if fired {
        format!("alert: {}{reading}", rule.name)
    } else {
        format!("alert cleared: {}{reading}", rule.name)
    };
    app.messages.push(
        if fired { Level::Error } else { Level::Info },
        format!("{text} — {whom}"),
        app.now,
    );
    events::note(app, host_id, (&uuid, &vm), NoteKind::Alert, text, fired);
    app.redraw = true;
    if rule.exec.is_empty() {
        return None;
    }
    let fields = Fields {
        name: rule.name.clone(),
        when: rule.when.clone(),
        state: if fired { "firing" } else { "cleared" },
        host: host_name,
        vm,
        uuid,
        value,
        time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    Some(Effect::AlertExec {
        argv: rule.exec.clone(),
        env: crate::alert::exec::env(&fields),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::vm;
    use crate::app::{HostSpec, Msg, Settings};
    use crate::config::keymap::Keymap;
    use crate::config::theme::Theme;
    use crate::host::HostEvent;
    use crate::metrics::VmRates;
    use crate::model::{HostId, HostInfo, Snapshot, VmState};

    fn app(rules: &str) -> App {
        let cfg = crate::config::Config::parse("c.toml", rules).unwrap();
        let mut app = App::new(
            vec![HostSpec {
                name: "kvm-a".into(),
                uri: "test:///a".into(),
            }],
            Keymap::preset(),
            Theme::load("default", None).unwrap(),
            Settings {
                alerts: cfg.alerts,
                ..Settings::default()
            },
        );
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Connected(HostInfo::default()),
        ));
        let t = app.now;
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vec![
                    vm("hot <&'\"\u{202e}", VmState::Running),
                    vm("idle", VmState::Running),
                    vm("off", VmState::Shutoff),
                ]),
                taken_at: t,
                receipt: Default::default(),
                node: None,
            }),
        ));
        app
    }

    fn cpu(app: &mut App, name: &str, pct: f64) {
        let uuid = format!("uuid-{name}");
        app.hosts[0].set_rates(
            &uuid,
            VmRates {
                cpu_pct: Some(pct),
                ..VmRates::default()
            },
        );
    }

    /// Ticks once a second for `secs` seconds and returns the effects.
    fn ticks(app: &mut App, secs: u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        for _ in 0..secs {
            let now = app.now + Duration::from_secs(1);
            fx.extend(app.update(Msg::Tick(now)));
        }
        fx.retain(|e| matches!(e, Effect::AlertExec { .. }));
        fx
    }

    fn alerts(app: &App) -> Vec<String> {
        app.events
            .list
            .iter()
            .filter(|e| e.kind() == "alert")
            .map(|e| format!("{} {}", e.vm, e.label()))
            .collect()
    }

    #[test]
    fn a_busy_vm_fires_once_after_the_window_and_clears_once() {
        let hot = "hot <&'\"\u{202e}";
        let mut app = app(
            "[[alerts]]\nwhen = \"vm.cpu > 90\"\nfor = \"5s\"\n[alerts.exec]\ncommand = [\"notify-send\", \"vd\"]\n",
        );
        cpu(&mut app, hot, 97.0);
        cpu(&mut app, "idle", 3.0);
        assert!(ticks(&mut app, 4).is_empty());
        assert_eq!(app.alerts.active, 0);
        let fx = ticks(&mut app, 10);
        assert_eq!(fx.len(), 1, "fired once");
        let Effect::AlertExec { argv, env } = &fx[0] else {
            unreachable!()
        };
        assert_eq!(argv, &["notify-send", "vd"]);
        let var = |k: &str| {
            env.iter()
                .find(|(n, _)| n == &format!("VIRTDECK_ALERT_{k}"))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(var("VM"), hot);
        assert_eq!(var("STATE"), "firing");
        assert_eq!(var("VALUE"), "97.0");
        assert_eq!(var("HOST"), "kvm-a");
        assert_eq!(app.alerts.active, 1);
        assert_eq!(alerts(&app), [format!("{hot} alert: vm.cpu > 90 (97.0 %)")]);
        assert!(app
            .messages
            .log
            .iter()
            .any(|m| m.text.contains("alert: vm.cpu > 90 (97.0 %) — hot")));

        cpu(&mut app, hot, 10.0);
        let fx = ticks(&mut app, 5);
        assert_eq!(fx.len(), 1, "cleared once");
        assert_eq!(app.alerts.active, 0);
        assert_eq!(alerts(&app).len(), 2);
        assert!(alerts(&app)[1].contains("alert cleared: vm.cpu > 90 (10.0 %)"));
    }

    #[test]
    fn host_rules_and_a_lost_host() {
        let mut app = app("[[alerts]]\nwhen = \"host.lost\"\nname = \"host gone\"\n[[alerts]]\nwhen = \"vm.state == crashed\"\n");
        assert!(ticks(&mut app, 3).is_empty());
        assert_eq!(app.alerts.active, 0);
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Lost {
                error: "gone".into(),
            },
        ));
        ticks(&mut app, 2);
        assert_eq!(app.alerts.active, 1);
        assert_eq!(alerts(&app), [" alert: host gone"]);
        // Its VMs' states are unknown meanwhile: no crash alert, nothing cleared.
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Connected(HostInfo::default()),
        ));
        ticks(&mut app, 2);
        assert_eq!(app.alerts.active, 0);
        assert_eq!(alerts(&app).len(), 2);
    }

    #[test]
    fn a_firing_vm_that_is_undefined_clears() {
        let mut app = app("[[alerts]]\nwhen = \"vm.state == shutoff\"\n");
        ticks(&mut app, 2);
        assert_eq!(app.alerts.active, 1);
        let t = app.now;
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vec![vm("idle", VmState::Running)]),
                taken_at: t,
                receipt: Default::default(),
                node: None,
            }),
        ));
        ticks(&mut app, 2);
        assert_eq!(app.alerts.active, 0);
        assert!(
            alerts(&app)[1].contains("alert cleared"),
            "{:?}",
            alerts(&app)
        );
    }
}
