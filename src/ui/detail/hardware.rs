//! The Hardware tab: settings and devices, one row each; the selected row's details below,
//! with what the persistent definition will change at the next boot.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::detail::items::{describe, hw_items, HwItem};
use crate::app::App;
use crate::host::vm::VmDetails;
use crate::sanitize;

/// What the host calls a host device row's device (its vendor and product), once the
/// host's device list is known.
fn hostdev_name(app: &App, d: &VmDetails, item: HwItem) -> Option<String> {
    let HwItem::Other(i) = item else {
        return None;
    };
    let o = d.hardware.other.get(i).filter(|o| o.kind == "hostdev")?;
    let crate::app::View::Detail { host, .. } = &app.view else {
        return None;
    };
    let devs = app.host(*host)?.hostdevs.as_ref()?.as_ref().ok()?;
    let node = crate::xml::tree::parse(&o.xml, "hostdev").ok()?;
    devs.describe(&crate::xml::hostdev::spec_of(&node)?)
}

pub fn render(app: &App, f: &mut Frame, area: Rect, d: &VmDetails) {
    let t = &app.theme;
    let [list_area, info_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(6)]).areas(area);
    let items = hw_items(&d.hardware);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(
                " Hardware ({}{}) ",
                if d.active { "live" } else { "shut off" },
                if d.next_boot.is_some() {
                    "; ⟳ marks changes waiting for the next boot"
                } else {
                    ""
                }
            ),
            t.title,
        ));
    let inner = block.inner(list_area);
    f.render_widget(block, list_area);
    let rows = inner.height as usize;
    app.detail.page.set(rows.max(1));
    let sel = app.detail.hw_sel.min(items.len().saturating_sub(1));
    let first = sel.saturating_sub(rows.saturating_sub(1));
    app.hits
        .list(crate::app::hitmap::List::Hardware, inner, first);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, item)| {
            let (label, mut value) = describe(&d.hardware, d.autostart, *item);
            if let Some(name) = hostdev_name(app, d, *item) {
                value = format!("{value} ({name})");
            }
            let pending = pending(d, *item);
            // Values come from the definition: titles, descriptions, paths, names.
            let mut spans = vec![
                Span::raw(format!(" {label:<22} ")),
                Span::raw(sanitize::text(&value).into_owned()),
            ];
            if let Some(p) = pending {
                spans.push(Span::styled(
                    format!("  ⟳ {}", sanitize::text(&p)),
                    t.pending,
                ));
            }
            let line = Line::from(spans);
            if i == sel {
                line.style(t.selected)
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    let info: Vec<Line> = items
        .get(sel)
        .map(|i| info(d, *i))
        .unwrap_or_default()
        .into_iter()
        .map(|l| Line::from(sanitize::text(&l).into_owned()))
        .collect();
    f.render_widget(
        Paragraph::new(info).style(t.dim).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border),
        ),
        info_area,
    );
}

/// The persistent definition's value where it differs from the running one.
fn pending(d: &VmDetails, item: HwItem) -> Option<String> {
    let next = d.next_boot.as_ref()?;
    match item {
        HwItem::Title
        | HwItem::Description
        | HwItem::Vcpus
        | HwItem::Memory
        | HwItem::Boot
        | HwItem::Firmware => {
            let now = describe(&d.hardware, d.autostart, item).1;
            let then = describe(next, d.autostart, item).1;
            (now != then).then_some(then)
        }
        _ => None,
    }
}

/// Details and the keys that act on the selected row (unsanitised: they quote the definition).
fn info(d: &VmDetails, item: HwItem) -> Vec<String> {
    let hw = &d.hardware;
    let mut out = Vec::new();
    match item {
        HwItem::Disk(i) => {
            if let Some(x) = hw.disks.get(i) {
                out.push(format!(
                    "{} {} · {} · bus {} · driver {} {} · cache {} · io {}",
                    x.device,
                    x.target,
                    x.source.label(),
                    x.bus.as_deref().unwrap_or("-"),
                    x.driver.as_deref().unwrap_or("-"),
                    x.format.as_deref().unwrap_or("-"),
                    x.cache.as_deref().unwrap_or("default"),
                    x.io.as_deref().unwrap_or("default"),
                ));
                out.push(String::from(if x.device == "cdrom" {
                    "e: insert or eject media · D: detach the drive"
                } else {
                    "e: grow the disk (running guest) · D: detach"
                }));
            }
        }
        HwItem::Nic(i) => {
            if let Some(n) = hw.nics.get(i) {
                out.push(format!(
                    "{} {} · model {} · mac {} · {}",
                    n.kind,
                    n.source.as_deref().unwrap_or("-"),
                    n.model.as_deref().unwrap_or("-"),
                    n.mac.as_deref().unwrap_or("-"),
                    n.target_dev.as_deref().unwrap_or("no host device"),
                ));
                out.push(String::from("D: detach · A: attach another"));
            }
        }
        HwItem::Name => out.push(String::from("e: rename (shut-off VMs only)")),
        HwItem::Title | HwItem::Description => {
            out.push(String::from("e: change (live and/or persistent)"))
        }
        HwItem::Vcpus => out.push(format!(
            "placement {} · e: change the count (setvcpus) and the maximum",
            hw.vcpus.placement.as_deref().unwrap_or("-")
        )),
        HwItem::Memory => out.push(String::from(
            "e: change the balloon target (live) and the boot-time maximum",
        )),
        HwItem::Boot => out.push(format!(
            "firmware {} · e: change the boot device order",
            hw.os.firmware_label()
        )),
        HwItem::Firmware => {
            let os = &hw.os;
            match &os.loader {
                Some(l) => out.push(format!(
                    "loader {} ({}{}{})",
                    l.path.as_deref().unwrap_or("chosen by libvirt"),
                    l.kind.as_deref().unwrap_or("rom"),
                    if l.readonly == Some(true) {
                        ", read-only"
                    } else {
                        ""
                    },
                    if l.secure == Some(true) {
                        ", secure"
                    } else {
                        ""
                    },
                )),
                None if os.uefi() => {
                    out.push("loader chosen by libvirt at start (firmware auto-selection)".into())
                }
                None => out.push("SeaBIOS (QEMU's default)".into()),
            }
            if os.uefi() {
                out.push(format!(
                    "NVRAM {}{}",
                    os.nvram
                        .as_deref()
                        .unwrap_or("made from the template at the first start"),
                    os.nvram_template
                        .as_deref()
                        .map(|t| format!(" · template {t}"))
                        .unwrap_or_default()
                ));
            }
            out.push(
                "E edits the whole definition (firmware is chosen when the VM is created)".into(),
            );
        }
        HwItem::Autostart => out.push(String::from("e or a: toggle")),
        HwItem::Other(i) => {
            if let Some(o) = hw.other.get(i) {
                out.push(format!("{} · {}", o.kind, o.summary));
                out.push(String::from("D: detach · E edits the whole definition"));
            }
        }
        HwItem::CharDev(_) => out.push(String::from("D: detach · E edits the whole definition")),
        _ => out.push(String::from("E edits the whole definition")),
    }
    out.push(format!(
        "A attaches a device (disk, NIC, RNG, virtiofs…) · applies {}",
        d.scope().label()
    ));
    out
}
