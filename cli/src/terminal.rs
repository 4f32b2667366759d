//! Text on its way to the terminal, made unable to drive it.
//!
//! Titles, names, notes and tags are stored text, and once records arrive by sync they are
//! written by other devices. A title holding `ESC ] 0 ; … BEL` would retitle the window, `ESC [ 2 J`
//! clear the screen, a carriage return overwrite what the line said before it, and a
//! right-to-left override reverse what follows it. Every line the command prints for people goes
//! through [`printable`], so none of these reach the terminal; `--json` keeps the exact text as
//! data, with the same characters written as `\u` escapes by [`json_text`].

use std::borrow::Cow;

/// What a neutralised character is shown as: visible, and never part of anything meaningful.
const PLACEHOLDER: char = '\u{FFFD}';

/// Whether `c` could act on a terminal or rearrange the text around it: C0 controls (ESC, CR,
/// BS, BEL, newline, …), DEL and C1 controls (all three are Unicode's `Cc`), the line and
/// paragraph separators, and the bidirectional embeddings, overrides and isolates.
fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` as one printable line: every character that could act on a terminal (see
/// [`acts_on_terminal`]), a newline included, becomes U+FFFD. Text without one is borrowed
/// unchanged.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if acts_on_terminal(c) { PLACEHOLDER } else { c })
            .collect(),
    )
}

/// Serialised JSON with the characters that could act on a terminal but that JSON allows raw
/// (DEL, C1, the separators, bidirectional controls) written as `\uXXXX` escapes, so a JSON
/// reader gets the exact text back and a terminal never sees them. serde_json escapes C0 inside
/// strings already, so the only raw one left is the newline between pretty-printed lines; every
/// other character in question can only sit inside a string.
pub(crate) fn json_text(json: String) -> String {
    let escaped = |c: char| c != '\n' && acts_on_terminal(c);
    if !json.chars().any(escaped) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` as pretty-printed JSON through [`json_text`].
pub(crate) fn pretty_json(value: &(impl serde::Serialize + ?Sized)) -> String {
    json_text(serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()))
}

/// `println!` for a line that may hold stored or typed text: the formatted line goes through
/// [`printable`] before it is written.
macro_rules! safe_println {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        println!("{}", $crate::terminal::printable(&format!($($arg)*)))
    };
}
pub(crate) use safe_println;

/// Prints text that may span lines (notes, free text) after `label`, later lines indented to
/// line up under the first: each line goes through [`printable`], so a carriage return or an
/// escape inside a line is neutralised while the lines stay lines. Empty text prints the label
/// alone.
pub(crate) fn print_paragraph(label: &str, text: &str) {
    if text.is_empty() {
        safe_println!("{label}");
        return;
    }
    let indent = " ".repeat(label.chars().count());
    for (i, line) in text.lines().enumerate() {
        let prefix = if i == 0 { label } else { &indent };
        safe_println!("{prefix}{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_returns_and_overrides_become_placeholders() {
        assert_eq!(
            printable("Fever\x1b]0;pwned\x07 \x1b[2J\rok\u{202e}txt.exe\u{2066}\x08\x7f\u{9b}"),
            "Fever\u{fffd}]0;pwned\u{fffd} \u{fffd}[2J\u{fffd}ok\u{fffd}txt.exe\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
        );
        assert_eq!(printable("two\nlines"), "two\u{fffd}lines");
    }

    #[test]
    fn ordinary_text_is_borrowed_as_it_is() {
        let text = "Zoë's café — 38.2 °C, العربية, 日本語";
        assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn json_keeps_the_exact_text_with_nothing_raw() {
        let title = "a\x1b[2J\u{7f}\u{85}\u{202e}\u{2069}\u{2028}b";
        let value = serde_json::json!({ "title": title, "tags": [title] });
        let compact = json_text(value.to_string());
        assert!(!compact.chars().any(acts_on_terminal), "{compact:?}");
        let pretty = json_text(serde_json::to_string_pretty(&value).unwrap());
        assert!(!pretty.lines().any(|l| l.chars().any(acts_on_terminal)));
        for out in [compact, pretty] {
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back, value);
        }
    }
}
