//! A libvirt lifecycle event as the events pane keeps it: which domain, what happened, when.

use std::time::SystemTime;

/// One lifecycle event of one domain (`VIR_DOMAIN_EVENT_*` and its detail).
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleEvent {
    pub uuid: String,
    pub event: i32,
    pub detail: i32,
    pub at: SystemTime,
}

impl LifecycleEvent {
    /// `started`, `stopped (crashed)`…: libvirt's event and, where it says more, its detail.
    pub fn label(&self) -> String {
        let (what, details): (&str, &[&str]) = match self.event {
            0 => ("defined", &["added", "updated", "renamed", "from snapshot"]),
            1 => ("undefined", &["removed", "renamed"]),
            2 => (
                "started",
                &[
                    "booted",
                    "migrated in",
                    "restored",
                    "from snapshot",
                    "woken up",
                ],
            ),
            3 => (
                "paused",
                &[
                    "by request",
                    "migrating",
                    "I/O error",
                    "watchdog",
                    "restored",
                    "snapshot",
                    "API error",
                    "post-copy",
                    "post-copy failed",
                ],
            ),
            4 => (
                "resumed",
                &[
                    "by request",
                    "migrated",
                    "from snapshot",
                    "post-copy",
                    "post-copy failed",
                ],
            ),
            5 => (
                "stopped",
                &[
                    "shut down",
                    "destroyed",
                    "crashed",
                    "migrated away",
                    "saved",
                    "failed",
                    "from snapshot",
                ],
            ),
            6 => ("shut down", &["finished", "by guest", "by host"]),
            7 => ("suspended to memory", &["memory", "disk"]),
            8 => ("crashed", &["panicked", "crash loaded"]),
            _ => return format!("event {} ({})", self.event, self.detail),
        };
        match usize::try_from(self.detail)
            .ok()
            .and_then(|d| details.get(d))
        {
            Some(d) => format!("{what} ({d})"),
            None => what.to_string(),
        }
    }

    /// Crashes, I/O-error pauses and failed stops stand out in the pane.
    pub fn is_bad(&self) -> bool {
        matches!(
            (self.event, self.detail),
            (8, _) | (5, 2) | (5, 5) | (3, 2) | (3, 3) | (3, 6)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: i32, detail: i32) -> LifecycleEvent {
        LifecycleEvent {
            uuid: "u".into(),
            event,
            detail,
            at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn labels_name_the_event_and_its_detail() {
        assert_eq!(ev(2, 0).label(), "started (booted)");
        assert_eq!(ev(5, 2).label(), "stopped (crashed)");
        assert_eq!(ev(3, 2).label(), "paused (I/O error)");
        assert_eq!(ev(6, 99).label(), "shut down");
        assert_eq!(ev(42, 1).label(), "event 42 (1)");
        assert_eq!(ev(2, -1).label(), "started");
        assert!(ev(8, 0).is_bad() && ev(5, 2).is_bad() && !ev(2, 0).is_bad());
    }
}
