//! Self-contained HTML: escaping for untrusted text, and the page frame (inline CSS and
//! script, no external request). Everything a model or data file names (features, layers,
//! paths) goes through [`text`] or [`script_json`] before it reaches the page.

pub mod charts;

use serde_json::Value;

/// `s` as HTML text or a quoted attribute value: `& < > " '` escaped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A name as the page shows it: at most [`NAME_CHARS`] characters (a hostile header may be
/// megabytes long), then `…`. Escape the result with [`text`].
pub fn short(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_string()
    } else {
        name.chars().take(NAME_CHARS).collect::<String>() + "…"
    }
}

/// Characters of a name the page shows.
pub const NAME_CHARS: usize = 80;

/// `v` as JSON safe inside `<script type="application/json">`: no `<`, `>` or `&` (so no
/// `</script>` or comment can close the element) and no line separators.
pub fn script_json(v: &Value) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A number as shown on the page: 4 significant digits, plain or scientific.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.into() }
    }
}

/// A numeric table cell, sortable by its exact value (`data-v`).
pub fn cell(v: f64) -> String {
    format!("<td data-v=\"{v:e}\">{}</td>", num(v))
}

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The whole page: `title`, the `sections` (HTML, already escaped), and `data` for the
/// script (per-row views).
pub fn page(title: &str, sections: &[String], data: &Value) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    // No request may leave the page, whatever an attacker manages to inject.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
    );
    out.push_str(&format!("<title>{}</title>", text(title)));
    out.push_str(&format!("<style>{STYLE}</style></head><body>"));
    out.push_str(&format!("<h1>{}</h1>", text(title)));
    for s in sections {
        out.push_str(s);
    }
    out.push_str(&format!(
        "<script type=\"application/json\" id=\"report-data\">{}</script>",
        script_json(data)
    ));
    out.push_str(&format!("<script>{SCRIPT}</script></body></html>\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_cannot_leave_its_element() {
        let evil = "</script><img src=x onerror=alert(1)>\"'&";
        let t = text(evil);
        assert!(!t.contains('<') && !t.contains('>') && !t.contains('"') && !t.contains('\''));
        assert_eq!(
            t,
            "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"
        );
        let j = script_json(&serde_json::json!({ "name": evil, "sep": "\u{2028}" }));
        assert!(!j.contains('<') && !j.contains('>') && !j.contains('\u{2028}'));
        // Still the same JSON once parsed.
        let back: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["name"], evil);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.23456), "1.2346");
        assert_eq!(num(-2.0), "-2");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(123456.0), "1.235e5");
        assert_eq!(num(f64::NAN), "–");
    }
}
