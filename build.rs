//! Link-time layout of the virtdeck binary, for its resident memory (issue 20, item 6).
//!
//! The kernel maps a binary's code in 64 KiB windows around each page it touches, so code that is
//! used sparsely across 10 MB of `.text` costs most of it in RSS. `link/order.txt` lists the
//! functions an idle session runs (then the ones the other screens run), and the linker puts them
//! side by side at the start of `.text`. `scripts/link-order.sh` regenerates the list; a name that
//! no longer exists is skipped, so a stale list only costs memory. `-z pack-relative-relocs`
//! stores the relocations of a position-independent binary in a few KiB instead of 600 KiB that
//! are all read at start.
//!
//! The list names functions by their v0-mangled names (`.cargo/config.toml`), which stay the same
//! when unrelated code changes.
//!
//! Only with the linker that has these options: rust-lld, which rustc uses by default on
//! x86_64-unknown-linux-gnu since 1.90. `VIRTDECK_PLAIN_LINK=1` turns both off.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/order.txt");
    println!("cargo:rerun-if-env-changed=VIRTDECK_PLAIN_LINK");
    if !rust_lld_links() {
        println!("cargo:warning=virtdeck: linked without link/order.txt (VIRTDECK_PLAIN_LINK=1, or not rust-lld)");
        return;
    }
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    if !std::env::var("CARGO_ENCODED_RUSTFLAGS")
        .unwrap_or_default()
        .contains("symbol-mangling-version=v0")
    {
        // link/order.txt names v0 symbols (.cargo/config.toml), which RUSTFLAGS replaced.
        println!("cargo:warning=virtdeck: RUSTFLAGS without -C symbol-mangling-version=v0: link/order.txt matches no function");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={dir}/link/order.txt");
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Whether the binaries are linked by rustc's default rust-lld (no linker or linker flavour
/// chosen by the user, a rustc that defaults to it on this target).
fn rust_lld_links() -> bool {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("VIRTDECK_PLAIN_LINK") == "1"
        || env("TARGET") != "x86_64-unknown-linux-gnu"
        || !env("RUSTC_LINKER").is_empty()
        || env("CARGO_ENCODED_RUSTFLAGS").contains("link")
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
