//! Live VNC preview throughput and cost: `cargo bench --bench vnc`.
//!
//! Opens a [`Preview`] over TCP to a KVM guest on qemu:///system and draws it into a ratatui
//! `TestBackend` at 80x24 on every wake, for `VIRTDECK_VNC_SECS` seconds (default 10) per
//! scenario. Reported: frames applied/s (updates published to the UI), full frames
//! received/s (pixels / screen area), frames drawn/s, mean draw time, and this process's CPU
//! time over the window (utime + stime from /proc/self/stat, all threads) as % of one core.
//!
//! QEMU paces VNC updates itself: its refresh timer runs every 30 ms while the guest draws and
//! backs off by 50 ms per quiet tick (up to 3 s), and a full-frame request is answered on the
//! next tick. On the tiny guest's static SeaBIOS screen, full refresh therefore gets only a
//! few frames a second whatever the client asks. The worst case for the preview is measured
//! on an "animated" boot sector instead ([`ANIMATED_ASM`]) that rewrites every character and
//! colour of the 80x25 text screen 100 times a second, with full refresh on top:
//! - animated, full refresh, 20 fps cap (default): target ≥ 10 frames/s applied and drawn,
//!   ≤ 100 % of one core;
//! - animated, full refresh, no practical cap (1000 fps), and incremental: info;
//! - tiny guest (static screen), full refresh: info (QEMU-paced);
//! - tiny guest, incremental (what the UI does on an idle guest): target ≤ 1 % of a core.
//!
//! Needs KVM and nasm: run `scripts/lab.sh` first.

#[allow(dead_code)]
#[path = "support/report.rs"]
mod report;

use std::process::Command;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use report::{print_table, row, Row};
use virt::connect::Connect;
use virtdeck::vnc::widget::PreviewWidget;
use virtdeck::vnc::{Options, Preview, PreviewStatus, Transport};

const URI: &str = "qemu:///system";

/// Boot sector: 80x25 text mode, no cursor, PIT at 100 Hz; on every tick rewrite all 2000
/// cells with characters and colours that shift by one each frame.
const ANIMATED_ASM: &str = r"
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    mov al, 0x36            ; PIT channel 0, lo/hi byte, square wave
    out 0x43, al
    mov ax, 11932           ; 1193182 Hz / 11932 = 100 Hz
    out 0x40, al
    mov al, ah
    out 0x40, al
    sti
    mov ax, 0x0003
    int 0x10
    mov ah, 0x01
    mov cx, 0x2000
    int 0x10
    mov ax, 0xb800
    mov es, ax
    xor bx, bx
frame:
    hlt
    inc bx
    xor di, di
    mov cx, 2000
cell:
    mov ax, di
    add ax, bx
    mov ah, al
    shr ah, 1
    stosw
    loop cell
    jmp frame
times 510-($-$$) db 0
dw 0xaa55
";

/// A tiny guest (tests/guest/tiny.xml) booting `asm`, defined and started for the run,
/// destroyed and undefined on drop. Like the tests' helper, without their hostile name.
struct Guest {
    uuid: String,
    port: String,
    _dir: tempfile::TempDir,
}

impl Guest {
    fn start(tag: &str, asm: Option<&str>) -> Result<Guest, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let disk = dir.path().join("tiny.img");
        let asm = match asm {
            Some(text) => {
                let file = dir.path().join("boot.asm");
                std::fs::write(&file, text).map_err(|e| e.to_string())?;
                file
            }
            None => concat!(env!("CARGO_MANIFEST_DIR"), "/tests/guest/tiny.asm").into(),
        };
        let out = Command::new("nasm")
            .args(["-f", "bin", "-o"])
            .arg(&disk)
            .arg(asm)
            .output()
            .map_err(|e| format!("nasm: {e}"))?;
        if !out.status.success() {
            return Err(format!("nasm: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let xml = include_str!("../tests/guest/tiny.xml")
            .replace(
                "@NAME@",
                &format!("vdbench-vnc-{tag}-{}", std::process::id()),
            )
            .replace(
                "@DISK@",
                &quick_xml::escape::escape(disk.to_string_lossy().as_ref()),
            );
        let conn = Connect::open(Some(URI)).map_err(|e| e.to_string())?;
        let dom = conn.define_domain_xml(&xml).map_err(|e| e.to_string())?;
        let mut g = Guest {
            uuid: dom.uuid_string().map_err(|e| e.to_string())?,
            port: String::new(),
            _dir: dir,
        };
        dom.create().map_err(|e| e.to_string())?;
        let xml = dom.xml_desc(0).map_err(|e| e.to_string())?;
        g.port = xml
            .split_once("<graphics type='vnc' port='")
            .and_then(|(_, r)| r.split_once('\''))
            .map(|(p, _)| p.to_string())
            .ok_or("no VNC port in the domain XML")?;
        Ok(g)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(conn) = Connect::open(Some(URI)) {
            if let Ok(dom) = conn.lookup_domain_by_uuid_string(&self.uuid) {
                let _ = dom.destroy();
                let _ = dom.undefine();
            }
        }
    }
}

/// CPU seconds (user + system, all threads) used by this process so far.
fn cpu_seconds() -> f64 {
    let ticks = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name in parentheses; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|s| s.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / ticks
}

struct Measured {
    applied: f64,
    full_frames: f64,
    drawn: f64,
    draw_ms: f64,
    cpu: f64,
}

fn measure(port: &str, opts: Options, secs: u64) -> Result<Measured, String> {
    let (tx, rx) = mpsc::channel::<()>();
    let p = Preview::new(Arc::new(move || {
        let _ = tx.send(());
    }));
    p.start(Transport::Tcp(format!("127.0.0.1:{port}")), None, opts);
    let until = Instant::now() + Duration::from_secs(15);
    let (w, h) = loop {
        match p.status() {
            PreviewStatus::Live { width, height } if p.frames() > 0 => break (width, height),
            PreviewStatus::Failed(m) => return Err(m),
            _ if Instant::now() > until => return Err("no frame within 15 s".into()),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let mut term = Terminal::new(TestBackend::new(80, 24)).map_err(|e| e.to_string())?;
    // Warm up for a second, then measure.
    let warm = Instant::now() + Duration::from_secs(1);
    while Instant::now() < warm {
        let _ = rx.recv_timeout(Duration::from_millis(50));
        let _ = p.cells(80, 24);
    }
    let (f0, px0, cpu0, t0) = (p.frames(), p.pixels(), cpu_seconds(), Instant::now());
    let end = t0 + Duration::from_secs(secs);
    let (mut draws, mut draw_time) = (0u64, Duration::ZERO);
    while Instant::now() < end {
        if rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
            .is_err()
        {
            continue;
        }
        let d0 = Instant::now();
        term.draw(|f| {
            let cells = p.cells(80, 24);
            f.render_widget(PreviewWidget(&cells), f.area());
        })
        .map_err(|e| e.to_string())?;
        draw_time += d0.elapsed();
        draws += 1;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let area = f64::from(w) * f64::from(h);
    let m = Measured {
        applied: (p.frames() - f0) as f64 / wall,
        full_frames: (p.pixels() - px0) as f64 / area / wall,
        drawn: draws as f64 / wall,
        draw_ms: if draws > 0 {
            draw_time.as_secs_f64() * 1e3 / draws as f64
        } else {
            0.0
        },
        cpu: cpu / wall * 100.0,
    };
    if let PreviewStatus::Failed(msg) = p.status() {
        return Err(msg);
    }
    p.close();
    Ok(m)
}

/// Which targets a scenario is held to.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    None,
    /// ≥ 10 frames/s applied and drawn with ≤ 1 core.
    Throughput,
    /// An idle screen costs ≤ 1 % of a core.
    Idle,
}

fn rows_for(label: &str, m: &Measured, t: Target, rows: &mut Vec<Row>) {
    let fps = (t == Target::Throughput).then_some("≥ 10");
    let check = |on: Option<&str>, ok: bool| on.map(|_| ok);
    rows.push(row(
        format!("{label}: frames applied/s"),
        format!("{:.1}", m.applied),
        fps.unwrap_or(""),
        check(fps, m.applied >= 10.0),
    ));
    rows.push(row(
        format!("{label}: full frames received/s"),
        format!("{:.1}", m.full_frames),
        "",
        None,
    ));
    rows.push(row(
        format!("{label}: frames drawn/s (80x24)"),
        format!("{:.1}", m.drawn),
        fps.unwrap_or(""),
        check(fps, m.drawn >= 10.0),
    ));
    rows.push(row(
        format!("{label}: mean draw"),
        format!("{:.2} ms", m.draw_ms),
        "",
        None,
    ));
    let (cpu_target, cpu_ok) = match t {
        Target::None => ("", None),
        Target::Throughput => ("≤ 100 %", Some(m.cpu <= 100.0)),
        Target::Idle => ("≤ 1 %", Some(m.cpu <= 1.0)),
    };
    rows.push(row(
        format!("{label}: CPU"),
        format!("{:.1} % of a core", m.cpu),
        cpu_target,
        cpu_ok,
    ));
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    virtdeck::host::ensure_event_loop();
    let kvm = Connect::open(Some(URI))
        .and_then(|c| c.capabilities())
        .is_ok_and(|caps| caps.contains("domain type='kvm'"));
    if !kvm {
        eprintln!("vnc bench: needs {URI} with KVM (run scripts/lab.sh)");
        std::process::exit(1);
    }
    let secs = std::env::var("VIRTDECK_VNC_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    match run(secs) {
        Ok(rows) => print_table(&rows),
        Err(e) => {
            eprintln!("vnc bench failed: {e}");
            std::process::exit(1);
        }
    }
}

fn run(secs: u64) -> Result<Vec<Row>, String> {
    let opts = |max_fps, full_refresh| Options {
        max_fps,
        full_refresh,
    };
    // Both boot at once (SeaBIOS takes ~5 s).
    let animated = Guest::start("animated", Some(ANIMATED_ASM))?;
    let tiny = Guest::start("tiny", None)?;
    std::thread::sleep(Duration::from_secs(8));
    let mut rows = Vec::new();
    let mut go = |label: &str, g: &Guest, o: Options, t: Target| -> Result<(), String> {
        eprintln!("vnc bench: {label} for {secs} s");
        let m = measure(&g.port, o, secs)?;
        rows_for(label, &m, t, &mut rows);
        Ok(())
    };
    go(
        "animated, full refresh, 20 fps",
        &animated,
        opts(20, true),
        Target::Throughput,
    )?;
    go(
        "animated, full refresh, no cap",
        &animated,
        opts(1000, true),
        Target::None,
    )?;
    go(
        "animated, incremental, 20 fps",
        &animated,
        opts(20, false),
        Target::None,
    )?;
    // The animated guest's QEMU must not compete with the idle measurements.
    drop(animated);
    go(
        "static, full refresh, 20 fps",
        &tiny,
        opts(20, true),
        Target::None,
    )?;
    go(
        "static, incremental, 20 fps",
        &tiny,
        opts(20, false),
        Target::Idle,
    )?;
    Ok(rows)
}
