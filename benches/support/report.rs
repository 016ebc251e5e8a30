//! What both benchmarks share: the result table and small number helpers.

use std::time::Duration;

pub struct Row {
    pub metric: String,
    pub value: String,
    pub target: String,
    pub result: String,
}

pub fn row(
    metric: impl Into<String>,
    value: impl Into<String>,
    target: &str,
    pass: Option<bool>,
) -> Row {
    Row {
        metric: metric.into(),
        value: value.into(),
        target: target.into(),
        result: match pass {
            Some(true) => "PASS".into(),
            Some(false) => "FAIL".into(),
            None => "info".into(),
        },
    }
}

pub fn print_table(rows: &[Row]) {
    let w = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let (w0, w1, w2, w3) = (
        w(|r| &r.metric, "metric"),
        w(|r| &r.value, "value"),
        w(|r| &r.target, "target"),
        w(|r| &r.result, "result"),
    );
    let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(s.chars().count())));
    println!(
        "| {} | {} | {} | {} |",
        pad("metric", w0),
        pad("value", w1),
        pad("target", w2),
        pad("result", w3)
    );
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(w0 + 2),
        "-".repeat(w1 + 2),
        "-".repeat(w2 + 2),
        "-".repeat(w3 + 2)
    );
    for r in rows {
        println!(
            "| {} | {} | {} | {} |",
            pad(&r.metric, w0),
            pad(&r.value, w1),
            pad(&r.target, w2),
            pad(&r.result, w3)
        );
    }
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
