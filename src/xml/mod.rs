//! Typed libvirt XML: builders the wizards use and parsers the panes use. Serialised with
//! quick-xml + serde, so user input is always escaped.

pub mod backup;
pub mod de;
pub mod device;
pub mod device_extra;
pub mod domain;
pub mod domcaps;
pub mod edit;
pub mod hardware;
pub mod hostdev;
pub mod meta;
pub mod network;
pub mod newvm;
pub mod nodedev;
pub mod pool;
pub mod secret;
pub mod snapshot;
pub mod tree;
pub mod volume;
