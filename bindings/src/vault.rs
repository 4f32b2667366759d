//! The vault API for the apps.
//!
//! Files cross the FFI as paths, never as byte arrays: a scan of hundreds of megabytes is
//! streamed from and to the app's files by the core. Long operations run off the caller's thread.

use std::path::PathBuf;
use std::sync::Arc;

use cairn_core::vault::{Document, DocumentCheck, DocumentFilter, DocumentMeta, ImportOutcome};

use crate::error::CairnError;
use crate::store::{blocking, CairnStore};

/// Receives progress of long imports and exports, for a progress bar.
#[uniffi::export(with_foreign)]
pub trait VaultProgress: Send + Sync {
    /// `done` of `total` bytes have been processed.
    fn on_progress(&self, done: u64, total: u64);
}

fn reporter(progress: Option<Arc<dyn VaultProgress>>) -> impl FnMut(u64, u64) {
    move |done, total| {
        if let Some(p) = &progress {
            p.on_progress(done, total);
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl CairnStore {
    /// Imports the file at `path` into the vault, encrypted, streaming.
    pub async fn vault_import(
        self: Arc<Self>,
        path: String,
        meta: DocumentMeta,
        progress: Option<Arc<dyn VaultProgress>>,
    ) -> Result<ImportOutcome, CairnError> {
        blocking(move || {
            self.with(|s| s.import_document(&PathBuf::from(path), &meta, &mut reporter(progress)))
        })
        .await
    }

    /// Documents matching `filter`, newest document date first.
    pub fn vault_list(&self, filter: DocumentFilter) -> Result<Vec<Document>, CairnError> {
        self.with(|s| s.documents(&filter))
    }

    /// Full-text search over titles, notes and tags.
    pub fn vault_search(&self, query: String) -> Result<Vec<Document>, CairnError> {
        self.with(|s| s.search_documents(&query))
    }

    /// One document.
    pub fn vault_document(&self, id: String) -> Result<Document, CairnError> {
        self.with(|s| s.document(&id))
    }

    /// Replaces a document's metadata.
    pub fn vault_edit(&self, id: String, meta: DocumentMeta) -> Result<Document, CairnError> {
        self.with(|s| s.edit_document(&id, &meta))
    }

    /// Decrypts a document to `dest_path` (exactly that path; replaced if it exists). A damaged
    /// or tampered file fails with `Corrupt` and writes nothing.
    pub async fn vault_export(
        self: Arc<Self>,
        id: String,
        dest_path: String,
        progress: Option<Arc<dyn VaultProgress>>,
    ) -> Result<(), CairnError> {
        blocking(move || {
            self.fetch_content(&id)?;
            self.with(|s| {
                s.export_document(&id, &PathBuf::from(dest_path), &mut reporter(progress))
            })
        })
        .await
    }

    /// Replaces a document's content with the file at `path` (a new version under a new key).
    pub async fn vault_replace_content(
        self: Arc<Self>,
        id: String,
        path: String,
        progress: Option<Arc<dyn VaultProgress>>,
    ) -> Result<Document, CairnError> {
        blocking(move || {
            self.with(|s| {
                s.replace_document_content(&id, &PathBuf::from(path), &mut reporter(progress))
            })
        })
        .await
    }

    /// Deletes a document for good: its key is destroyed, then its file removed.
    pub fn vault_delete(&self, id: String) -> Result<(), CairnError> {
        self.with(|s| s.delete_document(&id))
    }

    /// Checks every document's content file against its metadata.
    pub async fn vault_verify(self: Arc<Self>) -> Result<Vec<DocumentCheck>, CairnError> {
        blocking(move || self.with(|s| s.verify_vault())).await
    }

    /// Downloads a document's content from the relay if it was imported on another device and
    /// is not here yet (export does this by itself); resumes a download cut short.
    pub async fn vault_download(self: Arc<Self>, id: String) -> Result<(), CairnError> {
        blocking(move || self.fetch_content(&id)).await
    }

    /// The path of a document's encrypted content file (for backup tools and tests).
    pub fn vault_content_path(&self, id: String) -> Result<String, CairnError> {
        self.with(|s| Ok(s.document_content_path(&id)?.to_string_lossy().into_owned()))
    }
}
