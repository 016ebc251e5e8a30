//! The registry routes every answer by its request id, whatever the answer says.

use super::super::tests::{app, press, select};
use super::*;
use crate::app::{display, Msg};
use crate::host::{DisplayInfo, HostEvent};

fn reply(a: &mut App, host: usize, id: RequestId, reply: Reply) {
    a.update(Msg::Host(HostId(host), HostEvent::Reply { id, reply }));
}

/// The id of each command in `fx` that expects an answer, in order.
fn ids(fx: &[Effect]) -> Vec<RequestId> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Host(_, HostCommand::Lifecycle { id, .. })
            | Effect::Host(_, HostCommand::Display { id, .. }) => Some(*id),
            _ => None,
        })
        .collect()
}

#[test]
fn each_lifecycle_answer_reaches_the_vm_its_request_was_for() {
    let mut a = app();
    select(&mut a, "web-02");
    let web02 = ids(&press(&mut a, "s"));
    select(&mut a, "db-01");
    let db01 = ids(&press(&mut a, "S"));
    assert_eq!(a.vms.pending.len(), 2);
    assert_eq!(a.requests.len(), 2, "one request per operation");
    // The second operation's answer comes first; it names no VM, yet clears only db-01.
    reply(&mut a, 0, db01[0], Reply::Op(Err("refused".into())));
    assert!(a
        .vms
        .pending
        .contains_key(&(HostId(0), "uuid-web-02".into())));
    assert!(!a
        .vms
        .pending
        .contains_key(&(HostId(0), "uuid-db-01".into())));
    let t = a.messages.toasts.back().unwrap();
    assert!(
        t.text.contains("db-01 on kvm-a: save failed: refused"),
        "{}",
        t.text
    );
    reply(&mut a, 0, web02[0], Reply::Op(Ok(())));
    assert!(a.vms.pending.is_empty());
    assert!(a.requests.is_empty(), "answered requests are forgotten");
}

#[test]
fn an_answer_nobody_waits_for_changes_nothing() {
    let mut a = app();
    select(&mut a, "web-02");
    let id = ids(&press(&mut a, "s"))[0];
    let before = (a.vms.pending.clone(), a.messages.toasts.len());
    // An id the app never issued, and an answer of the wrong kind for a real one.
    reply(&mut a, 0, RequestId(id.0 + 100), Reply::Op(Ok(())));
    assert_eq!((a.vms.pending.clone(), a.messages.toasts.len()), before);
    reply(&mut a, 0, id, Reply::Done(Ok("started".into())));
    assert_eq!((a.vms.pending.clone(), a.messages.toasts.len()), before);
    assert!(a
        .messages
        .log
        .iter()
        .any(|m| m.text.contains("unexpected kind")));
    assert!(a.requests.is_empty(), "the request was answered, if badly");
}

#[test]
fn a_display_answer_after_the_panel_closed_is_dropped() {
    let mut a = app();
    select(&mut a, "web-01");
    let id = ids(&display::open(&mut a))[0];
    assert!(matches!(a.mode, Mode::Display(_)));
    press(&mut a, "<Esc>");
    assert_eq!(a.mode, Mode::Normal);
    let info = DisplayInfo {
        graphics: Vec::new(),
        active: true,
    };
    reply(&mut a, 0, id, Reply::Display(Ok(info)));
    assert_eq!(a.mode, Mode::Normal, "nothing reopens");
    assert!(a.requests.is_empty());
}

#[test]
fn removing_a_host_forgets_what_it_was_asked() {
    let mut a = app();
    select(&mut a, "web-02");
    press(&mut a, "s");
    select(&mut a, "cache");
    let on_b = ids(&press(&mut a, "S"));
    assert_eq!(a.requests.len(), 2);
    a.remove_host(HostId(0));
    assert_eq!(a.requests.len(), 1, "only kvm-b's request is left");
    assert!(a.requests.owner(on_b[0]).is_some());
}
