//! The XML tab's editor: the persistent definition in a textarea (or in `$EDITOR` through the
//! runtime), a line diff against the definition it started from, a confirm, then `DefineXml`.
//! When libvirt refuses, the editor reopens with its error and the text as typed.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::{Tab, View};
use crate::app::toast::Level;
use crate::app::{App, Effect};
use crate::config::keymap::Action;
use crate::host::vm::{VmCmd, VmDetails, VmOp};
use crate::host::{HostCommand, RequestId};
use crate::model::HostId;
use crate::xml::edit::{diff, DiffLine};

#[derive(Clone, Debug, PartialEq)]
pub enum XmlStage {
    Editing,
    /// The diff shown before redefining.
    Review {
        diff: Vec<DiffLine>,
        scroll: usize,
    },
    /// Sent; the answer carries this id.
    Waiting(RequestId),
    /// `e` found an earlier edit kept (closed with Esc, perhaps refused by libvirt): continue
    /// it, or discard it for the current definition. Never reopened without asking.
    Resume,
}

#[derive(Clone, Debug)]
pub struct XmlEditor {
    pub host: HostId,
    pub uuid: String,
    pub text: TextArea<'static>,
    /// The definition the edit started from: the diff's left side.
    pub base: String,
    pub stage: XmlStage,
    /// Closed with Esc: the text is kept and `e` brings it back (while `base` is current).
    pub open: bool,
    /// libvirt's answer to the last redefinition.
    pub error: Option<String>,
}

impl XmlEditor {
    fn new(host: HostId, uuid: &str, base: &str, text: &str) -> XmlEditor {
        let mut t = TextArea::new(text.lines().map(str::to_string).collect());
        t.set_cursor_line_style(ratatui::style::Style::default());
        XmlEditor {
            host,
            uuid: uuid.to_string(),
            text: t,
            base: base.to_string(),
            stage: XmlStage::Editing,
            open: true,
            error: None,
        }
    }

    pub fn content(&self) -> String {
        let mut s = self.text.lines().join("\n");
        s.push('\n');
        s
    }
}

/// What the XML tab shows: the persistent definition, else (transient VM) the live one.
pub fn shown_xml(d: &VmDetails) -> &str {
    d.inactive_xml
        .as_deref()
        .or(d.live_xml.as_deref())
        .unwrap_or("")
}

/// `e` on the XML tab: reopen the kept edit if it still applies, else start from the
/// current definition.
pub fn open(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let base = shown_xml(d).to_string();
    match &mut app.detail.editor {
        Some(ed) if ed.host == host && ed.uuid == d.uuid && ed.base == base => {
            ed.open = true;
            if !matches!(ed.stage, XmlStage::Waiting(_)) {
                ed.stage = if ed.content() == base {
                    XmlStage::Editing
                } else {
                    XmlStage::Resume
                };
            }
        }
        _ => app.detail.editor = Some(XmlEditor::new(host, &d.uuid, &base, &base)),
    }
    app.detail.tab = Tab::Xml;
    Vec::new()
}

/// `E`: the same text in the user's editor (the runtime suspends the screen).
pub fn external(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let text = match &app.detail.editor {
        Some(ed) if ed.host == host && ed.uuid == d.uuid && ed.base == shown_xml(d) => ed.content(),
        _ => shown_xml(d).to_string(),
    };
    vec![Effect::EditExternal {
        host,
        uuid: d.uuid.clone(),
        text,
    }]
}

/// The external editor exited: show the diff (or say nothing changed).
pub fn edited(app: &mut App, host: HostId, uuid: String, result: Result<String, String>) {
    let text = match result {
        Ok(t) => t,
        Err(e) => {
            app.messages
                .push(Level::Error, format!("editor: {e}"), app.now);
            return;
        }
    };
    let Some(base) = app
        .detail
        .cache
        .get(&(host, uuid.clone()))
        .and_then(|c| c.details.as_deref())
        .map(|d| shown_xml(d).to_string())
    else {
        return;
    };
    let mut ed = XmlEditor::new(host, &uuid, &base, &text);
    app.detail.tab = Tab::Xml;
    let d = diff(&base, &text);
    if d.is_empty() {
        app.messages
            .push(Level::Info, "no changes to the definition", app.now);
        ed.open = false;
    } else {
        ed.stage = XmlStage::Review { diff: d, scroll: 0 };
    }
    app.detail.editor = Some(ed);
}

/// Keys while the editor is open: `action` from the xml_edit section, `confirm` from the
/// confirm section (for the diff review).
pub fn key(
    app: &mut App,
    ev: KeyEvent,
    action: Option<Action>,
    confirm: Option<Action>,
) -> Vec<Effect> {
    let View::Detail { host, .. } = app.view.clone() else {
        return Vec::new();
    };
    if action == Some(Action::Quit) {
        return vec![Effect::Quit];
    }
    let Some(ed) = &mut app.detail.editor else {
        return Vec::new();
    };
    match &mut ed.stage {
        XmlStage::Editing => match action {
            Some(Action::Save) => {
                let text = ed.content();
                let d = diff(&ed.base, &text);
                if d.is_empty() {
                    app.messages
                        .push(Level::Info, "no changes to the definition", app.now);
                } else {
                    // The last refusal was about an earlier text: not shown over this diff.
                    ed.error = None;
                    ed.stage = XmlStage::Review { diff: d, scroll: 0 };
                }
            }
            Some(Action::Cancel) => ed.open = false,
            _ => {
                ed.text.input(ev);
            }
        },
        XmlStage::Review { scroll, diff } => match (confirm, ev.code) {
            (Some(Action::Confirm), _) => {
                let xml = ed.content();
                let uuid = ed.uuid.clone();
                let name = app
                    .detail
                    .cache
                    .get(&(host, uuid.clone()))
                    .and_then(|c| c.details.as_ref())
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                let id = super::register(app, host, format!("{name}: redefine"));
                if let Some(ed) = &mut app.detail.editor {
                    ed.stage = XmlStage::Waiting(id);
                    ed.error = None;
                }
                return vec![Effect::Host(
                    host,
                    HostCommand::Vm(VmCmd::Act {
                        id,
                        uuid,
                        op: VmOp::DefineXml { xml },
                    }),
                )];
            }
            (Some(Action::Cancel) | Some(Action::Back), _) => ed.stage = XmlStage::Editing,
            (_, KeyCode::Down | KeyCode::Char('j')) => {
                *scroll = (*scroll + 1).min(diff.len().saturating_sub(1))
            }
            (_, KeyCode::Up | KeyCode::Char('k')) => *scroll = scroll.saturating_sub(1),
            (_, KeyCode::PageDown) => *scroll = (*scroll + 10).min(diff.len().saturating_sub(1)),
            (_, KeyCode::PageUp) => *scroll = scroll.saturating_sub(10),
            _ => {}
        },
        XmlStage::Resume => match (confirm, ev.code) {
            // Going on with a kept draft changes nothing: Enter may answer it.
            (Some(Action::Confirm), _) | (_, KeyCode::Enter) => ed.stage = XmlStage::Editing,
            (_, KeyCode::Char('d')) => {
                let (uuid, base) = (ed.uuid.clone(), ed.base.clone());
                app.detail.editor = Some(XmlEditor::new(host, &uuid, &base, &base));
            }
            (Some(Action::Cancel) | Some(Action::Back), _) => ed.open = false,
            _ => {}
        },
        // The answer closes or reopens the editor; Esc hides it meanwhile.
        XmlStage::Waiting(_) => {
            if action == Some(Action::Cancel) {
                ed.open = false;
            }
        }
    }
    Vec::new()
}
