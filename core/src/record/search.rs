//! What a person types into a search box, as a query of the full-text indexes `record/` keeps.

/// Turns what a person typed into a safe FTS5 query: each word (split at white space and control
/// characters, which FTS5 would read as the end of the query: NUL) that has a letter or digit
/// becomes a quoted prefix phrase, at most `max_words` of them, all required. Inside the quotes
/// FTS5 syntax (`*`, `NEAR`, `-`, `:`; `"` is doubled) is only text, so no input can make the
/// query fail, and the index's own tokenizer splits and folds the word as it did the indexed
/// text: an accent typed as a combining mark, or punctuation inside a word (`38.5`), means the
/// same in both. `None` when there is no word at all.
pub fn match_expression(text: &str, max_words: usize) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(max_words)
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        None
    } else {
        // Side by side, not `AND`: FTS5 then skips a phrase the tokenizer leaves empty (a lone
        // combining mark), where `AND` would make it match nothing.
        Some(terms.join(" "))
    }
}
