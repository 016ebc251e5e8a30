//! Themes: named style slots. Presets (`themes/*.toml`) are compiled in; a user file
//! `themes/NAME.toml` in the config dir overrides the slots it names (or defines a new theme).

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Deserializer};

use super::{read_optional, ConfigError};

pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
    ("console", include_str!("../../themes/console.toml")),
];

/// One slot as written in TOML: `{ fg = "green", bold = true }`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    #[serde(default, deserialize_with = "color")]
    fg: Option<Color>,
    #[serde(default, deserialize_with = "color")]
    bg: Option<Color>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

/// A colour: a name (`"green"`), `"#rrggbb"`, or a 256-colour palette index as a number
/// (`fg = 208`) or a string (`"208"`).
fn color<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Color>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Color;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a colour name, \"#rrggbb\" or a number from 0 to 255")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Color, E> {
            Color::from_str(s).map_err(|_| {
                E::custom(format!(
                    "unknown colour {s:?} (use a name like \"green\", \"#rrggbb\" or 0-255)"
                ))
            })
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Color, E> {
            u8::try_from(n)
                .map(Color::Indexed)
                .map_err(|_| E::custom(format!("colour {n} is not in 0-255")))
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Color, E> {
            self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
        }
    }
    d.deserialize_any(V).map(Some)
}

impl StyleSpec {
    fn style(self) -> Style {
        let mut st = Style::default();
        if let Some(fg) = self.fg {
            st = st.fg(fg);
        }
        if let Some(bg) = self.bg {
            st = st.bg(bg);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                st = st.add_modifier(m);
            }
        }
        st
    }
}

macro_rules! slots {
    ($($slot:ident),* $(,)?) => {
        /// Resolved styles used by the views.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(pub $slot: Style,)*
        }

        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct RawTheme {
            $(#[serde(default)] $slot: Option<StyleSpec>,)*
        }

        impl Theme {
            fn overlay(&mut self, raw: RawTheme) {
                $(if let Some(spec) = raw.$slot { self.$slot = spec.style(); })*
            }
        }
    };
}

slots!(
    base,
    title,
    border,
    border_focus,
    header,
    selected,
    marked,
    dim,
    status_bar,
    key_hint,
    filter,
    pending,
    toast_info,
    toast_error,
    dialog,
    state_running,
    state_paused,
    state_shutoff,
    state_crashed,
    state_other,
    host_connected,
    host_connecting,
    host_unreachable,
    level_ok,
    level_warn,
    level_crit,
    chart_a,
    chart_b,
);

fn parse(path: &str, src: &str) -> Result<RawTheme, ConfigError> {
    toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))
}

impl Theme {
    /// Loads theme `name`: a compiled-in preset (if any) overlaid with `dir/themes/NAME.toml`.
    pub fn load(name: &str, dir: Option<&Path>) -> Result<Theme, ConfigError> {
        let mut theme = Theme {
            name: name.to_string(),
            ..Theme::default()
        };
        let preset = PRESETS.iter().find(|(n, _)| *n == name);
        if let Some((n, src)) = preset {
            theme.overlay(parse(&format!("themes/{n}.toml"), src)?);
        }
        let user = match dir {
            Some(dir) => {
                let path = dir.join("themes").join(format!("{name}.toml"));
                read_optional(&path)?.map(|src| (path, src))
            }
            None => None,
        };
        match (preset, user) {
            (_, Some((path, src))) => {
                if preset.is_none() {
                    // A new theme starts from the default preset so unnamed slots stay readable.
                    theme = Theme::load("default", None)?;
                    theme.name = name.to_string();
                }
                theme.overlay(parse(&path.display().to_string(), &src)?);
            }
            (None, None) => {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                let (path, looked) = match dir {
                    Some(dir) => (
                        dir.join("themes").join(format!("{name}.toml")),
                        format!("in {}", dir.join("themes").display()),
                    ),
                    None => (
                        format!("themes/{name}.toml").into(),
                        "(no config directory to look in)".to_string(),
                    ),
                };
                return Err(ConfigError::new(
                    path.display().to_string(),
                    None,
                    format!(
                        "no such theme: not a preset ({}) and no {name}.toml {looked}",
                        names.join(", ")
                    ),
                ));
            }
            _ => {}
        }
        Ok(theme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_differ() {
        let dark = Theme::load("default", None).unwrap();
        let light = Theme::load("light", None).unwrap();
        let mono = Theme::load("mono", None).unwrap();
        assert_eq!(dark.state_running.fg, Some(Color::Green));
        assert_ne!(dark.selected, light.selected);
        // Monochrome uses no colours at all, only modifiers.
        let m = format!("{mono:?}");
        assert!(!m.contains("fg: Some") && !m.contains("bg: Some"), "{m}");
    }

    #[test]
    fn user_file_overrides_one_slot() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/default.toml"),
            "state_running = { fg = \"#00ff00\", bold = true }\n",
        )
        .unwrap();
        let t = Theme::load("default", Some(dir.path())).unwrap();
        assert_eq!(t.state_running.fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(t.header, Theme::load("default", None).unwrap().header);
    }

    #[test]
    fn palette_numbers_are_colours() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        let p = dir.path().join("themes/mine.toml");
        std::fs::write(
            &p,
            "title = { fg = 208, bg = 0 }\nheader = { fg = \"17\" }\n",
        )
        .unwrap();
        let t = Theme::load("mine", Some(dir.path())).unwrap();
        assert_eq!(t.title.fg, Some(Color::Indexed(208)));
        assert_eq!(t.title.bg, Some(Color::Indexed(0)));
        assert_eq!(t.header.fg, Some(Color::Indexed(17)));
        for bad in ["256", "-1"] {
            std::fs::write(&p, format!("\ntitle = {{ fg = {bad} }}\n")).unwrap();
            let err = Theme::load("mine", Some(dir.path())).unwrap_err();
            assert_eq!(err.line, Some(2), "{err}");
            assert!(err.to_string().contains("0-255"), "{err}");
        }
    }

    #[test]
    fn a_missing_theme_names_the_directory_searched() {
        let dir = tempfile::tempdir().unwrap();
        let err = Theme::load("solarized", Some(dir.path())).unwrap_err();
        let themes = dir.path().join("themes");
        assert!(
            err.to_string()
                .contains(&format!("no solarized.toml in {}", themes.display())),
            "{err}"
        );
        assert!(err.to_string().contains("default, light, mono"), "{err}");
        let err = Theme::load("solarized", None).unwrap_err();
        assert!(err.to_string().contains("no config directory"), "{err}");
    }

    #[test]
    fn bad_theme_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        let p = dir.path().join("themes/mine.toml");
        std::fs::write(
            &p,
            "title = { fg = \"red\" }\nheader = { fg = \"purplish\" }\n",
        )
        .unwrap();
        let err = Theme::load("mine", Some(dir.path())).unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.to_string().contains("purplish"), "{err}");
        assert!(err.path.ends_with("mine.toml"));
        std::fs::write(&p, "titel = { fg = \"red\" }\n").unwrap();
        let err = Theme::load("mine", Some(dir.path())).unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
        assert!(Theme::load("nope", None).is_err());
    }
}
