//! virtdeck: a keyboard-first terminal UI for KVM/libvirt fleets.
//!
//! Data flows one way: terminal keys and host-worker events become [`app::Msg`]s, the pure
//! [`app::App::update`] turns them into state changes and [`app::Effect`]s, and [`ui::render`]
//! draws the state. Only host workers ([`host`]) talk to libvirt.

pub mod alert;
pub mod app;
pub mod backup;
pub mod cli;
pub mod cloudinit;
pub mod config;
pub mod console;
pub mod demo;
pub mod diskimage;
pub mod display;
pub mod doctor;
pub mod eventlog;
pub mod fmt;
pub mod heap;
pub mod host;
pub mod job;
pub mod log;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod names;
pub mod osinfo;
pub mod plugin;
pub mod probe;
pub mod runtime;
pub mod sanitize;
pub mod script;
pub mod size;
pub mod stderr;
pub mod subnet;
pub mod term;
pub mod ui;
pub mod virsh;
pub mod vnc;
pub mod wake;
pub mod xml;
