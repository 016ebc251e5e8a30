//! Set a guest user's password (`P`): through the QEMU guest agent of the running VM
//! (`virDomainSetUserPassword`). The password is never shown, logged or kept after sending.

use super::{Layout, Ops, Wizard};
use crate::app::wizard::{check, Field};
use crate::host::vm::{Secret, VmDetails, VmOp};

pub(super) fn fields(d: &VmDetails) -> Layout {
    (
        format!("Set a user's password in {}", d.name),
        vec!["Password"],
        vec![
            Field::text("user", "Guest user", 0, "root"),
            Field::secret("password", "New password", 0)
                .hint("set by the guest agent; the user must exist in the guest"),
        ],
    )
}

pub(super) fn check_form(w: &mut Wizard, d: &VmDetails) {
    let user = w.get("user");
    check(
        w,
        "user",
        if !d.active {
            Err(format!(
                "{} is not running: the agent answers only while it runs",
                d.name
            ))
        } else if !crate::app::detail::has_agent_channel(&d.hardware) {
            Err("the VM has no guest agent channel (org.qemu.guest_agent.0)".into())
        } else if user.trim().is_empty() || user.chars().any(char::is_control) {
            Err("a user name of the guest".into())
        } else {
            Ok(())
        },
    );
    let pw = w.get("password");
    check(
        w,
        "password",
        if pw.is_empty() {
            Err("type the new password".into())
        } else if pw.contains('\n') {
            Err("one line".into())
        } else {
            Ok(())
        },
    );
}

pub(super) fn ops(w: &Wizard) -> Ops {
    let user = w.get("user");
    vec![(
        format!("set the password of {user}"),
        VmOp::SetUserPassword {
            user,
            password: Secret(w.get("password")),
        },
    )]
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened_with, press, type_text, xml_with};
    use crate::app::{Effect, Mode};
    use crate::host::vm::{VmCmd, VmOp};
    use crate::host::HostCommand;

    const AGENT: &str =
        "    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";

    /// The agent is asked once per boot; C-r forgets the answer and asks again.
    #[test]
    fn ctrl_r_asks_the_agent_again() {
        let mut a = opened_with(true, &xml_with(AGENT));
        let asks = |fx: &[Effect]| {
            fx.iter()
                .filter(|e| matches!(e, Effect::Host(_, HostCommand::Vm(VmCmd::GuestInfo { .. }))))
                .count()
        };
        assert_eq!(
            asks(&crate::app::detail::tick(&mut a)),
            1,
            "first tick asks"
        );
        assert_eq!(
            asks(&crate::app::detail::tick(&mut a)),
            0,
            "asked once per boot"
        );
        assert_eq!(asks(&press(&mut a, "<C-r>")), 1, "C-r asks again");
        assert_eq!(asks(&crate::app::detail::tick(&mut a)), 0);
    }

    #[test]
    fn the_password_goes_to_the_agent_and_is_never_shown() {
        let mut a = opened_with(true, &xml_with(AGENT));
        press(&mut a, "P");
        assert!(matches!(a.mode, Mode::Wizard(_)), "{:?}", a.mode);
        press(&mut a, "<Tab>");
        type_text(&mut a, "s3cr3t!");
        let fx = press(&mut a, "<Enter>");
        let op = fx
            .iter()
            .find_map(|e| match e {
                Effect::Host(_, HostCommand::Vm(VmCmd::Act { op, .. })) => Some(op.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{fx:?} {:?}", a.mode));
        let VmOp::SetUserPassword { user, password } = &op else {
            panic!("{op:?}")
        };
        assert_eq!((user.as_str(), password.0.as_str()), ("root", "s3cr3t!"));
        assert!(!format!("{op:?}").contains("s3cr3t"), "Debug hides it");
        assert!(a.messages.log.iter().all(|m| !m.text.contains("s3cr3t")));
    }

    #[test]
    fn no_agent_channel_is_said() {
        let mut a = crate::app::detail::tests::opened(true);
        press(&mut a, "P");
        let Mode::Wizard(w) = &a.mode else {
            panic!("no form")
        };
        assert!(w
            .field("user")
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("no guest agent"));
    }
}
