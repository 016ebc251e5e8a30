//! Dangerous actions as data: the one table of what changes a host, per pane. `--readonly`
//! refuses these here, before the pane sees the key, with the reason; the panes themselves
//! hold no read-only checks.

use super::toast::Level;
use super::App;
use crate::config::keymap::{Action, Section};

use Action as A;

/// Per pane: the actions that change something on a host, and what the refusal calls them.
pub const CHANGES: &[(Section, &[Action], &str)] = &[
    (
        Section::Normal,
        &[
            A::Start,
            A::Shutdown,
            A::Reboot,
            A::Reset,
            A::ForceOff,
            A::Pause,
            A::Resume,
            A::ManagedSave,
            A::ToggleAutostart,
            A::NewVm,
            A::Tags,
            A::Migrate,
            A::DeleteVm,
        ],
        "VM changes",
    ),
    (
        Section::Dashboard,
        &[A::NewVm, A::Evacuate],
        "VM changes and migrations",
    ),
    (
        Section::Detail,
        &[
            A::Edit,
            A::EditExternal,
            A::Attach,
            A::NewItem,
            A::CloneItem,
            A::Backup,
            A::MoveDisk,
            A::ToggleTemplate,
            A::Restore,
            A::SetPassword,
            A::Start,
            A::Shutdown,
            A::Reboot,
            A::Reset,
            A::ForceOff,
            A::Pause,
            A::Resume,
            A::ManagedSave,
            A::ToggleAutostart,
            A::Delete,
            A::Revert,
            A::Migrate,
            A::CancelJob,
        ],
        "VM changes",
    ),
    (Section::XmlEdit, &[A::Save], "VM changes"),
    (
        Section::Pools,
        &[
            A::NewItem,
            A::Start,
            A::Shutdown,
            A::RefreshItem,
            A::Build,
            A::ToggleAutostart,
            A::Undefine,
            A::Wipe,
        ],
        "storage changes",
    ),
    (
        Section::Volumes,
        &[
            A::NewItem,
            A::CloneItem,
            A::Resize,
            A::Wipe,
            A::Upload,
            A::Delete,
            A::CancelJob,
        ],
        "storage changes",
    ),
    (
        Section::Secrets,
        &[A::NewItem, A::SetValue, A::Delete],
        "secret changes",
    ),
    (
        Section::Networks,
        &[
            A::NewItem,
            A::Start,
            A::Shutdown,
            A::ToggleAutostart,
            A::Undefine,
        ],
        "network changes",
    ),
    (
        Section::Migrations,
        &[A::CancelJob, A::Edit, A::PostCopy],
        "migration changes",
    ),
    (Section::Jobs, &[A::CancelJob], "job changes"),
];

/// What `action` changes on `section`'s pane, if anything.
pub fn change(section: Section, action: Action) -> Option<&'static str> {
    CHANGES
        .iter()
        .find(|(s, acts, _)| *s == section && acts.contains(&action))
        .map(|(_, _, what)| *what)
}

/// In read-only mode, refuses a changing action with the reason (true: refused).
pub fn refused(app: &mut App, section: Section, action: Option<Action>) -> bool {
    let Some(what) = action.and_then(|a| change(section, a)) else {
        return false;
    };
    if !app.settings.readonly {
        return false;
    }
    app.messages.push(
        Level::Error,
        format!("read-only mode (--readonly): {what} are disabled"),
        app.now,
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action in the table is bound on its pane in the preset keymap, so the table
    /// cannot drift from the keys (an action only on the table is a typo).
    #[test]
    fn every_changing_action_is_bound_on_its_pane() {
        let km = crate::config::keymap::Keymap::preset();
        for (section, acts, _) in CHANGES {
            for a in *acts {
                assert!(
                    km.key_for(*section, *a).is_some(),
                    "{a:?} is not bound on {section:?}"
                );
            }
        }
    }
}
