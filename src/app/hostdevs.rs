//! The host-devices pane (`:hostdevs`): every connected host's PCI, USB and mediated devices
//! with the warnings the attach form shows (shared IOMMU group, no IOMMU, used by the host).
//! Read-only: devices are given to a VM from its attach form (`A` on the detail screen).

use std::cell::Cell;

use super::panes::{Pane, PaneId};
use super::{App, Effect};
use crate::config::keymap::Action;
use crate::host::HostCommand;
use crate::model::HostId;
use crate::xml::nodedev::NodeDevice;

#[derive(Debug, Default)]
pub struct HostDevsUi {
    pub sel: usize,
    /// The first row the last frame showed.
    pub offset: Cell<usize>,
}

/// One row: a device of a host, its picker line and its warnings (escaped).
pub struct Row<'a> {
    pub host: HostId,
    pub device: &'a NodeDevice,
    pub line: String,
    pub warnings: Vec<String>,
}

/// The rows shown: hosts in order, each host's devices as the attach form offers them,
/// narrowed by `@HOST` and `/TEXT` (which matches the whole line).
pub fn rows(app: &App) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    for (i, h) in app.hosts.iter().enumerate() {
        let host = HostId(i);
        let Some(Ok(devs)) = &h.hostdevs else {
            continue;
        };
        let index = devs.index();
        for d in devs.offered() {
            let line = devs.line(d);
            if !super::panes::keeps(app, PaneId::HostDevs, host, &line) {
                continue;
            }
            out.push(Row {
                host,
                device: d,
                warnings: devs.warnings_in(&index, d),
                line,
            });
        }
    }
    out
}

/// Hosts whose list failed, with libvirt's reason (escaped), and whether any is still asked.
pub fn problems(app: &App) -> (Vec<String>, bool) {
    let mut errs = Vec::new();
    let mut waiting = false;
    for h in &app.hosts {
        match &h.hostdevs {
            Some(Err(e)) => errs.push(format!(
                "{}: {}",
                crate::sanitize::text(&h.name),
                crate::sanitize::text(e)
            )),
            None if h.status.is_connected() => waiting = true,
            _ => {}
        }
    }
    (errs, waiting)
}

/// Asks every connected host for its devices.
fn ask(app: &App) -> Vec<Effect> {
    app.hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.status.is_connected())
        .map(|(i, _)| Effect::Host(HostId(i), HostCommand::NodeDevices))
        .collect()
}

pub struct HostDevsPane;

impl Pane for HostDevsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        let n = rows(app).len();
        if let Some(i) = super::requests::step(app.hostdevs.sel, n, action, 10) {
            app.hostdevs.sel = i;
            return Vec::new();
        }
        match action {
            Action::RefreshItem => ask(app),
            _ => Vec::new(),
        }
    }

    fn opened(&self, app: &mut App) -> Vec<Effect> {
        ask(app)
    }

    fn position(&self, app: &App) -> String {
        super::panes::position(app.hostdevs.sel, rows(app).len(), "devices")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.hostdevs.sel, rows(app).len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.hostdevs.sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::RefreshItem, "re-read"),
            (Action::Palette, "command"),
            (Action::Quit, "quit"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use crate::app::panes::{self, PaneId};
    use crate::app::{Effect, View};
    use crate::host::HostCommand;

    #[test]
    fn opening_asks_the_hosts_and_lists_their_devices_with_warnings() {
        let mut a = crate::app::tests::app();
        let fx = panes::show(&mut a, PaneId::HostDevs);
        assert_eq!(a.view, View::Pane(PaneId::HostDevs));
        let asked = fx
            .iter()
            .filter(|e| matches!(e, Effect::Host(_, HostCommand::NodeDevices)))
            .count();
        assert_eq!(
            asked,
            a.hosts.iter().filter(|h| h.status.is_connected()).count()
        );
        a.hosts[0].hostdevs = Some(Ok(crate::model::hostdev::tests::sample()));
        let rows = super::rows(&a);
        assert_eq!(rows.len(), 5);
        assert!(rows[0].warnings[0].contains("IOMMU group 12"));
        a.hosts[0].hostdevs = Some(Err("unsupported\u{1b}[2J".into()));
        let (errs, _) = super::problems(&a);
        assert!(errs[0].contains("unsupported") && !errs[0].contains('\u{1b}'));
    }
}
