//! The live VNC preview view: opened from the display panel, keyboard forwarding on demand.

use crossterm::event::KeyEvent;

use super::display::{DisplayPanel, PanelState};
use super::toast::Level;
use super::{App, Effect, View};
use crate::config::keymap::{Action, Key, Section};
use crate::display::{Password, Protocol};
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
    /// 1:1 pixels from `origin` (the frame's top-left pixel shown) instead of fit-to-screen.
    pub native: bool,
    pub origin: (u16, u16),
    /// The body's size in cells at the last draw (the view sets it), to keep panning inside
    /// the frame.
    pub body: std::cell::Cell<(u16, u16)>,
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
    if g.kind != Protocol::Vnc || !info.active {
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
    app.pop_overlay();
    app.view = View::Preview(Box::new(PreviewView {
        host: p.host,
        uuid: p.uuid.clone(),
        name: p.name.clone(),
        target: target.clone(),
        forward: false,
        native: false,
        origin: (0, 0),
        body: std::cell::Cell::new((0, 0)),
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
        Some(Action::Zoom) => pv.native = !pv.native,
        Some(a @ (Action::Left | Action::Right | Action::Up | Action::Down)) if pv.native => {
            // A tenth of an 80×25 console's width or height per key.
            let (dx, dy) = match a {
                Action::Left => (-PAN_X, 0),
                Action::Right => (PAN_X, 0),
                Action::Up => (0, -PAN_Y),
                _ => (0, PAN_Y),
            };
            pv.origin = (
                pv.origin.0.saturating_add_signed(dx),
                pv.origin.1.saturating_add_signed(dy),
            );
            if let crate::vnc::PreviewStatus::Live { width, height } = pv.target.preview.status() {
                let (cols, rows) = pv.body.get();
                pv.origin = window(pv, (width, height), cols, rows);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Pixels one pan key moves the 1:1 window (the view clamps it to the frame when drawn).
const PAN_X: i16 = 72;
const PAN_Y: i16 = 40;

/// Where the 1:1 window starts for a frame of `size` and a body of `cols` × `rows` cells,
/// kept inside the frame; the view remembers it so panning back starts from what was shown.
pub fn window(pv: &PreviewView, size: (u16, u16), cols: u16, rows: u16) -> (u16, u16) {
    crate::vnc::frame::clamp_origin(
        size.0,
        size.1,
        i32::from(pv.origin.0),
        i32::from(pv.origin.1),
        cols,
        rows,
    )
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
pub struct PreviewPane;

/// Keys reach the preview as raw events (`key`): with forwarding on they go to the guest.
impl super::panes::Pane for PreviewPane {
    fn on_action(&self, _app: &mut App, _action: Action) -> Vec<Effect> {
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Back, "close"),
            (Action::ToggleKeys, "keyboard to guest on/off"),
            (Action::Zoom, "fit / 1:1"),
        ]
    }
}
