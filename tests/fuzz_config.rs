// Fuzz targets for the user's files: config.toml, keymap.toml, themes/*.toml, and the writer
// that adds hosts to config.toml. Run for minutes by scripts/fuzz.sh; CI runs a few cases.

mod fuzz_gen;

use fuzz_gen::{bounded, bytes_text, config, hostile, mutate, mutations};
use proptest::prelude::*;

use virtdeck::config::keymap::{Key, Keymap};
use virtdeck::config::theme::Theme;
use virtdeck::config::{name_from_uri, persist, Config};

/// A TOML string literal for `s` (basic string, escaped).
fn toml_str(s: &str) -> String {
    toml_edit::value(s).to_string().trim().to_string()
}

/// A TOML value: strings (quoted, literal, raw-broken), numbers at the edges, booleans,
/// arrays and inline tables.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        hostile().prop_map(|s| toml_str(&s)),
        hostile().prop_map(|s| format!("'{s}'")),
        hostile().prop_map(|s| format!("\"{s}\"")),
        prop::sample::select(
            &[
                "0",
                "-1",
                "1e309",
                "-0.0",
                "nan",
                "inf",
                "-inf",
                "0.2",
                "3600",
                "1440",
                "9223372036854775807",
                "9223372036854775808",
                "true",
                "false",
                "1979-05-27T07:32:00Z",
                "0x10",
                "[]",
                "{}",
            ][..]
        )
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|v| {
                let kv: Vec<String> = v.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", kv.join(", "))
            }),
        ]
    })
}

const KEYS: &[&str] = &[
    "poll_interval",
    "history_minutes",
    "call_timeout",
    "theme",
    "mouse",
    "thresholds",
    "cpu",
    "memory",
    "overcommit",
    "storage",
    "warn",
    "crit",
    "hosts",
    "name",
    "uri",
    "migration_address",
    "normal",
    "dashboard",
    "detail",
    "filter",
    "confirm",
    "form",
    "xml_edit",
    "on",
    "run",
    "desc",
    "base",
    "title",
    "selected",
    "fg",
    "bg",
    "bold",
    "dim",
    "italic",
    "underline",
    "reversed",
    "state_running",
    "chart_a",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => hostile().prop_map(|s| toml_str(&s)),
        1 => "[a-z_.]{1,12}",
    ]
}

/// A TOML-ish document: key/value lines, tables and arrays of tables, with some damage.
fn toml_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => (key(), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => key().prop_map(|k| format!("[{k}]")),
        1 => key().prop_map(|k| format!("[[{k}]]")),
        1 => hostile().prop_map(|s| format!("# {s}")),
        1 => hostile(),
    ];
    (prop::collection::vec(line, 0..16), mutations())
        .prop_map(|(lines, ms)| mutate(lines.join("\n"), &ms))
}

/// A keymap with valid-looking sections and hostile keys, actions and descriptions.
fn keymap_doc() -> impl Strategy<Value = String> {
    let on = prop_oneof![
        hostile(),
        "<([CAMS]-){0,4}[a-zA-Z0-9]{0,10}>",
        "<[CAS]-.{0,3}>",
        "<F[0-9]{1,5}>",
        ".",
    ];
    let run = prop_oneof![
        prop::sample::select(&["down", "up", "quit", "noop", "filter", "top", "bottom", "x"][..])
            .prop_map(str::to_string),
        hostile(),
    ];
    let binding = (on, run, hostile()).prop_map(|(o, r, d)| {
        format!(
            "{{ on = {}, run = {}, desc = {} }}",
            toml_str(&o),
            toml_str(&r),
            toml_str(&d)
        )
    });
    let section = (
        prop::sample::select(
            &[
                "normal",
                "dashboard",
                "filter",
                "xml_edit",
                "console",
                "bogus",
            ][..],
        ),
        prop::collection::vec(binding, 0..6),
    )
        .prop_map(|(s, b)| format!("{s} = [\n  {}\n]", b.join(",\n  ")));
    (prop::collection::vec(section, 0..5), mutations())
        .prop_map(|(s, ms)| mutate(s.join("\n"), &ms))
}

fn theme_doc() -> impl Strategy<Value = String> {
    let colour = prop_oneof![
            prop::sample::select(
                &[
                    "green", "darkgray", "#1c1c2c", "#fff", "#gggggg", "255", "256", "-1", "reset",
                    ""
                ][..]
            )
            .prop_map(str::to_string),
            hostile(),
        ];
    let slot = (
        prop::sample::select(&["base", "title", "selected", "chart_a", "level_crit", "nope"][..]),
        colour.clone(),
        colour,
        any::<bool>(),
    )
        .prop_map(|(s, fg, bg, b)| {
            format!(
                "{s} = {{ fg = {}, bg = {}, bold = {b} }}",
                toml_str(&fg),
                toml_str(&bg)
            )
        });
    (prop::collection::vec(slot, 0..8), mutations()).prop_map(|(s, ms)| mutate(s.join("\n"), &ms))
}

fn load_theme(src: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("themes")).expect("mkdir");
    for name in ["fuzz", "default"] {
        std::fs::write(dir.path().join("themes").join(format!("{name}.toml")), src).expect("write");
        let _ = bounded("theme", || Theme::load(name, Some(dir.path())));
    }
}

/// A config error must point inside the file.
fn line_in_file(src: &str, e: &virtdeck::config::ConfigError) -> bool {
    e.line
        .is_none_or(|l| l >= 1 && l <= src.lines().count().max(1) + 1)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_toml(src in prop_oneof![toml_doc(), bytes_text()]) {
        match bounded("config", || Config::parse("config.toml", &src)) {
            Ok(cfg) => { let _ = cfg.history_len(); }
            Err(e) => prop_assert!(line_in_file(&src, &e), "{e} for {src:?}"),
        }
    }

    #[test]
    fn keymap_toml(src in prop_oneof![keymap_doc(), toml_doc(), bytes_text()]) {
        let r = bounded("keymap", || Keymap::parse("keymap.toml", &src));
        if let Err(e) = &r {
            prop_assert!(line_in_file(&src, e), "{e} for {src:?}");
        }
        let mut km = Keymap::preset();
        let _ = bounded("keymap overrides", || km.apply_overrides("keymap.toml", &src));
    }

    #[test]
    fn key_specs(spec in prop_oneof![hostile(), "<([CAMS]-){0,4}.{0,6}>", ".{0,3}"]) {
        let _ = Key::parse(&spec);
    }

    #[test]
    fn theme_toml(src in prop_oneof![theme_doc(), toml_doc(), bytes_text()]) {
        load_theme(&src);
    }

    #[test]
    fn uri_names(uri in prop_oneof![hostile(), any::<String>()]) {
        let _ = name_from_uri(&uri);
    }

    /// A host added from the app reads back with the same name and URI, whatever they hold,
    /// and the file stays one the app accepts.
    #[test]
    fn add_host_round_trip(name in hostile(), uri in hostile(), before in toml_doc()) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.toml"), &before).expect("write");
        if persist::add_host(dir.path(), &name, &uri).is_ok() {
            let cfg = Config::load(Some(dir.path())).expect("the file stays valid");
            let host = cfg.hosts.iter().find(|h| h.uri == uri).expect("host added");
            if Config::parse("before", &before).map(|c| c.hosts.iter().all(|h| h.uri != uri)).unwrap_or(true) {
                prop_assert_eq!(host.name.as_deref(), Some(name.as_str()));
            }
            prop_assert!(persist::remove_host(dir.path(), &uri).expect("remove"));
            let cfg = Config::load(Some(dir.path())).expect("the file stays valid");
            prop_assert!(cfg.hosts.iter().all(|h| h.uri != uri));
        }
    }
}

/// Adding a host with an empty URI wrote a `config.toml` the loader then refused.
#[test]
fn adding_a_host_with_an_empty_uri_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    for uri in ["", "  "] {
        let e = persist::add_host(dir.path(), "x", uri).expect_err("empty URI");
        assert!(e.to_string().contains("uri is empty"), "{e}");
    }
    assert!(!dir.path().join("config.toml").exists());
    assert_eq!(
        Config::load(Some(dir.path())).expect("loads"),
        Config::default()
    );
}
