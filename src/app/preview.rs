//! The live VNC preview view: opened from the display panel, keyboard forwarding on demand.

use crossterm::event::KeyEvent;

use super::display::{DisplayPanel, PanelState};
use super::toast::Level;
use super::{App, Effect, Mode, View};
use crate::config::keymap::{Action, Key, Section};
use crate::display::{Kind, Password};
use crate::host::HostCommand;
use crate::model::HostId;

pub use crate::vnc::PreviewTarget;

#[derive(Clone, Debug, PartialEq)]
pub struct PreviewView {
    pub host: HostId,
    pub uuid: String,
    pub name: String,
    pub target: PreviewTarget,
    /// Keys go to the guest (except the ones bound in the preview section).
    pub forward: bool,
    pub back: Box<View>,
}

/// From the display panel: preview its selected device.
pub fn open(app: &mut App, p: &DisplayPanel) -> Vec<Effect> {
    let now = app.now;
    let PanelState::Ready(info) = &p.state else {
        return Vec::new();
    };
    let Some(g) = info.graphics.get(p.selected) else {
        return Vec::new();
    };
    if g.kind != Kind::Vnc || !info.active {
        app.messages.push(
            Level::Error,
            "the live preview needs a running VM with a VNC display",
            now,
        );
        return Vec::new();
    }
    let (uri, hostname) = app
        .host(p.host)
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
    let access = crate::display::access(g, &uri, &hostname);
    let tcp = access
        .url
        .as_deref()
        .map(|u| u.trim_start_matches("vnc://").to_string());
    let password = match &g.password {
        Password::Set(pw) => Some(pw.clone()),
        _ => None,
    };
    let target = PreviewTarget::new();
    app.mode = Mode::Normal;
    app.view = View::Preview(Box::new(PreviewView {
        host: p.host,
        uuid: p.uuid.clone(),
        name: p.name.clone(),
        target: target.clone(),
        forward: false,
        back: Box::new(app.view.clone()),
    }));
    vec![Effect::Host(
        p.host,
        HostCommand::Preview {
            uuid: p.uuid.clone(),
            idx: p.selected as u32,
            target,
            tcp,
            password,
        },
    )]
}

pub fn key(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    let pressed = Key::from_event(&ev);
    let action = app.keymap.action(Section::Preview, pressed);
    let chord = pressed == detach_key(app);
    let View::Preview(pv) = &mut app.view else {
        return Vec::new();
    };
    match action {
        Some(Action::ToggleKeys) => pv.forward = !pv.forward,
        // While forwarding, Esc and q belong to the guest; only the chord leaves.
        Some(Action::Back) if !pv.forward || chord => {
            if let View::Preview(pv) = &app.view {
                pv.target.preview.close();
                app.view = (*pv.back).clone();
            }
        }
        _ if pv.forward => pv.target.preview.key(ev),
        _ => {}
    }
    Vec::new()
}

/// The key that always leaves the preview (the first `back` binding with a modifier).
fn detach_key(app: &App) -> Key {
    app.keymap
        .key_for(Section::Preview, Action::Back)
        .and_then(|k| Key::parse(k).ok())
        .unwrap_or_else(|| {
            Key::new(
                crossterm::event::KeyCode::Esc,
                crossterm::event::KeyModifiers::NONE,
            )
        })
}
