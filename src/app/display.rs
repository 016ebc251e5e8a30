//! The display panel: a VM's VNC/SPICE devices with their address, password state, exposure
//! warning, URL and ssh tunnel; copy (OSC 52), launch a viewer, open the live preview.

use super::toast::Level;
use super::{App, Effect, Mode};
use crate::config::keymap::Action;
use crate::display::{access, exposure, listen_warning, Access, Graphics};
use crate::host::{DisplayInfo, HostCommand};
use crate::model::HostId;

#[derive(Clone, Debug, PartialEq)]
pub enum PanelState {
    Loading,
    Ready(DisplayInfo),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DisplayPanel {
    pub host: HostId,
    pub uuid: String,
    pub name: String,
    pub state: PanelState,
    /// Which graphics device the actions apply to.
    pub selected: usize,
}

impl DisplayPanel {
    /// The selected device and how to reach it (`uri` and `hostname` of its host).
    pub fn current(&self, uri: &str, hostname: &str) -> Option<(Graphics, Access)> {
        let PanelState::Ready(info) = &self.state else {
            return None;
        };
        let g = info.graphics.get(self.selected)?.clone();
        let a = access(&g, uri, hostname);
        Some((g, a))
    }
}

pub fn open(app: &mut App) -> Vec<Effect> {
    let Some((host, uuid)) = app.focused_vm() else {
        return Vec::new();
    };
    let now = app.now;
    let Some(h) = app.host(host) else {
        return Vec::new();
    };
    let name = h
        .vms
        .iter()
        .find(|v| v.uuid == uuid)
        .map(|v| v.name.clone())
        .unwrap_or_default();
    if let Some(p) = super::lifecycle::host_problem(h) {
        app.messages
            .push(Level::Error, format!("display: {p}"), now);
        return Vec::new();
    }
    app.push_overlay(Mode::Display(Box::new(DisplayPanel {
        host,
        uuid: uuid.clone(),
        name,
        state: PanelState::Loading,
        selected: 0,
    })));
    let id = app
        .requests
        .issue(host, super::requests::Owner::Display { uuid: uuid.clone() });
    vec![Effect::Host(host, HostCommand::Display { id, uuid })]
}

/// The worker's answer; dropped when the user has moved on.
pub fn answered(app: &mut App, host: HostId, uuid: &str, result: Result<DisplayInfo, String>) {
    let Mode::Display(p) = &mut app.mode else {
        return;
    };
    if p.host != host || p.uuid != uuid {
        return;
    }
    p.state = match result {
        Ok(info) => {
            for g in &info.graphics {
                for w in [exposure(g), listen_warning(g)].into_iter().flatten() {
                    app.messages
                        .log(Level::Error, format!("{}: {w}", p.name), app.now);
                }
            }
            PanelState::Ready(info)
        }
        Err(e) => PanelState::Failed(e),
    };
}

pub fn key(app: &mut App, action: Option<Action>) -> Vec<Effect> {
    let Mode::Display(p) = &mut app.mode else {
        return Vec::new();
    };
    let now = app.now;
    let (uri, hostname) = app
        .hosts
        .iter()
        .find(|h| h.id == p.host)
        .map(|h| {
            (
                h.uri.clone(),
                h.info
                    .as_ref()
                    .map(|i| i.hostname.clone())
                    .unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let current = p.current(&uri, &hostname);
    let count = match &p.state {
        PanelState::Ready(i) => i.graphics.len(),
        _ => 0,
    };
    match action {
        Some(Action::Back) | Some(Action::Cancel) => app.pop_overlay(),
        Some(Action::Quit) => return vec![Effect::Quit],
        Some(Action::NextField) if count > 0 => p.selected = (p.selected + 1) % count,
        Some(Action::CopyUrl) | Some(Action::CopyTunnel) => {
            let tunnel = action == Some(Action::CopyTunnel);
            // Why nothing can be copied, when a host-supplied value was refused.
            let why = current
                .as_ref()
                .and_then(|(g, a)| listen_warning(g).or_else(|| a.warning.clone()));
            let text = current.and_then(|(_, a)| if tunnel { a.tunnel } else { a.url });
            match text {
                Some(t) => {
                    app.messages.push(
                        Level::Info,
                        format!("copied {t} (OSC 52: the terminal must allow clipboard writes)"),
                        now,
                    );
                    return vec![Effect::Copy(t)];
                }
                None => app.messages.push(
                    Level::Error,
                    match (why, tunnel) {
                        (Some(w), _) => w,
                        (None, true) => "no ssh tunnel for this display".to_string(),
                        (None, false) => {
                            "no URL reachable from here: copy the ssh tunnel (Y) instead"
                                .to_string()
                        }
                    },
                    now,
                ),
            }
        }
        Some(Action::Preview) => {
            let panel = (**p).clone();
            return super::preview::open(app, &panel);
        }
        Some(Action::LaunchViewer) => {
            if let Some((graphics, access)) = current {
                return vec![Effect::LaunchViewer {
                    graphics,
                    access,
                    uri,
                    uuid: p.uuid.clone(),
                }];
            }
        }
        _ => {}
    }
    Vec::new()
}
