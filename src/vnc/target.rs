//! A preview and the slot its wake callback reads, as the host worker hands it to a session.

use std::sync::{Arc, OnceLock};

use super::Preview;

use crate::wake::Wake;

/// A preview and the slot its wake callback reads: the runtime fills the slot (it owns the
/// channel to the UI), the app only holds the handle.
#[derive(Clone)]
pub struct PreviewTarget {
    pub preview: Preview,
    pub wake: Arc<OnceLock<Wake>>,
}

impl PreviewTarget {
    pub fn new() -> PreviewTarget {
        let wake: Arc<OnceLock<Wake>> = Arc::new(OnceLock::new());
        let slot = Arc::clone(&wake);
        let preview = Preview::new(Arc::new(move || {
            if let Some(w) = slot.get() {
                w();
            }
        }));
        PreviewTarget { preview, wake }
    }
}

impl Default for PreviewTarget {
    fn default() -> Self {
        PreviewTarget::new()
    }
}

impl PartialEq for PreviewTarget {
    fn eq(&self, other: &Self) -> bool {
        self.preview == other.preview
    }
}

impl std::fmt::Debug for PreviewTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.preview.fmt(f)
    }
}
