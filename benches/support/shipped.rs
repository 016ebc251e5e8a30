//! The virtdeck binary a bench runs as a process.
//!
//! `cargo bench` builds its own virtdeck: its dev-dependencies change the features of shared
//! dependencies, hence every symbol hash, so `link/order.txt` (build.rs) does not lay it out and
//! its memory is not the shipped binary's. `scripts/bench.sh BENCH` builds the release binary
//! and names a copy of it in `VIRTDECK_BENCH_BIN`.
pub fn binary() -> String {
    match std::env::var("VIRTDECK_BENCH_BIN") {
        Ok(path) if !path.is_empty() => path,
        _ => {
            eprintln!(
                "note: running cargo bench's own virtdeck, laid out unlike the release binary; scripts/bench.sh measures the shipped one"
            );
            env!("CARGO_BIN_EXE_virtdeck").to_string()
        }
    }
}
