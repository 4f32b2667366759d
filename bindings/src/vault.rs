//! The vault API for the apps.
//!
//! Files cross the FFI as paths, never as byte arrays: a scan of hundreds of megabytes is
//! streamed from and to the app's files by the core. Long operations run off the caller's thread.

use std::path::PathBuf;
use std::sync::Arc;

use cairn_core::vault::{
    parse_document_date, Document, DocumentFilter, DocumentHealth, DocumentKind, DocumentMeta,
    ImportOutcome,
};

use crate::error::CairnError;
use crate::store::CairnStore;

/// A document as lists and detail screens show it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VaultDocument {
    /// The document's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What kind of paper it is.
    pub kind: DocumentKind,
    /// The date on the document (`YYYY-MM-DD`), if known.
    pub document_date: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: String,
    /// The MIME type.
    pub content_type: String,
    /// The plaintext size in bytes.
    pub size: u64,
    /// Linked timeline event ids.
    pub linked_events: Vec<String>,
    /// When it was imported, in milliseconds since the Unix epoch.
    pub imported_at_ms: i64,
}

impl From<Document> for VaultDocument {
    fn from(d: Document) -> Self {
        Self {
            id: d.id,
            title: d.title,
            kind: d.kind,
            document_date: d.document_date.map(|date| date.to_string()),
            tags: d.tags,
            notes: d.notes,
            content_type: d.content_type,
            size: d.size,
            linked_events: d.linked_events,
            imported_at_ms: d.imported_at.as_millisecond(),
        }
    }
}

/// The metadata the person gives a document on import or edit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VaultDocumentMeta {
    /// The title.
    pub title: String,
    /// What kind of paper it is.
    pub kind: DocumentKind,
    /// The date on the document (`YYYY-MM-DD`), if known.
    pub document_date: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: String,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Linked timeline event ids.
    pub linked_events: Vec<String>,
}

impl VaultDocumentMeta {
    fn to_core(&self) -> cairn_core::Result<DocumentMeta> {
        Ok(DocumentMeta {
            title: self.title.clone(),
            kind: self.kind,
            document_date: self
                .document_date
                .as_deref()
                .map(|d| parse_document_date("document_date", d))
                .transpose()?,
            tags: self.tags.clone(),
            notes: self.notes.clone(),
            content_type: self.content_type.clone(),
            linked_events: self.linked_events.clone(),
        })
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VaultImport {
    /// The new document, or the one already holding the same content.
    pub document: VaultDocument,
    /// True when the same content was already in the vault and nothing was added.
    pub already_in_vault: bool,
}

/// Which documents to list; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct VaultFilter {
    /// Only this kind.
    pub kind: Option<DocumentKind>,
    /// Only documents with this tag.
    pub tag: Option<String>,
    /// Only documents dated on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Only documents dated on or before this day (`YYYY-MM-DD`).
    pub to: Option<String>,
}

/// One document's line in a vault check.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VaultCheck {
    /// The document's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What was found.
    pub health: DocumentHealth,
}

/// Receives progress of long imports and exports, for a progress bar.
#[uniffi::export(with_foreign)]
pub trait VaultProgress: Send + Sync {
    /// `done` of `total` bytes have been processed.
    fn on_progress(&self, done: u64, total: u64);
}

/// Runs blocking vault work off the caller's thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CairnError> + Send + 'static,
) -> Result<T, CairnError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CairnError::Internal(format!("vault work stopped: {e}")))?
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
        meta: VaultDocumentMeta,
        progress: Option<Arc<dyn VaultProgress>>,
    ) -> Result<VaultImport, CairnError> {
        blocking(move || {
            self.with(|s| {
                let meta = meta.to_core()?;
                let outcome =
                    s.import_document(&PathBuf::from(path), &meta, &mut reporter(progress))?;
                Ok(match outcome {
                    ImportOutcome::Added(d) => VaultImport {
                        document: d.into(),
                        already_in_vault: false,
                    },
                    ImportOutcome::AlreadyInVault(d) => VaultImport {
                        document: d.into(),
                        already_in_vault: true,
                    },
                })
            })
        })
        .await
    }

    /// Documents matching `filter`, newest document date first.
    pub fn vault_list(&self, filter: VaultFilter) -> Result<Vec<VaultDocument>, CairnError> {
        self.with(|s| {
            let filter = DocumentFilter {
                kind: filter.kind,
                tag: filter.tag,
                from: filter
                    .from
                    .as_deref()
                    .map(|d| parse_document_date("from", d))
                    .transpose()?,
                to: filter
                    .to
                    .as_deref()
                    .map(|d| parse_document_date("to", d))
                    .transpose()?,
            };
            Ok(s.documents(&filter)?.into_iter().map(Into::into).collect())
        })
    }

    /// Full-text search over titles, notes and tags.
    pub fn vault_search(&self, query: String) -> Result<Vec<VaultDocument>, CairnError> {
        self.with(|s| {
            Ok(s.search_documents(&query)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// One document.
    pub fn vault_document(&self, id: String) -> Result<VaultDocument, CairnError> {
        self.with(|s| s.document(&id).map(Into::into))
    }

    /// Replaces a document's metadata.
    pub fn vault_edit(
        &self,
        id: String,
        meta: VaultDocumentMeta,
    ) -> Result<VaultDocument, CairnError> {
        self.with(|s| s.edit_document(&id, &meta.to_core()?).map(Into::into))
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
    ) -> Result<VaultDocument, CairnError> {
        blocking(move || {
            self.with(|s| {
                s.replace_document_content(&id, &PathBuf::from(path), &mut reporter(progress))
                    .map(Into::into)
            })
        })
        .await
    }

    /// Deletes a document for good: its key is destroyed, then its file removed.
    pub fn vault_delete(&self, id: String) -> Result<(), CairnError> {
        self.with(|s| s.delete_document(&id))
    }

    /// Checks every document's content file against its metadata.
    pub async fn vault_verify(self: Arc<Self>) -> Result<Vec<VaultCheck>, CairnError> {
        blocking(move || {
            self.with(|s| {
                Ok(s.verify_vault()?
                    .into_iter()
                    .map(|c| VaultCheck {
                        id: c.id,
                        title: c.title,
                        health: c.health,
                    })
                    .collect())
            })
        })
        .await
    }

    /// The path of a document's encrypted content file (for backup tools and tests).
    pub fn vault_content_path(&self, id: String) -> Result<String, CairnError> {
        self.with(|s| Ok(s.document_content_path(&id)?.to_string_lossy().into_owned()))
    }
}
