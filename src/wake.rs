//! How a thread that works for the UI (a console link, a transfer, a VNC preview) tells it
//! to redraw: one callback type for all of them, set by the runtime (it sends `Msg::Wake`).

use std::sync::Arc;

pub type Wake = Arc<dyn Fn() + Send + Sync>;
