//! Render snapshots of the dashboard, the VM detail charts, the add-host form and a host that
//! stopped answering. The demo fleet (test driver) gives hosts and VMs; the metrics the test
//! driver cannot produce are fed as polls with fixed numbers, so the pictures are stable.

mod common;

use std::time::{Duration, Instant};
use virtdeck::app::PaneId;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, Mode, Msg, View};
use virtdeck::host::HostEvent;
use virtdeck::model::{
    Counter, IoCounters, LocalDisk, LocalMachine, NodeCpu, NodeMemory, NodeSample, PoolUsage,
    Snapshot, Vm,
};

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

const GIB_KIB: u64 = 1024 * 1024;

/// Feeds `polls` polls 2 s apart to every host: host `i` runs at a CPU load that climbs with
/// `i`, memory fills up, and running VMs read, write and send at steady rates with a wave on
/// top. Returns the time of the last poll.
fn feed(app: &mut App, polls: u32) -> Instant {
    let t0 = app.now;
    let mut at = t0;
    let mut idle = vec![0u64; app.hosts.len()];
    for k in 0..polls {
        at = t0 + Duration::from_secs(2 * u64::from(k));
        for i in 0..app.hosts.len() {
            let h = &app.hosts[i];
            let wave = (f64::from(k) / 3.0).sin().abs();
            let busy = [0.35, 0.78, 0.97][i % 3] * (0.95 + 0.05 * wave);
            let step = 2_000_000_000u64 * 64;
            let node = NodeSample {
                cpu: Some(NodeCpu {
                    total_ns: step * u64::from(k),
                    idle_ns: {
                        if k > 0 {
                            idle[i] += ((step as f64) * (1.0 - busy)) as u64;
                        }
                        idle[i]
                    },
                }),
                memory: Some(NodeMemory {
                    total_kib: 512 * GIB_KIB,
                    available_kib: (512 - [100, 430, 500][i % 3]) * GIB_KIB,
                }),
                pools: (k == 0).then(|| {
                    vec![
                        PoolUsage {
                            name: "default".into(),
                            capacity: 1 << 40,
                            allocation: [300u64, 900, 1000][i % 3] << 30,
                            available: (1u64 << 40) - ([300u64, 900, 1000][i % 3] << 30),
                        },
                        PoolUsage {
                            name: "iso <&'\">".into(),
                            capacity: 200 << 30,
                            allocation: 20 << 30,
                            available: 180 << 30,
                        },
                    ]
                }),
                local: (i == 0).then(|| LocalMachine {
                    load: [1.25, 0.9, 0.5],
                    cpus: 8,
                    mem_total: 32 << 30,
                    mem_used: 12 << 30,
                    disks: vec![LocalDisk {
                        mount: "/".into(),
                        total: 500 << 30,
                        available: 200 << 30,
                    }],
                }),
            };
            let vms = h
                .vms
                .iter()
                .map(|v| {
                    let mut v = Vm::clone(v);
                    if v.state.is_active() {
                        // The balloon the worker reported may still change after connect
                        // (the demo's overlay): charts are drawn from the definition's maximum.
                        v.memory_kib = v.max_memory_kib;
                        let kk = u64::from(k);
                        let w = (wave * 1000.0) as u64;
                        v.cpu_time_ns =
                            Some(kk * 2_000_000_000 * u64::from(v.vcpus) / 3 + w * 1_000_000);
                        v.io = IoCounters::default()
                            .with(Counter::RssKib, Some(v.memory_kib / 2 + w * 100))
                            .with(Counter::DiskRdBytes, Some((kk * 8) << 20))
                            .with(Counter::DiskWrBytes, Some(kk * (2 << 20) + w * 4096))
                            .with(Counter::DiskRdReqs, Some(kk * 400))
                            .with(Counter::DiskWrReqs, Some(kk * 100 + w))
                            .with(Counter::NetRxBytes, Some(kk * (3 << 20) + w * 2048))
                            .with(Counter::NetTxBytes, Some(kk * (1 << 20)));
                    }
                    v
                })
                .collect();
            let id = h.id;
            app.update(Msg::Host(
                id,
                HostEvent::Snapshot(Snapshot {
                    vms: virtdeck::model::shared(vms),
                    taken_at: at,
                    receipt: Default::default(),
                    node: Some(node),
                }),
            ));
        }
    }
    app.update(Msg::Tick(at));
    at
}

fn demo_with_metrics(polls: u32) -> common::Live {
    let mut live = common::demo();
    // Toasts from connecting would cover part of the picture.
    live.app.messages.toasts.clear();
    // A real poll that came in while the demo connected (a slow machine: more than one)
    // would sit in the charts before the fed ones.
    for h in &mut live.app.hosts {
        h.clear_histories();
    }
    feed(&mut live.app, polls);
    live
}

#[test]
fn dashboard_with_thresholds_and_history() {
    let mut live = demo_with_metrics(40);
    live.app.view = View::Pane(PaneId::Dashboard);
    insta::assert_snapshot!("dashboard_160x40", screen(&live.app, 160, 40));
    insta::assert_snapshot!("dashboard_80x24", screen(&live.app, 80, 24));
    // Sorted by load: the busiest host (red) comes first and the cursor stays on its host.
    live.press("o");
    assert_eq!(live.app.dash.sort, virtdeck::app::dashboard::DashSort::Load);
    insta::assert_snapshot!("dashboard_by_load", screen(&live.app, 120, 30));
}

#[test]
fn dashboard_levels_follow_thresholds() {
    use ratatui::style::Color;
    let mut live = demo_with_metrics(10);
    live.app.view = View::Pane(PaneId::Dashboard);
    let mut t = Terminal::new(TestBackend::new(160, 40)).unwrap();
    t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    let buf = t.backend().buffer().clone();
    // Row y of each host in name order (under the header); the CPU cell starts at x = 18.
    let cpu_fg = |y: u16| buf[(20, y)].fg;
    assert_eq!(cpu_fg(3), Color::Green, "35% is below warn (70)");
    assert_eq!(cpu_fg(4), Color::Rgb(0xff, 0xaf, 0x00), "75% is amber");
    assert_eq!(cpu_fg(5), Color::Red, "95% is red");
    // Lower thresholds turn the first host amber.
    live.app.settings.thresholds.cpu.warn = 20.0;
    t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    assert_eq!(
        t.backend().buffer()[(20, 3)].fg,
        Color::Rgb(0xff, 0xaf, 0x00)
    );
}

/// The demo after `polls` polls, on db-primary's detail (found with `/`).
fn db_primary_detail(polls: u32) -> common::Live {
    let mut live = demo_with_metrics(polls);
    live.app.view = View::Pane(PaneId::Vms);
    live.press("/");
    live.type_text("db-primary");
    live.press("<Enter>");
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Detail { .. }));
    live
}

#[test]
fn vm_detail_charts() {
    let mut live = db_primary_detail(60);
    insta::assert_snapshot!("vm_detail_120x40", screen(&live.app, 120, 40));
    insta::assert_snapshot!("vm_detail_80x24", screen(&live.app, 80, 24));
    live.press("<Esc>");
    assert_eq!(live.app.view, View::Pane(PaneId::Vms));
}

/// Past the fine part of the window (2 minutes), older polls are folded four to a point:
/// the chart still spans the whole 10 minutes, and a VM's history stays about 2 KiB.
#[test]
fn vm_detail_charts_span_the_window_after_folding() {
    let live = db_primary_detail(400);
    let s = screen(&live.app, 120, 40);
    let cpu = s
        .lines()
        .find(|l| l.contains("-10m"))
        .expect("x axis of the first chart");
    // A braille cell with at least one dot (U+2800 is the blank one).
    let dots = |c: char| ('\u{2801}'..='\u{28ff}').contains(&c);
    let plot: Vec<&str> = s
        .lines()
        .filter(|l| l.contains('⠀') || l.chars().any(dots))
        .collect();
    assert!(!plot.is_empty(), "{s}");
    // The first plotted column (just right of the y axis) has a reading: 10 minutes back.
    let leftmost = plot.iter().any(|l| {
        let after_axis = l.split('│').nth(2).unwrap_or("");
        after_axis.chars().next().is_some_and(dots)
    });
    assert!(leftmost, "{cpu}\n{s}");
    for h in &live.app.hosts {
        for hist in h.histories() {
            assert_eq!(hist.cpu().len(), 300);
            assert!(hist.bytes() <= 1_024, "{}", hist.bytes());
        }
    }
}

#[test]
fn vm_table_shows_rates() {
    let live = demo_with_metrics(3);
    let mut app = live;
    app.app.view = View::Pane(PaneId::Vms);
    let s = screen(&app.app, 160, 30);
    // 8 MiB read + 2 MiB written per 2 s poll, 3 MiB received + 1 MiB sent.
    let row = s.lines().find(|l| l.contains("db-primary")).unwrap();
    assert!(row.contains(" 4.0M/"), "{row}");
    assert!(row.contains("/512K"), "{row}");
    insta::assert_snapshot!("vm_table_rates_160x30", s);
}

#[test]
fn stalled_host_shows_not_responding_and_stale() {
    let mut live = demo_with_metrics(3);
    live.app.view = View::Pane(PaneId::Dashboard);
    let id = live.app.hosts[1].id;
    live.app.update(Msg::Host(
        id,
        HostEvent::Stalled {
            for_: Duration::from_secs(5),
        },
    ));
    let later = live.app.now + Duration::from_secs(7);
    live.app.update(Msg::Tick(later));
    let s = screen(&live.app, 120, 20);
    let row = s.lines().find(|l| l.contains("kvm-prod-02")).unwrap();
    assert!(row.contains("not responding for 12s"), "{s}");
    live.app.messages.toasts.clear();
    insta::assert_snapshot!("dashboard_stalled", s);
    live.app.update(Msg::Host(id, HostEvent::Resumed));
    let s = screen(&live.app, 120, 20);
    assert!(!s.contains("not responding"), "{s}");
}

#[test]
fn add_host_form() {
    let mut live = demo_with_metrics(1);
    live.app.view = View::Pane(PaneId::Dashboard);
    live.press("n");
    assert!(matches!(live.app.mode, Mode::AddHost(_)));
    live.type_text("qemu+ssh://root@kvm-<&'\">/sytem");
    insta::assert_snapshot!("form_invalid", screen(&live.app, 100, 24));
    for _ in 0..5 {
        live.press("<Backspace>");
    }
    live.type_text("system");
    live.press("<Tab>");
    live.type_text("edge ü");
    insta::assert_snapshot!("form_valid", screen(&live.app, 100, 24));
}

/// `--ascii` (or TERM=linux): the dashboard and a VM's charts drawn only with what the Linux
/// console's font has, in the 16-colour console theme.
#[test]
fn ascii_dashboard_and_vm_detail() {
    let mut live = demo_with_metrics(40);
    live.app.settings.ascii = true;
    live.app.theme = virtdeck::config::theme::Theme::load("console", None).unwrap();
    let console_font = |s: &str| {
        s.chars().all(|c| {
            c.is_ascii() || ('\u{a0}'..='\u{ff}').contains(&c) || "─│┌┐└┘├┤┬┴┼░▒▓█▄▀▌▐".contains(c)
        })
    };
    live.app.view = View::Pane(PaneId::Dashboard);
    let dash = screen(&live.app, 100, 30);
    assert!(console_font(&dash), "{dash}");
    insta::assert_snapshot!("ascii_dashboard_100x30", dash);
    live.app.view = View::Pane(PaneId::Vms);
    live.press("/");
    live.type_text("db-primary");
    live.press("<Enter>");
    live.press("<Enter>");
    let detail = screen(&live.app, 100, 30);
    assert!(console_font(&detail), "{detail}");
    insta::assert_snapshot!("ascii_vm_detail_100x30", detail);
}
