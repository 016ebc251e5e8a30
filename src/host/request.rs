//! Every host command that expects an answer carries a `RequestId`; the worker answers it with
//! exactly one `HostEvent::Reply { id, reply }`. The app remembers what to do with each id
//! (`app::requests`), so no reply needs a key of its own (host, uuid, names) to find its reader.

/// Names one request and its answer. Issued by the app's request registry, unique per run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The answer to a request, one variant per kind of question.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An action finished (storage, network, VM change, VM creation): `Ok` carries a short
    /// success text.
    Done(Result<String, String>),
    /// A lifecycle operation finished (`HostCommand::Lifecycle`).
    Op(Result<(), String>),
}
