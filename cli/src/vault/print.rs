//! Documents as lines, in full and as JSON; the verify report; progress bars.

use cairn_core::vault::{Document, DocumentCheck, DocumentHealth};
use indicatif::{ProgressBar, ProgressStyle};

use crate::terminal::{self, safe_println};

/// One document's details, or the document as a JSON object.
pub(super) fn document(doc: &Document, json: bool) {
    if json {
        println!("{}", terminal::pretty_json(doc));
        return;
    }
    safe_println!("id             {}", doc.id);
    safe_println!("title          {}", doc.title);
    safe_println!("kind           {}", doc.kind.as_str());
    safe_println!(
        "date           {}",
        doc.document_date.map_or("-".into(), |d| d.to_string())
    );
    safe_println!("tags           {}", doc.tags.join(", "));
    terminal::print_paragraph("notes          ", &doc.notes);
    safe_println!("type           {}", doc.content_type);
    safe_println!("size           {} bytes", doc.size);
    safe_println!("linked events  {}", doc.linked_events.join(", "));
    safe_println!("imported       {}", doc.imported_at);
}

/// A line per document check and a count; returns how many documents have a problem.
pub(super) fn verified(checks: &[DocumentCheck]) -> usize {
    let mut bad = 0;
    for check in checks {
        let word = match check.health {
            DocumentHealth::Ok => "ok",
            DocumentHealth::Missing => "MISSING",
            DocumentHealth::NotDownloaded => "not downloaded",
            DocumentHealth::Corrupt => "CORRUPT",
            DocumentHealth::SizeMismatch => "SIZE MISMATCH",
            DocumentHealth::ContentMismatch => "CONTENT MISMATCH",
        };
        if check.health.is_problem() {
            bad += 1;
        }
        safe_println!("{word:<16} {}  {}", check.id, check.title);
    }
    safe_println!("{} document(s) checked, {bad} with problems", checks.len());
    bad
}

/// Prints documents one a line with a count, or as a JSON array.
pub(super) fn list(docs: &[Document], json: bool) {
    if json {
        println!("{}", terminal::pretty_json(docs));
        return;
    }
    for doc in docs {
        line(doc);
    }
    safe_println!("{} document(s)", docs.len());
}

/// One document: id, date, kind, size, title and tags.
pub(crate) fn line(doc: &Document) {
    let date = doc
        .document_date
        .map_or("----------".into(), |d| d.to_string());
    let tags = if doc.tags.is_empty() {
        String::new()
    } else {
        format!("  [{}]", doc.tags.join(", "))
    };
    safe_println!(
        "{}  {date}  {:<17}  {:>10}  {}{tags}",
        doc.id,
        doc.kind.as_str(),
        human_size(doc.size),
        doc.title
    );
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A progress bar on stderr; indicatif draws nothing when stderr is not a terminal.
pub(super) struct Bar(ProgressBar);

pub(super) fn progress_bar(verb: &str) -> Bar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{verb} [{{bar:40}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{eta}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    Bar(bar)
}

impl Bar {
    pub(super) fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
    pub(super) fn finish(&self) {
        self.0.finish_and_clear();
    }
}
