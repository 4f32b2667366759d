//! Text people type, checked the same way by every feature: trimmed, bounded in characters, and
//! never quoted back in an error (which names the field instead).

use crate::error::{Error, Result};

/// Refuses text of more than `max` characters, naming the field and never the text.
pub fn check_length(field: &'static str, text: &str, max: usize) -> Result<()> {
    // Counting stops at the first character over, so a huge input costs no more than a small one.
    if text.chars().nth(max).is_some() {
        return Err(Error::invalid(
            field,
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}

/// Trimmed text that must not be empty nor longer than `max` characters.
pub fn required_text(field: &'static str, text: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    check_length(field, t, max)?;
    Ok(t.to_owned())
}

/// Trimmed text, `None` when empty; longer than `max` characters is refused.
pub fn optional_text(
    field: &'static str,
    text: Option<&str>,
    max: usize,
) -> Result<Option<String>> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    check_length(field, t, max)?;
    Ok(Some(t.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_never_quoted() {
        assert_eq!(required_text("title", "  Scan ", 10).unwrap(), "Scan");
        assert!(required_text("title", "   ", 10).is_err());
        assert_eq!(optional_text("body", Some("  "), 10).unwrap(), None);
        let err = check_length("title", "Zoledronic acid", 5).unwrap_err();
        assert!(!err.to_string().contains("Zoledronic"));
        // Characters, not bytes.
        assert!(check_length("title", "éééé", 4).is_ok());
        assert!(check_length("title", "ééééé", 4).is_err());
    }
}
