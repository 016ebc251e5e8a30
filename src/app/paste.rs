//! A paste (the terminal's bracketed paste: one event however long) goes into the focused
//! text input in one step. Where nothing takes text it is dropped with a note: pasted text
//! must never act as keys (a `y` or an Enter in it would answer a question).

use super::detail::XmlStage;
use super::toast::Level;
use super::{App, Effect, Mode, View};

pub fn handle(app: &mut App, text: &str) -> Vec<Effect> {
    let now = app.now;
    let line = Cleaned::one_line(text);
    let note = match &mut app.mode {
        Mode::AddHost(f) => {
            f.focused().insert_str(&line.text);
            f.error = None;
            line.note()
        }
        Mode::Palette(_) => {
            super::palette::paste(app, &line.text);
            line.note()
        }
        Mode::Filter => {
            let filter = format!("{}{}", app.vms.filter_text, line.text);
            app.set_filter(filter);
            line.note()
        }
        Mode::Confirm(super::Confirm {
            command: None,
            typed: Some((_, typed)),
            ..
        }) => {
            typed.push_str(&line.text);
            line.note()
        }
        Mode::Wizard(w) => match w.paste(&line.text) {
            true => {
                let (host, spec) = (w.host, w.spec.clone());
                let ctx = super::wizard::context(app, host, spec.as_ref());
                if let Mode::Wizard(w) = &mut app.mode {
                    super::wizard::refresh(w, &ctx);
                }
                line.note()
            }
            false => Some(IGNORED),
        },
        Mode::Normal => match &mut app.view {
            View::Detail { host, uuid } if app.detail.editing(*host, uuid) => {
                match &mut app.detail.editor {
                    Some(ed) if ed.stage == XmlStage::Editing => {
                        let lines = Cleaned::lines(text);
                        ed.text.insert_str(&lines.text);
                        lines.note()
                    }
                    _ => Some(IGNORED),
                }
            }
            View::Console(cv) if cv.link.is_attached() => {
                cv.scroll = 0;
                let guest = Cleaned::lines(text);
                // A terminal sends Enter as CR, and wraps the paste when the guest asked.
                let mut bytes = guest.text.replace('\n', "\r").into_bytes();
                if cv.link.with_screen(0, |s| s.bracketed_paste()) {
                    bytes.splice(0..0, *b"\x1b[200~");
                    bytes.extend_from_slice(b"\x1b[201~");
                }
                cv.link.send(bytes);
                guest.note()
            }
            _ => Some(IGNORED),
        },
        Mode::Help { .. } | Mode::Log { .. } | Mode::Confirm(_) | Mode::Display(_) => Some(IGNORED),
    };
    if let Some(n) = note {
        app.messages.push(Level::Info, n, now);
    }
    Vec::new()
}

const IGNORED: &str = "paste ignored: no text field has focus";

/// Pasted text made fit for a field, and what had to change.
#[derive(Debug, PartialEq)]
struct Cleaned {
    text: String,
    /// Line breaks replaced by spaces (one-line fields).
    joined: bool,
    /// Control characters removed (an ESC would reach the screen or the guest's terminal).
    stripped: bool,
}

impl Cleaned {
    /// For multi-line inputs: CR LF and CR become LF; tabs stay; other controls go.
    fn lines(text: &str) -> Cleaned {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let kept: String = text
            .chars()
            .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
            .collect();
        Cleaned {
            stripped: kept.len() != text.len(),
            text: kept,
            joined: false,
        }
    }

    /// For one-line inputs: trailing line breaks dropped, inner ones and tabs become spaces.
    fn one_line(text: &str) -> Cleaned {
        let multi = Cleaned::lines(text);
        let trimmed = multi.text.trim_end_matches('\n');
        Cleaned {
            joined: trimmed.len() != multi.text.len() || trimmed.contains('\n'),
            text: trimmed.replace(['\n', '\t'], " "),
            stripped: multi.stripped,
        }
    }

    fn note(&self) -> Option<&'static str> {
        match (self.joined, self.stripped) {
            (false, false) => None,
            (true, false) => Some("pasted as one line (line breaks became spaces)"),
            (false, true) => Some("pasted without its control characters"),
            (true, true) => Some("pasted as one line, without line breaks and control characters"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cleaned;
    use crate::app::storage::pool_wizard as pool;
    use crate::app::tests::{app, press};
    use crate::app::wizard::Input;
    use crate::app::{add_host::HostForm, Confirm, ConfirmAction, Mode, Msg};
    use crate::host::LifecycleOp;
    use crate::model::HostId;

    fn toasted(a: &crate::app::App, what: &str) -> bool {
        a.messages.toasts.iter().any(|m| m.text.contains(what))
    }

    #[test]
    fn a_paste_goes_whole_into_the_add_host_form_as_one_line() {
        let mut a = app();
        a.push_overlay(Mode::AddHost(Box::default()));
        let uri = "qemu+ssh://root@kvm2.example/system";
        // Long enough to have come in several terminal reads; Enter in it must not save.
        let long = format!("{uri}?keyfile=/root/.ssh/{}", "k".repeat(10_000));
        a.update(Msg::Paste(format!("{long}\r")));
        let Mode::AddHost(f) = &a.mode else {
            panic!("the paste closed the form: {:?}", a.mode)
        };
        assert_eq!(f.uri_text(), long);
        assert_eq!(f.uri.lines().len(), 1);
        assert!(toasted(&a, "pasted as one line"));

        // Into the name field, with an inner line break.
        let mut f = HostForm::default();
        f.next_field();
        a.push_overlay(Mode::AddHost(Box::new(f)));
        a.update(Msg::Paste("kvm\r\n2".into()));
        let Mode::AddHost(f) = &a.mode else { panic!() };
        assert_eq!(f.name_text(), "kvm 2");
    }

    #[test]
    fn a_paste_into_the_filter_line_filters() {
        let mut a = app();
        press(&mut a, "/");
        a.update(Msg::Paste("web\n".into()));
        assert_eq!(a.mode, Mode::Filter, "the newline did not close the filter");
        assert_eq!(a.vms.filter_text, "web");
        assert_eq!(a.vms.rows.len(), 3);
    }

    #[test]
    fn a_paste_goes_into_the_focused_wizard_field_only() {
        let mut a = app();
        let mut w = pool::new(HostId(0));
        w.focus = w.fields.iter().position(|f| f.key == "name").unwrap();
        a.push_overlay(Mode::Wizard(Box::new(w)));
        a.update(Msg::Paste("fast\tpool\n".into()));
        let Mode::Wizard(w) = &mut a.mode else {
            panic!()
        };
        assert_eq!(w.field("name").unwrap().value(), "fast pool");
        // On a choice a paste is not a key press.
        w.focus = w
            .fields
            .iter()
            .position(|f| matches!(f.input, Input::Choice { .. }))
            .unwrap();
        let before = w.field(w.fields[w.focus].key).unwrap().value();
        a.update(Msg::Paste(" l ".into()));
        let Mode::Wizard(w) = &a.mode else { panic!() };
        assert_eq!(w.fields[w.focus].value(), before);
        assert!(toasted(&a, "paste ignored"));
    }

    #[test]
    fn a_paste_never_answers_a_question_or_acts_as_keys() {
        let mut a = app();
        let ask = Confirm {
            command: None,
            title: "Force off?".into(),
            body: Vec::new(),
            typed: None,
            action: ConfirmAction::Lifecycle {
                op: LifecycleOp::ForceOff,
                targets: Vec::new(),
            },
        };
        a.push_overlay(Mode::Confirm(ask.clone()));
        assert!(a.update(Msg::Paste("y\r".into())).is_empty());
        assert_eq!(a.mode, Mode::Confirm(ask.clone()));
        // A typed confirmation takes the text, but Enter still has to be pressed.
        a.mode = Mode::Confirm(Confirm {
            command: None,
            typed: Some(("db-01".into(), String::new())),
            ..ask
        });
        assert!(a.update(Msg::Paste("db-01\r".into())).is_empty());
        let Mode::Confirm(c) = &a.mode else { panic!() };
        assert_eq!(c.typed, Some(("db-01".into(), "db-01".into())));
        // The VM table: `q` or `F` in a paste do nothing.
        a.pop_overlay();
        assert!(a.update(Msg::Paste("qF*".into())).is_empty());
        assert_eq!(a.mode, Mode::Normal);
        assert!(a.vms.marks.is_empty());
        assert!(toasted(&a, "paste ignored"));
    }

    /// The guest's end of a console: a socket pair.
    struct Guest(std::os::unix::net::UnixStream);

    impl crate::console::ConsoleIo for Guest {
        fn recv(&self, buf: &mut [u8]) -> Result<usize, String> {
            use std::io::Read;
            (&self.0).read(buf).map_err(|e| e.to_string())
        }
        fn send(&self, data: &[u8]) -> Result<usize, String> {
            use std::io::Write;
            (&self.0).write(data).map_err(|e| e.to_string())
        }
        fn abort(&self) {
            let _ = self.0.shutdown(std::net::Shutdown::Both);
        }
    }

    #[test]
    fn a_paste_in_the_console_goes_to_the_guest_as_a_terminal_sends_it() {
        use std::io::Read;
        let (ours, mut guest) = std::os::unix::net::UnixStream::pair().unwrap();
        let link = crate::console::Link::new(24, 80);
        link.attach(std::sync::Arc::new(Guest(ours)));
        // The guest's shell asked for bracketed paste.
        link.feed(b"\x1b[?2004h$ ");
        let mut a = app();
        a.view = crate::app::View::Console(Box::new(crate::app::console::ConsoleView {
            host: HostId(0),
            uuid: "uuid-web-01".into(),
            name: "web-01".into(),
            link,
            scroll: 5,
            attached_id: Some(1),
            back: Box::new(crate::app::View::Pane(crate::app::PaneId::Vms)),
        }));
        a.update(Msg::Paste("ls\n\x1b[201~rm -rf /\r\n".into()));
        let want = b"\x1b[200~ls\r[201~rm -rf /\r\x1b[201~";
        guest
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < want.len() {
            let n = guest.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        let crate::app::View::Console(cv) = &a.view else {
            panic!()
        };
        assert_eq!(cv.scroll, 0, "back to the live screen");
    }

    #[test]
    fn one_line_fields_get_no_line_breaks() {
        let c = Cleaned::one_line("qemu+ssh://h/system\r\n");
        assert_eq!(c.text, "qemu+ssh://h/system");
        assert!(c.joined && !c.stripped);
        let c = Cleaned::one_line("a\rb\nc\td\x1b[1m");
        assert_eq!(c.text, "a b c d[1m");
        assert!(c.joined && c.stripped);
        assert_eq!(Cleaned::one_line("plain").note(), None);
    }

    #[test]
    fn multi_line_inputs_keep_lines_and_tabs() {
        let c = Cleaned::lines("<a>\r\n\t<b/>\r</a>\x07");
        assert_eq!(c.text, "<a>\n\t<b/>\n</a>");
        assert!(c.stripped && !c.joined);
    }
}
