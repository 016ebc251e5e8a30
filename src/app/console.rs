//! The serial console view: open, force, detach, scroll, and re-attach when the guest comes
//! back after a stop.

use crate::app::PaneId;
use crossterm::event::KeyEvent;

use super::toast::Level;
use super::{App, Effect, View};
use crate::config::keymap::{Action, Key, Section};
use crate::console::{keys, Link, LinkState};
use crate::host::HostCommand;
use crate::model::HostId;

/// The console screen and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleView {
    pub host: HostId,
    pub uuid: String,
    pub name: String,
    pub link: Link,
    /// Lines scrolled back (0 = live).
    pub scroll: usize,
    /// Domain id when the stream was opened: a new id after the stream ended means a new QEMU
    /// process, so attaching again is safe (the old console did not get taken over).
    pub attached_id: Option<u32>,
    pub back: Box<View>,
}

/// Rows and columns a fresh console starts with before the first draw fits it.
const INITIAL: (u16, u16) = (24, 80);

/// Opens the console of the VM under the cursor (VM table) or on screen (detail view).
pub fn open(app: &mut App) -> Vec<Effect> {
    let Some((host, uuid)) = app.focused_vm() else {
        return Vec::new();
    };
    let now = app.now;
    let Some(h) = app.host(host) else {
        return Vec::new();
    };
    let Some(vm) = h.vms.iter().find(|v| v.uuid == uuid) else {
        return Vec::new();
    };
    if app.settings.readonly {
        app.messages.push(
            Level::Error,
            "read-only mode (--readonly): libvirt does not open consoles on read-only connections",
            now,
        );
        return Vec::new();
    }
    if let Some(p) = super::lifecycle::host_problem(h) {
        app.messages
            .push(Level::Error, format!("console: {p}"), now);
        return Vec::new();
    }
    let link = Link::new(INITIAL.0, INITIAL.1);
    let active = vm.state.is_active();
    let view = ConsoleView {
        host,
        uuid: uuid.clone(),
        name: vm.name.clone(),
        link: link.clone(),
        scroll: 0,
        attached_id: vm.id,
        back: Box::new(app.view.clone()),
    };
    app.view = View::Console(Box::new(view));
    if active {
        vec![console_cmd(host, uuid, false, link)]
    } else {
        link.set_state(LinkState::Waiting);
        Vec::new()
    }
}

fn console_cmd(host: HostId, uuid: String, force: bool, link: Link) -> Effect {
    Effect::Host(host, HostCommand::Console { uuid, force, link })
}

pub fn key(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    let id = current_id(app);
    let View::Console(cv) = &mut app.view else {
        return Vec::new();
    };
    let key = Key::from_event(&ev);
    let attached = cv.link.is_attached();
    let section = if attached {
        Section::Console
    } else {
        Section::ConsoleIdle
    };
    let page = cv.link.with_screen(0, |s| s.size().0 as usize).max(2) - 1;
    match app.keymap.action(section, key) {
        Some(Action::Detach) | Some(Action::Back) => {
            cv.link.detach();
            let back = std::mem::replace(&mut cv.back, Box::new(View::Pane(PaneId::Vms)));
            app.view = *back;
        }
        Some(Action::PageUp) => cv.scroll += page,
        Some(Action::PageDown) => cv.scroll = cv.scroll.saturating_sub(page),
        Some(Action::Up) => cv.scroll += 1,
        Some(Action::Down) => cv.scroll = cv.scroll.saturating_sub(1),
        Some(Action::ForceConsole) | Some(Action::Retry) if !attached => {
            let force = app.keymap.action(section, key) == Some(Action::ForceConsole);
            cv.link.set_state(LinkState::Opening);
            cv.attached_id = id;
            return vec![console_cmd(
                cv.host,
                cv.uuid.clone(),
                force,
                cv.link.clone(),
            )];
        }
        Some(Action::Quit) => return vec![Effect::Quit],
        _ if attached => {
            if let Some(bytes) = keys::encode(&ev, cv.link.application_cursor()) {
                // Typing jumps back to the live screen, as terminals do.
                cv.scroll = 0;
                cv.link.send(bytes);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The console VM's current domain id.
fn current_id(app: &App) -> Option<u32> {
    let View::Console(cv) = &app.view else {
        return None;
    };
    app.host(cv.host)?
        .vms
        .iter()
        .find(|v| v.uuid == cv.uuid)?
        .id
}

/// After every message: a stream that ended because the guest stopped waits for it, and a
/// guest that is running again (new QEMU process) gets its console back without a keypress.
pub fn follow(app: &mut App) -> Vec<Effect> {
    let View::Console(cv) = &app.view else {
        return Vec::new();
    };
    let vm = app
        .host(cv.host)
        .and_then(|h| h.vms.iter().find(|v| v.uuid == cv.uuid))
        .map(|v| (v.state.is_active(), v.id));
    let (active, id) = vm.unwrap_or((false, None));
    let reachable = app
        .host(cv.host)
        .is_some_and(|h| super::lifecycle::host_problem(h).is_none());
    match cv.link.state() {
        LinkState::Ended(why) if !active => {
            cv.link.feed(
                format!("\r\n\x1b[7m[virtdeck: {why}; the guest is off, waiting for it to start]\x1b[0m\r\n")
                    .as_bytes(),
            );
            cv.link.set_state(LinkState::Waiting);
        }
        LinkState::Ended(_) if active && id != cv.attached_id && reachable => {
            return reattach(app, id);
        }
        LinkState::Waiting if active && reachable => return reattach(app, id),
        _ => {}
    }
    Vec::new()
}

fn reattach(app: &mut App, id: Option<u32>) -> Vec<Effect> {
    let View::Console(cv) = &mut app.view else {
        return Vec::new();
    };
    cv.attached_id = id;
    cv.link.set_state(LinkState::Opening);
    cv.link
        .feed(b"\r\n\x1b[7m[virtdeck: guest started, console attached again]\x1b[0m\r\n");
    vec![console_cmd(
        cv.host,
        cv.uuid.clone(),
        false,
        cv.link.clone(),
    )]
}
pub struct ConsolePane;

/// Keys reach the console as raw events (`key`): unbound ones go to the guest.
impl super::panes::Pane for ConsolePane {
    fn on_action(&self, _app: &mut App, _action: Action) -> Vec<Effect> {
        Vec::new()
    }

    fn hints(&self, app: &App) -> &'static [(Action, &'static str)] {
        match &app.view {
            View::Console(c) if c.link.is_attached() => &[
                (Action::Detach, "detach"),
                (Action::PageUp, "scroll back"),
                (Action::PageDown, "scroll forward"),
            ],
            _ => &[
                (Action::Back, "back"),
                (Action::ForceConsole, "take over"),
                (Action::Retry, "retry"),
                (Action::PageUp, "scroll back"),
            ],
        }
    }
}
