//! Render snapshots of the console view and the display panel on the demo fleet (the test
//! driver has no consoles: its refusal is one of the snapshots; guest output is fed in).

mod common;

use std::time::Duration;
use virtdeck::app::PaneId;

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use virtdeck::app::requests::Owner;
use virtdeck::app::{App, Mode, Msg, View};
use virtdeck::console::LinkState;
use virtdeck::host::{DisplayInfo, HostEvent, Reply};

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t
}

fn screen(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
}

/// The demo fleet filtered to one running VM.
fn on_vm(name: &str) -> common::Live {
    let mut live = common::demo();
    live.press("/");
    live.type_text(name);
    live.press("<Enter>");
    assert_eq!(live.app.vms.rows.len(), 1, "{name} is unique");
    live
}

fn link(app: &App) -> virtdeck::console::Link {
    match &app.view {
        View::Console(c) => c.link.clone(),
        v => panic!("not on the console: {v:?}"),
    }
}

#[test]
fn console_refused_by_the_driver_shows_libvirts_reason() {
    let mut live = on_vm("gitlab-runner-01");
    live.press("c");
    let l = link(&live.app);
    let ok = live.pump_until(Duration::from_secs(10), |_| {
        matches!(l.state(), LinkState::Failed(_))
    });
    assert!(ok, "{:?}", l.state());
    insta::assert_snapshot!(screen(&live.app, 100, 20));
    // Esc goes back to the table.
    live.press("<Esc>");
    assert_eq!(live.app.view, View::Pane(PaneId::Vms));
}

#[test]
fn console_with_output_colours_scrollback_and_resize() {
    let mut live = on_vm("gitlab-runner-01");
    live.press("c");
    let l = link(&live.app);
    live.pump_until(Duration::from_secs(10), |_| l.state() != LinkState::Opening);
    // Pretend the guest talked: a boot log longer than the screen, with colours.
    l.set_state(LinkState::Attached);
    for i in 0..40 {
        l.feed(format!("[  {i:>2}.000000] booting step {i}\r\n").as_bytes());
    }
    l.feed(b"\x1b[1;32mOK\x1b[0m Reached target \x1b[1mMulti-User System\x1b[0m.\r\nlogin: ");
    let t = draw(&live.app, 80, 16);
    insta::assert_snapshot!("console_live_80x16", t.backend().to_string());
    // "OK" is green in the drawn buffer (row 14 = 1 title + 13th screen line).
    let buf = t.backend().buffer();
    let ok_cell = (0..16)
        .flat_map(|y| (0..80).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "O" && buf[(x + 1, y)].symbol() == "K")
        .expect("OK drawn");
    // SGR 32 is palette colour 2 (green), drawn as such so the terminal's palette applies.
    assert_eq!(buf[ok_cell].fg, Color::Indexed(2));
    // Shift+PageUp scrolls back (the keys are not sent to the guest) and says so.
    live.press("<S-PageUp>");
    let s = screen(&live.app, 80, 16);
    assert!(s.contains("lines back"), "{s}");
    // A page is the screen height less one line of overlap: 13 of 14 rows.
    assert!(
        s.contains("↑ 13 lines back") && s.contains("booting step 15"),
        "{s}"
    );
    live.press("<S-PageDown>");
    assert!(!screen(&live.app, 80, 16).contains("lines back"));
    // The parser follows the pane size.
    draw(&live.app, 100, 30);
    assert_eq!(l.with_screen(0, |s| s.size()), (28, 100));
    // Ctrl+] (sent by terminals as 0x1d, which crossterm reports as Ctrl+5) detaches.
    live.press("<C-5>");
    assert_eq!(live.app.view, View::Pane(PaneId::Vms));
    assert_eq!(l.state(), LinkState::Detached);
}

#[test]
fn console_in_use_offers_to_take_it_over() {
    let mut live = on_vm("gitlab-runner-01");
    live.press("c");
    let l = link(&live.app);
    live.pump_until(Duration::from_secs(10), |_| l.state() != LinkState::Opening);
    l.fail("operation failed: Active console session exists for this domain".into());
    insta::assert_snapshot!(screen(&live.app, 100, 20));
    // `f` asks the worker again with force (the test driver then refuses for its own reason).
    live.press("f");
    let ok = live.pump_until(
        Duration::from_secs(10),
        |_| matches!(l.state(), LinkState::Failed(e) if e.contains("virDomainOpenConsole")),
    );
    assert!(ok, "{:?}", l.state());
}

#[test]
fn console_on_a_stopped_vm_waits_for_it() {
    let mut live = on_vm("kali");
    live.press("c");
    assert_eq!(link(&live.app).state(), LinkState::Waiting);
    insta::assert_snapshot!(screen(&live.app, 100, 20));
}

fn display(live: &mut common::Live, xml: &str, secure: bool) {
    live.press("v");
    let Mode::Display(p) = &live.app.mode else {
        panic!("display panel opens: {:?}", live.app.mode);
    };
    let (host, uuid) = (p.host, p.uuid.clone());
    // The test driver's domains have no graphics: answer as a real host would.
    let graphics = virtdeck::display::parse(xml, secure).unwrap();
    let id = live
        .app
        .requests
        .find(&Owner::Display { uuid })
        .expect("the panel's request");
    live.app.update(Msg::Host(
        host,
        HostEvent::Reply {
            id,
            reply: Reply::Display(Ok(DisplayInfo {
                graphics,
                active: true,
            })),
        },
    ));
}

const EXPOSED: &str = "<domain><devices>\
    <graphics type='vnc' port='5901' autoport='yes' listen='0.0.0.0'><listen type='address' address='0.0.0.0'/></graphics>\
    <graphics type='spice' port='5902' tlsPort='5903' autoport='yes' passwd='x'><listen type='address' address='127.0.0.1'/></graphics>\
    </devices></domain>";

#[test]
fn display_panel_warns_about_an_open_vnc_and_shows_the_tunnel() {
    let mut live = on_vm("gitlab-runner-01");
    display(&mut live, EXPOSED, true);
    let s = screen(&live.app, 110, 24);
    assert!(
        s.contains("⚠ VNC listens on all addresses without a password"),
        "{s}"
    );
    insta::assert_snapshot!(s);
    // Tab selects the SPICE device; `y` copies its URL through OSC 52.
    live.press("<Tab>");
    let fx = live.app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('y'),
        crossterm::event::KeyModifiers::NONE,
    )));
    assert!(
        fx.iter().any(|e| matches!(e, virtdeck::app::Effect::Copy(u) if u.starts_with("spice://") && u.ends_with(":5902"))),
        "{fx:?}"
    );
    live.press("<Esc>");
    assert_eq!(live.app.mode, Mode::Normal);
}

#[test]
fn display_panel_for_a_vm_without_graphics() {
    let mut live = on_vm("gitlab-runner-01");
    display(&mut live, "<domain><devices/></domain>", true);
    insta::assert_snapshot!(screen(&live.app, 100, 16));
}

/// A domain definer's shell syntax in a socket path and a listen address (QEMU accepts both).
/// The payloads create `pwn` in the current directory.
const HOSTILE: &str = "<domain><devices>\
    <graphics type='vnc'><listen type='socket' socket='/var/lib/libvirt/qemu/x;touch pwn;.sock'/></graphics>\
    <graphics type='vnc' port='5901' autoport='no' listen='$(touch pwn)' passwd='x'/>\
    </devices></domain>";

/// The text a key copies (OSC 52), if any.
fn copied(live: &mut common::Live, key: char) -> Option<String> {
    let fx = live.app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(key),
        crossterm::event::KeyModifiers::NONE,
    )));
    fx.into_iter().find_map(|e| match e {
        virtdeck::app::Effect::Copy(t) => Some(t),
        _ => None,
    })
}

/// Runs `line` with `sh -c` in a fresh directory whose stub `ssh` (first on PATH) writes its
/// name and arguments one per line. Returns them and whether `pwn` appeared.
fn run_with_stub_ssh(line: &str) -> (Vec<String>, bool) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("ssh");
    std::fs::write(
        &stub,
        "#!/bin/sh\nfor a in \"${0##*/}\" \"$@\"; do printf '%s\\n' \"$a\"; done > \"$VIRTDECK_ARGV\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let argv = dir.path().join("argv");
    let parse = std::process::Command::new("sh")
        .args(["-n", "-c", line])
        .status()
        .unwrap();
    assert!(parse.success(), "sh -n refuses {line:?}");
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("VIRTDECK_ARGV", &argv)
        .status()
        .unwrap();
    assert!(st.success(), "{line:?}: {st}");
    let got = std::fs::read_to_string(&argv)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (got, dir.path().join("pwn").exists())
}

#[test]
fn display_panel_flags_shell_syntax_and_copies_only_quoted_lines() {
    let mut live = on_vm("gitlab-runner-01");
    display(&mut live, HOSTILE, true);
    let s = screen(&live.app, 130, 24);
    assert!(s.contains("⚠ the socket path"), "{s}");
    assert!(s.contains("⚠ the listen address"), "{s}");
    insta::assert_snapshot!(s);
    // `Y` copies the tunnel of the socket device: one quoted argument, the payload inert.
    let line = copied(&mut live, 'Y').expect("a tunnel line for the socket");
    let hostname = live.app.hosts[0]
        .info
        .as_ref()
        .map(|i| i.hostname.clone())
        .unwrap();
    let (argv, pwned) = run_with_stub_ssh(&line);
    assert_eq!(
        argv,
        [
            "ssh",
            "-N",
            "-L",
            "5900:/var/lib/libvirt/qemu/x;touch pwn;.sock",
            hostname.as_str()
        ],
        "{line}"
    );
    assert!(!pwned, "{line} ran the payload");
    // The device with the hostile listen address: no URL and no line to copy, and the
    // refusal says why.
    live.press("<Tab>");
    assert_eq!(copied(&mut live, 'y'), None);
    assert_eq!(copied(&mut live, 'Y'), None);
    let last = &live.app.messages.toasts.back().unwrap().text;
    assert!(last.contains("not an IP address or host name"), "{last}");
}
