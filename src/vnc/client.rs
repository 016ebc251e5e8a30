//! The VNC session: vnc-rs on its own thread with a tokio current-thread runtime.
//!
//! One task drives everything with `select!` (vnc-rs' `recv_event` holds the client's lock,
//! so input is sent only while no receive is pending). Update requests go out on a
//! `1/max_fps` grid, and only after the previous one was answered (an incremental request
//! stays pending at the server until something changes, so an idle guest costs nothing but a
//! re-request every [`IDLE_REREQUEST`]). Applied rectangles are published to the UI (one
//! wake) just before the next request, once they pause for [`SETTLE`].

use std::panic::AssertUnwindSafe;
use std::sync::Weak;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
use vnc::{PixelFormat, VncClient, VncConnector, VncEncoding, VncError, VncEvent, X11Event};

use super::frame::{PixelLayout, Rect};
use super::{Cmd, Options, PreviewStatus, Shared, Transport};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Re-send an unanswered incremental request this often, in case the server dropped it.
const IDLE_REREQUEST: Duration = Duration::from_secs(1);
/// Publish after rectangles stopped arriving this long, so one update is one wake...
const SETTLE: Duration = Duration::from_millis(5);
/// ...but no later than this (or a period) after the first one.
const SETTLE_MAX: Duration = Duration::from_millis(50);

pub(super) fn spawn(
    shared: Weak<Shared>,
    t: Transport,
    password: Option<String>,
    opts: Options,
    cmds: UnboundedReceiver<Cmd>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("vnc-preview".into())
        .spawn(move || {
            let run = AssertUnwindSafe(|| run(&shared, t, password, opts, cmds));
            let result = match std::panic::catch_unwind(run) {
                Ok(r) => r,
                Err(_) => Err("the VNC session crashed".to_string()),
            };
            if let (Err(msg), Some(s)) = (result, shared.upgrade()) {
                s.set_status(PreviewStatus::Failed(msg));
            }
        })
        .map(|_| ())
}

/// Ok when closed by the UI (or every handle dropped), Err(message) on failure.
fn run(
    shared: &Weak<Shared>,
    t: Transport,
    password: Option<String>,
    opts: Options,
    mut cmds: UnboundedReceiver<Cmd>,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the VNC session: {e}"))?;
    rt.block_on(async {
        let slow = format!(
            "the VNC server did not answer within {}s",
            CONNECT_TIMEOUT.as_secs()
        );
        let client = tokio::select! {
            c = tokio::time::timeout(CONNECT_TIMEOUT, connect(t, password)) => c.map_err(|_| slow)??,
            () = closed(&mut cmds) => return Ok(()),
        };
        let result = session(shared, &client, opts, &mut cmds).await;
        let _ = client.close().await;
        result
    })
    // Dropping the runtime cancels vnc-rs' tasks, which closes the socket.
}

/// Resolves when the UI closes the preview (keys before the session is live are dropped).
async fn closed(cmds: &mut UnboundedReceiver<Cmd>) {
    while let Some(Cmd::Keys(_)) = cmds.recv().await {}
}

async fn connect(t: Transport, password: Option<String>) -> Result<VncClient, String> {
    match t {
        Transport::Tcp(addr) => {
            let tcp = tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(|e| format!("cannot connect to the VNC server at {addr}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            handshake(tcp, password).await
        }
        Transport::Fd(fd) => {
            let sock = std::os::unix::net::UnixStream::from(fd);
            let sock = sock
                .set_nonblocking(true)
                .and_then(|()| tokio::net::UnixStream::from_std(sock))
                .map_err(|e| format!("cannot use the graphics socket: {e}"))?;
            handshake(sock, password).await
        }
    }
}

async fn handshake<S>(stream: S, password: Option<String>) -> Result<VncClient, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    let mut c = VncConnector::new(stream)
        .allow_shared(true)
        .set_pixel_format(PixelFormat::bgra())
        // ZRLE first: compact over a network, cheap to decode. No Tight: it may send JPEG.
        .add_encoding(VncEncoding::Zrle)
        .add_encoding(VncEncoding::CopyRect)
        .add_encoding(VncEncoding::Raw)
        .add_encoding(VncEncoding::DesktopSizePseudo);
    if let Some(pw) = password {
        c = c.set_auth_method(std::future::ready(Ok(pw)));
    }
    let started = async { c.build()?.try_start().await?.finish() };
    started.await.map_err(|e| match e {
        VncError::WrongPassword => "VNC authentication failed: wrong password".to_string(),
        VncError::NoPassword => "the VNC server asks for a password".to_string(),
        VncError::General(reason) => format!("VNC handshake failed: {}", clean(&reason)),
        e => format!("VNC handshake failed: {e}"),
    })
}

/// What an event did to the picture.
enum Applied {
    Nothing,
    Pixels,
    Resized,
}

async fn session(
    shared: &Weak<Shared>,
    client: &VncClient,
    opts: Options,
    cmds: &mut UnboundedReceiver<Cmd>,
) -> Result<(), String> {
    let period = Duration::from_secs(1) / opts.max_fps.max(1);
    let mut layout = PixelLayout::BGRX;
    // vnc-rs asked for the first full frame itself.
    let mut last_request = Instant::now();
    let mut answered = false;
    let mut full_next = false;
    // First and last rectangle applied since the last publish.
    let mut unpublished: Option<(Instant, Instant)> = None;
    let mut sized = false;
    loop {
        let next = match unpublished {
            // Wait for a pause in the rectangles, within bounds.
            Some((first, last)) => {
                (last_request + period).max((last + SETTLE).min(first + period.max(SETTLE_MAX)))
            }
            None if answered => last_request + period,
            None => last_request + IDLE_REREQUEST,
        };
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Keys(keys)) => {
                    for (sym, down) in keys {
                        let ev = X11Event::KeyEvent((sym, down).into());
                        client.input(ev).await.map_err(|e| lost(&e))?;
                    }
                }
                Some(Cmd::Close) | None => return Ok(()),
            },
            ev = client.recv_event() => {
                let ev = ev.map_err(|e| lost(&e))?;
                let Some(s) = shared.upgrade() else { return Ok(()) };
                match apply(&s, ev, &mut layout)? {
                    Applied::Nothing => {}
                    Applied::Pixels => {
                        answered = true;
                        let now = Instant::now();
                        unpublished = Some((unpublished.map_or(now, |u| u.0), now));
                    }
                    Applied::Resized => {
                        // The first size comes with the server greeting; later ones leave
                        // the pixels undefined until a full update.
                        if sized {
                            full_next = true;
                            answered = true;
                        }
                        sized = true;
                        // Not a frame: the status change wakes the UI.
                        let (width, height) = s.size();
                        s.set_status(PreviewStatus::Live { width, height });
                    }
                }
            },
            () = tokio::time::sleep_until(next) => {
                if unpublished.take().is_some() {
                    let Some(s) = shared.upgrade() else { return Ok(()) };
                    s.publish();
                }
                let ev = if opts.full_refresh || full_next {
                    X11Event::FullRefresh
                } else {
                    X11Event::Refresh
                };
                client.input(ev).await.map_err(|e| lost(&e))?;
                // Keep requests on a fixed grid (QEMU answers on its own 30 ms timer, so
                // "period after the last send" would drift below max_fps); restart it after
                // a pause.
                let now = Instant::now();
                last_request = if now < last_request + 2 * period {
                    last_request + period
                } else {
                    now
                };
                answered = false;
                full_next = false;
            },
        }
    }
}

fn lost(e: &VncError) -> String {
    match e {
        VncError::ClientNotRunning => "the VNC server closed the connection".to_string(),
        e => format!("VNC connection lost: {e}"),
    }
}

/// A server-supplied text made safe for the UI: no control characters (QEMU even ends its
/// reason with a NUL), bounded length.
fn clean(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    s.trim().to_string()
}

fn rect(r: &vnc::Rect) -> Rect {
    Rect::new(r.x, r.y, r.width, r.height)
}

fn apply(s: &Shared, ev: VncEvent, layout: &mut PixelLayout) -> Result<Applied, String> {
    let bad = |e: String| format!("bad data from the VNC server: {e}");
    Ok(match ev {
        VncEvent::SetResolution(screen) => {
            s.resize(screen.width, screen.height);
            Applied::Resized
        }
        VncEvent::DesktopUpdate(u) => match u.layout {
            Some(l) if (l.width, l.height) != s.size() => {
                s.resize(l.width, l.height);
                Applied::Resized
            }
            // Same size: vnc-rs says the pixels are kept.
            _ => Applied::Nothing,
        },
        VncEvent::SetPixelFormat(pf) => {
            *layout = pixel_layout(&pf).map_err(bad)?;
            Applied::Nothing
        }
        VncEvent::RawImage(r, data) => {
            s.put(rect(&r), &data, layout).map_err(bad)?;
            Applied::Pixels
        }
        VncEvent::Copy(dst, src) => {
            s.copy(rect(&dst), rect(&src)).map_err(bad)?;
            Applied::Pixels
        }
        VncEvent::Error(msg) => return Err(format!("VNC error: {}", clean(&msg))),
        // Not requested (JPEG needs Tight) or not part of the picture.
        _ => Applied::Nothing,
    })
}

fn pixel_layout(pf: &PixelFormat) -> Result<PixelLayout, String> {
    if pf.true_color_flag == 0 {
        return Err("colour-map pixel formats are not supported".into());
    }
    Ok(PixelLayout {
        bytes_per_pixel: pf.bits_per_pixel / 8,
        big_endian: pf.big_endian_flag != 0,
        channels: [
            (pf.red_max, pf.red_shift),
            (pf.green_max, pf.green_shift),
            (pf.blue_max, pf.blue_shift),
        ],
    })
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
