//! What each `cairn vault` command does.

use std::path::Path;

use cairn_core::vault::{DocumentFilter, DocumentKind, DocumentMeta, ImportOutcome};
use cairn_core::{Error, Store};

use super::args::{AddArgs, ListArgs};
use super::print::{self, progress_bar};
use crate::input;
use crate::terminal::safe_println;

pub(super) fn add(store: &Store, args: AddArgs) -> Result<(), Error> {
    let AddArgs {
        path,
        title,
        kind,
        date,
        tags,
        notes,
        content_type,
        events,
    } = args;
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
            .map(|d| input::date("--date", d))
            .transpose()?,
        tags,
        notes,
        content_type: content_type.unwrap_or_else(|| guess_content_type(&path).into()),
        linked_events: input::ids("--event", &events)?,
    };
    let bar = progress_bar("importing");
    let outcome = store.import_document(&path, &meta, &mut |done, total| bar.update(done, total));
    bar.finish();
    match outcome? {
        ImportOutcome::Added(doc) => {
            safe_println!("added {}", doc.id);
            print::line(&doc);
        }
        ImportOutcome::AlreadyInVault(doc) => {
            safe_println!("already in the vault as {}; nothing added", doc.id);
            print::line(&doc);
        }
    }
    Ok(())
}

pub(super) fn list(store: &Store, args: ListArgs) -> Result<(), Error> {
    let filter = DocumentFilter {
        kind: args.kind.as_deref().map(DocumentKind::parse).transpose()?,
        tag: args.tag,
        from: args
            .from
            .as_deref()
            .map(|d| input::date("--from", d))
            .transpose()?,
        to: args
            .to
            .as_deref()
            .map(|d| input::date("--to", d))
            .transpose()?,
    };
    print::list(&store.documents(&filter)?, args.json);
    Ok(())
}

pub(super) fn search(store: &Store, words: &[String], json: bool) -> Result<(), Error> {
    print::list(&store.search_documents(&words.join(" "))?, json);
    Ok(())
}

pub(super) fn show(store: &Store, id: &str, json: bool) -> Result<(), Error> {
    let id = &input::id("ID", id)?;
    print::document(&store.document(id)?, json);
    Ok(())
}

pub(super) fn export(store: &Store, id: &str, dest: &Path) -> Result<(), Error> {
    let id = &input::id("ID", id)?;
    // Content imported on another device comes down the first time it is needed.
    if store.sync_enabled()? && store.content_to_download(id)?.is_some() {
        let relay = crate::sync::relay_for(store, None)?;
        cairn_core::sync::fetch_document(store, &relay, id)?;
        safe_println!("downloaded {id} from the relay");
    }
    let bar = progress_bar("exporting");
    let result = store.export_document(id, dest, &mut |d, t| bar.update(d, t));
    bar.finish();
    result?;
    safe_println!("exported {id} to {}", dest.display());
    Ok(())
}

pub(super) fn replace(store: &Store, id: &str, path: &Path) -> Result<(), Error> {
    let id = &input::id("ID", id)?;
    let bar = progress_bar("importing");
    let result = store.replace_document_content(id, path, &mut |d, t| bar.update(d, t));
    bar.finish();
    let doc = result?;
    safe_println!("replaced the content of {}", doc.id);
    print::line(&doc);
    Ok(())
}

pub(super) fn key(store: &Store, id: &str, out: &Path) -> Result<(), Error> {
    let id = &input::id("ID", id)?;
    let key = store.document_key(id)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| match e.kind() {
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
        store.document_content_path(id)?.display()
    );
    safe_println!(
        "decrypt with: age -d -i {} -o <file> <encrypted file>",
        out.display()
    );
    Ok(())
}

pub(super) fn rm(store: &Store, id: &str) -> Result<(), Error> {
    let id = &input::id("ID", id)?;
    store.delete_document(id)?;
    safe_println!("deleted {id}; its key is destroyed");
    Ok(())
}

pub(super) fn verify(store: &Store) -> Result<(), Error> {
    let checks = store.verify_vault()?;
    let bad = print::verified(&checks);
    if bad > 0 {
        return Err(Error::Corrupt(format!(
            "{bad} vault document(s) failed verification"
        )));
    }
    Ok(())
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
