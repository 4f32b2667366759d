//! `cairn vault`: the encrypted document vault.

use std::path::{Path, PathBuf};

use cairn_core::vault::{
    Document, DocumentFilter, DocumentHealth, DocumentKind, DocumentMeta, ImportOutcome,
};
use cairn_core::{Error, Store};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;

use crate::Context;
use crate::terminal::{self, safe_println};

/// `cairn vault …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Imports a file into the vault, encrypted.
    Add {
        /// The file to import.
        path: PathBuf,
        /// The title (default: the file's name without extension).
        #[arg(long)]
        title: Option<String>,
        /// lab_report, pathology, imaging, discharge_summary, prescription, letter, insurance
        /// or other.
        #[arg(long, default_value = "other")]
        kind: String,
        /// The date on the document (YYYY-MM-DD).
        #[arg(long)]
        date: Option<String>,
        /// A tag (repeat for several).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
        /// The MIME type (default: guessed from the extension).
        #[arg(long = "type")]
        content_type: Option<String>,
        /// A linked timeline event id (repeat for several).
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// Lists documents, newest first.
    List {
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only documents with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only documents dated on or after this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Only documents dated on or before this day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// Print the documents as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Searches titles, notes and tags.
    Search {
        /// Words to look for (all must match, as prefixes).
        #[arg(required = true)]
        words: Vec<String>,
        /// Print the documents as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Shows one document's details.
    Show {
        /// The document's id.
        id: String,
        /// Print the document as a JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Decrypts a document to a file.
    Export {
        /// The document's id.
        id: String,
        /// Where to write it (replaced if it exists).
        dest: PathBuf,
    },
    /// Replaces a document's content with a new version.
    Replace {
        /// The document's id.
        id: String,
        /// The new content.
        path: PathBuf,
    },
    /// Writes a document's age key to a new file (readable only by you) and names its encrypted
    /// file, so both can be handed to someone with the standard `age` or `rage` tool.
    Key {
        /// The document's id.
        id: String,
        /// The key file to create (refused if it exists).
        out: PathBuf,
    },
    /// Deletes a document for good (its key is destroyed).
    Rm {
        /// The document's id.
        id: String,
    },
    /// Checks every document's content file; exits non-zero if any is damaged.
    Verify,
}

pub(crate) fn run(ctx: &Context, cmd: Command) -> Result<(), Error> {
    let store = ctx.open()?;
    run_on(&store, cmd)?;
    store.close()
}

fn run_on(store: &Store, cmd: Command) -> Result<(), Error> {
    match cmd {
        Command::Add {
            path,
            title,
            kind,
            date,
            tags,
            notes,
            content_type,
            events,
        } => {
            let title = match title {
                Some(t) => t,
                None => path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .ok_or(Error::invalid("path", "must name a file"))?,
            };
            let meta = DocumentMeta {
                title,
                kind: DocumentKind::parse(&kind)?,
                document_date: date
                    .as_deref()
                    .map(|d| parse_date("--date", d))
                    .transpose()?,
                tags,
                notes,
                content_type: content_type.unwrap_or_else(|| guess_content_type(&path).into()),
                linked_events: events,
            };
            let bar = progress_bar("importing");
            let outcome =
                store.import_document(&path, &meta, &mut |done, total| bar.update(done, total));
            bar.finish();
            match outcome? {
                ImportOutcome::Added(doc) => {
                    safe_println!("added {}", doc.id);
                    print_line(&doc);
                }
                ImportOutcome::AlreadyInVault(doc) => {
                    safe_println!("already in the vault as {}; nothing added", doc.id);
                    print_line(&doc);
                }
            }
            Ok(())
        }
        Command::List {
            kind,
            tag,
            from,
            to,
            json,
        } => {
            let filter = DocumentFilter {
                kind: kind.as_deref().map(DocumentKind::parse).transpose()?,
                tag,
                from: from
                    .as_deref()
                    .map(|d| parse_date("--from", d))
                    .transpose()?,
                to: to.as_deref().map(|d| parse_date("--to", d)).transpose()?,
            };
            print_list(&store.documents(&filter)?, json);
            Ok(())
        }
        Command::Search { words, json } => {
            print_list(&store.search_documents(&words.join(" "))?, json);
            Ok(())
        }
        Command::Show { id, json } => {
            let doc = store.document(&id)?;
            if json {
                println!("{}", terminal::pretty_json(&doc));
                return Ok(());
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
            Ok(())
        }
        Command::Export { id, dest } => {
            let bar = progress_bar("exporting");
            let result = store.export_document(&id, &dest, &mut |d, t| bar.update(d, t));
            bar.finish();
            result?;
            safe_println!("exported {id} to {}", dest.display());
            Ok(())
        }
        Command::Replace { id, path } => {
            let bar = progress_bar("importing");
            let result = store.replace_document_content(&id, &path, &mut |d, t| bar.update(d, t));
            bar.finish();
            let doc = result?;
            safe_println!("replaced the content of {}", doc.id);
            print_line(&doc);
            Ok(())
        }
        Command::Key { id, out } => {
            let key = store.document_key(&id)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&out).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    Error::invalid("out", "the file exists; choose a new name")
                }
                _ => Error::Io(e),
            })?;
            std::io::Write::write_all(&mut file, format!("{}\n", *key).as_bytes())?;
            file.sync_all()?;
            safe_println!("key written to {}", out.display());
            safe_println!(
                "encrypted file {}",
                store.document_content_path(&id)?.display()
            );
            safe_println!(
                "decrypt with: age -d -i {} -o <file> <encrypted file>",
                out.display()
            );
            Ok(())
        }
        Command::Rm { id } => {
            store.delete_document(&id)?;
            safe_println!("deleted {id}; its key is destroyed");
            Ok(())
        }
        Command::Verify => {
            let checks = store.verify_vault()?;
            let mut bad = 0;
            for check in &checks {
                let word = match check.health {
                    DocumentHealth::Ok => "ok",
                    DocumentHealth::Missing => "MISSING",
                    DocumentHealth::Corrupt => "CORRUPT",
                    DocumentHealth::SizeMismatch => "SIZE MISMATCH",
                    DocumentHealth::ContentMismatch => "CONTENT MISMATCH",
                };
                if check.health != DocumentHealth::Ok {
                    bad += 1;
                }
                safe_println!("{word:<16} {}  {}", check.id, check.title);
            }
            safe_println!("{} document(s) checked, {bad} with problems", checks.len());
            if bad > 0 {
                return Err(Error::Corrupt(format!(
                    "{bad} vault document(s) failed verification"
                )));
            }
            Ok(())
        }
    }
}

fn parse_date(field: &'static str, text: &str) -> Result<Date, Error> {
    text.parse()
        .map_err(|_| Error::invalid(field, "expected a date such as 2026-03-08"))
}

fn guess_content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "heic" => "image/heic",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "dcm" => "application/dicom",
        "xml" => "application/xml",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Prints documents one a line with a count, or as a JSON array.
fn print_list(docs: &[Document], json: bool) {
    if json {
        println!("{}", terminal::pretty_json(docs));
        return;
    }
    for doc in docs {
        print_line(doc);
    }
    safe_println!("{} document(s)", docs.len());
}

fn print_line(doc: &Document) {
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
struct Bar(ProgressBar);

fn progress_bar(verb: &str) -> Bar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{verb} [{{bar:40}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{eta}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    Bar(bar)
}

impl Bar {
    fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A small, valid one-page PDF: a discharge letter, written by hand with a correct xref table.
fn sample_pdf() -> Vec<u8> {
    let text = "BT /F1 14 Tf 72 760 Td (Discharge summary - sample, not a real patient) Tj \
                0 -24 Td /F1 11 Tf (Admitted for neutropenic fever; discharged on day 4.) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// Adds the vault part of the demo.
pub(crate) fn demo(store: &Store) -> Result<(), Error> {
    safe_println!();
    safe_println!("-- The document vault: each file encrypted with its own age key");
    // The person's own files, beside the store's directory.
    let pdf = store.dir().with_file_name("discharge-summary.pdf");
    std::fs::write(&pdf, sample_pdf())?;
    let meta = DocumentMeta {
        title: "Discharge summary, cycle 3".into(),
        kind: DocumentKind::DischargeSummary,
        document_date: Some(jiff::civil::date(2026, 2, 14)),
        tags: vec!["chemo".into(), "cycle 3".into()],
        notes: "Neutropenic fever; antibiotics for a week.".into(),
        content_type: "application/pdf".into(),
        linked_events: Vec::new(),
    };
    let outcome = store.import_document(&pdf, &meta, &mut |_, _| {})?;
    let doc = outcome.document().clone();
    safe_println!("imported a sample PDF ({} bytes) as {}", doc.size, doc.id);
    let again = store.import_document(&pdf, &meta, &mut |_, _| {})?;
    if let ImportOutcome::AlreadyInVault(existing) = again {
        safe_println!(
            "importing it again: already in the vault as {}",
            existing.id
        );
    }
    for d in store.documents(&DocumentFilter::default())? {
        print_line(&d);
    }
    safe_println!(
        "search \"neutropenic\": {} document(s)",
        store.search_documents("neutropenic")?.len()
    );
    for check in store.verify_vault()? {
        safe_println!("verify: {:?} {}", check.health, check.id);
    }
    let out = store.dir().with_file_name("exported.pdf");
    store.export_document(&doc.id, &out, &mut |_, _| {})?;
    let same = std::fs::read(&out)? == std::fs::read(&pdf)?;
    safe_println!(
        "exported to {}: identical to the original: {}",
        out.display(),
        if same { "yes" } else { "NO" }
    );
    let stored = std::fs::read(store.document_content_path(&doc.id)?)?;
    safe_println!(
        "on disk: an age file ({} bytes), plaintext PDF header: {}",
        stored.len(),
        if stored.windows(5).any(|w| w == b"%PDF-") {
            "YES"
        } else {
            "no"
        }
    );
    if !same {
        return Err(Error::Corrupt(
            "the demo export differs from the import".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_pdf_has_a_correct_cross_reference_table() {
        let pdf = sample_pdf();
        let text = String::from_utf8_lossy(&pdf).into_owned();
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(text[startxref..].starts_with("xref\n0 6\n"));
        let entries: Vec<usize> = text[startxref..]
            .lines()
            .skip(3)
            .take(5)
            .map(|l| l[..10].parse().unwrap())
            .collect();
        for (i, offset) in entries.iter().enumerate() {
            assert!(
                text.as_bytes()[*offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {} at {offset}",
                i + 1
            );
        }
        assert!(text.ends_with("%%EOF\n"));
    }
}
