//! The packaged files stay valid: the example config shipped in the .deb parses.

use virtdeck::config::Config;

#[test]
fn example_config_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.toml");
    let text = std::fs::read_to_string(path).expect("examples/config.toml");
    let cfg = Config::parse("examples/config.toml", &text).expect("example config parses");
    assert_eq!(cfg.hosts.len(), 1);
    assert_eq!(cfg.alerts.len(), 1);
    assert!(cfg.aliases.contains_key("running"));
}
