//! The document vault: metadata in the database, content as encrypted files beside it.
//!
//! Pathology reports, scans, discharge letters and insurance forms, kept on the phone and ready
//! to hand over. Metadata (title, kind, date, tags, notes, content type, size, linked timeline
//! events) is a synced record written through [`crate::record::Writer`]. Content lives in
//! `vault/<content file id>.age`, a standard age file encrypted to the document's own X25519
//! identity, which is stored in the (encrypted) metadata. See
//! `docs/adr/0002-vault-content-encryption.md` for the design.
//!
//! - `layout`: what the vault directory holds and how content files are named.
//! - [`content`]: content files: the age header, keys, temporary files.
//! - `payload`: the age payload (STREAM chunks), sealed and opened on several cores.
//! - `recover`: removal of what an interrupted import, replace or delete left behind.
//!
//! Ordering makes a crash harmless: content is written to `vault/tmp/`, made durable and
//! renamed before the metadata that refers to it is committed; a delete commits the tombstone
//! (which also wipes the key) before removing the file. Whatever is left over is an orphan file,
//! removed the next time the store opens.

pub mod content;
mod layout;
mod lock;
mod payload;
mod recover;

use std::io::Read;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use cairn_protocol::Scope;

use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::record::{EntityDef, SearchIndex};
use crate::store::{Store, meta_get, meta_set};
pub use content::Progress;

use layout::{INCOMING_DIR, TMP_DIR, is_content_file_id};
use recover::recover;

/// A document's metadata record.
pub static DOCUMENT: EntityDef = EntityDef {
    name: "vault_document",
    table: "vault_documents",
    fields: &[
        "title",
        "kind",
        "document_date",
        "tags",
        "notes",
        "content_type",
        "size",
        "linked_events",
        "imported_at",
        "content_file",
        "content_key",
        "content_blob",
    ],
    search: Some(&DOCUMENT_SEARCH),
    scope: Scope::Documents,
};

/// Full-text search over titles, notes and tags (migration 0008), kept in step by `record/`.
static DOCUMENT_SEARCH: SearchIndex = SearchIndex {
    table: "vault_fts",
    columns: &["title", "notes", "tags"],
};

/// The vault's synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[&DOCUMENT];

pub use crate::store::VAULT_DIR;

/// The `meta` key of the per-store secret that keys plaintext fingerprints.
const FINGERPRINT_KEY: &str = "vault_fingerprint_key";

/// The largest document the vault takes: a long scan series, not a disk image.
pub const MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

const MAX_TITLE: usize = 500;
const MAX_NOTES: usize = 20_000;
const MAX_TAG: usize = 64;
const MAX_TAGS: usize = 50;

/// What kind of paper a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DocumentKind {
    /// Blood counts, chemistry, tumour markers.
    LabReport,
    /// Biopsy and surgical pathology.
    Pathology,
    /// CT, MRI, PET, X-ray reports and images.
    Imaging,
    /// A hospital discharge summary.
    DischargeSummary,
    /// A prescription.
    Prescription,
    /// A letter from or to a clinician.
    Letter,
    /// Insurance forms and correspondence.
    Insurance,
    /// Anything else.
    Other,
}

impl DocumentKind {
    /// Every kind, in the order the apps list them.
    pub const ALL: [DocumentKind; 8] = [
        DocumentKind::LabReport,
        DocumentKind::Pathology,
        DocumentKind::Imaging,
        DocumentKind::DischargeSummary,
        DocumentKind::Prescription,
        DocumentKind::Letter,
        DocumentKind::Insurance,
        DocumentKind::Other,
    ];

    /// The stored and command-line name, e.g. `lab_report`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::LabReport => "lab_report",
            DocumentKind::Pathology => "pathology",
            DocumentKind::Imaging => "imaging",
            DocumentKind::DischargeSummary => "discharge_summary",
            DocumentKind::Prescription => "prescription",
            DocumentKind::Letter => "letter",
            DocumentKind::Insurance => "insurance",
            DocumentKind::Other => "other",
        }
    }

    /// Parses [`DocumentKind::as_str`]'s names (`-` and `_` both accepted).
    pub fn parse(text: &str) -> Result<Self> {
        let normal = text.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == normal)
            .ok_or_else(|| {
                Error::invalid(
                    "kind",
                    "expected lab_report, pathology, imaging, discharge_summary, prescription, \
                     letter, insurance or other",
                )
            })
    }
}

/// The metadata a person gives a document, on import or edit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DocumentMeta {
    /// What the person calls it ("CT chest, March").
    pub title: String,
    /// What kind of paper it is.
    pub kind: DocumentKind,
    /// The date on the document (not the import date), if known.
    pub document_date: Option<Date>,
    /// Free tags; stored trimmed, lower-cased, without repeats.
    pub tags: Vec<String>,
    /// Free notes.
    pub notes: String,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Ids of timeline events the document belongs to.
    pub linked_events: Vec<String>,
}

impl DocumentMeta {
    /// Metadata with a title and kind and nothing else.
    pub fn new(title: impl Into<String>, kind: DocumentKind) -> Self {
        Self {
            title: title.into(),
            kind,
            document_date: None,
            tags: Vec::new(),
            notes: String::new(),
            content_type: "application/octet-stream".into(),
            linked_events: Vec::new(),
        }
    }

    /// Checks and normalises the metadata.
    fn checked(&self) -> Result<DocumentMeta> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err(Error::invalid("title", "must not be empty"));
        }
        if title.chars().count() > MAX_TITLE {
            return Err(Error::invalid("title", "longer than 500 characters"));
        }
        if self.notes.chars().count() > MAX_NOTES {
            return Err(Error::invalid("notes", "longer than 20000 characters"));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in &self.tags {
            let tag = tag.trim().to_lowercase();
            if tag.is_empty() {
                continue;
            }
            if tag.chars().count() > MAX_TAG {
                return Err(Error::invalid("tags", "a tag is longer than 64 characters"));
            }
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(Error::invalid("tags", "more than 50 tags"));
        }
        tags.sort();
        let content_type = self.content_type.trim().to_ascii_lowercase();
        if !is_mime_type(&content_type) {
            return Err(Error::invalid(
                "content_type",
                "expected a MIME type such as application/pdf",
            ));
        }
        let mut linked_events = Vec::new();
        for event in &self.linked_events {
            let event = event.trim();
            if event.is_empty()
                || event.len() > 64
                || !event
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(Error::invalid("linked_events", "not an event id"));
            }
            if !linked_events.iter().any(|e: &String| e == event) {
                linked_events.push(event.to_owned());
            }
        }
        Ok(DocumentMeta {
            title: title.to_owned(),
            kind: self.kind,
            document_date: self.document_date,
            tags,
            notes: self.notes.trim().to_owned(),
            content_type,
            linked_events,
        })
    }
}

/// Parses a document date (`YYYY-MM-DD`), as the apps and the command line pass it.
pub fn parse_document_date(field: &'static str, text: &str) -> Result<Date> {
    text.trim()
        .parse()
        .map_err(|_| Error::invalid(field, "expected a date such as 2026-03-08"))
}

fn is_mime_type(text: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match text.split_once('/') {
        Some((kind, sub)) => token(kind) && token(sub),
        None => false,
    }
}

/// A document in the vault, as lists and detail screens show it (and `--json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Document {
    /// The document's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What kind of paper it is.
    pub kind: DocumentKind,
    /// The date on the document, if known.
    pub document_date: Option<Date>,
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
    /// When it was first imported.
    pub imported_at: Timestamp,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ImportOutcome {
    /// The document was added.
    Added(Document),
    /// The same content is already in the vault as this document; nothing was added.
    AlreadyInVault(Document),
}

impl ImportOutcome {
    /// The new or existing document.
    pub fn document(&self) -> &Document {
        match self {
            ImportOutcome::Added(d) | ImportOutcome::AlreadyInVault(d) => d,
        }
    }
}

/// Which documents to list. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DocumentFilter {
    /// Only this kind.
    pub kind: Option<DocumentKind>,
    /// Only documents with this tag.
    pub tag: Option<String>,
    /// Only documents dated on or after this day.
    pub from: Option<Date>,
    /// Only documents dated on or before this day.
    pub to: Option<Date>,
}

/// The result of checking one document's content file against its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DocumentHealth {
    /// The file decrypts fully and matches size and fingerprint.
    Ok,
    /// The content file is missing.
    Missing,
    /// The content is on another device and not downloaded here yet: it comes down through
    /// sync when the document is first opened. Not a problem.
    NotDownloaded,
    /// The file fails authentication: damaged, cut short or tampered with.
    Corrupt,
    /// It decrypts, but its length differs from the metadata.
    SizeMismatch,
    /// It decrypts, but its keyed hash differs from the one taken on import.
    ContentMismatch,
}

impl DocumentHealth {
    /// Whether it is something wrong (content not downloaded yet is not).
    pub fn is_problem(self) -> bool {
        !matches!(self, DocumentHealth::Ok | DocumentHealth::NotDownloaded)
    }

    /// What was found, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            DocumentHealth::Ok => "ok",
            DocumentHealth::Missing => "content file missing",
            DocumentHealth::NotDownloaded => "on another device, not downloaded here yet",
            DocumentHealth::Corrupt => "content file damaged or tampered with",
            DocumentHealth::SizeMismatch => "content length differs from its metadata",
            DocumentHealth::ContentMismatch => "content differs from what was imported",
        }
    }
}

/// One line of a [`Store::verify_vault`] report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DocumentCheck {
    /// The document's id.
    pub id: String,
    /// Its title, for the person reading the report.
    pub title: String,
    /// What was found.
    pub health: DocumentHealth,
}

/// The columns [`read_document`] reads, in order.
const DOCUMENT_COLUMNS: &str = "d.id, d.title, d.kind, d.document_date, d.tags, d.notes, \
     d.content_type, d.size, d.linked_events, d.imported_at";

/// Rows with every field a document needs; fields of a record synced in one field at a time
/// are not shown until the content reference is there.
const COMPLETE: &str = "d.title IS NOT NULL AND d.kind IS NOT NULL AND d.size IS NOT NULL \
     AND d.imported_at IS NOT NULL AND d.content_file IS NOT NULL AND d.content_key IS NOT NULL";

fn read_document(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDocument> {
    Ok(RawDocument {
        id: r.get(0)?,
        title: r.get(1)?,
        kind: r.get(2)?,
        document_date: r.get(3)?,
        tags: r.get(4)?,
        notes: r.get(5)?,
        content_type: r.get(6)?,
        size: r.get(7)?,
        linked_events: r.get(8)?,
        imported_at: r.get(9)?,
    })
}

struct RawDocument {
    id: String,
    title: String,
    kind: String,
    document_date: Option<String>,
    tags: Option<String>,
    notes: Option<String>,
    content_type: Option<String>,
    size: i64,
    linked_events: Option<String>,
    imported_at: String,
}

impl RawDocument {
    fn parse(self) -> Result<Document> {
        let corrupt = |what: &str| Error::Corrupt(format!("vault document {}: {what}", self.id));
        let list = |text: &Option<String>, what: &str| -> Result<Vec<String>> {
            match text {
                None => Ok(Vec::new()),
                Some(t) => serde_json::from_str(t).map_err(|_| corrupt(what)),
            }
        };
        Ok(Document {
            title: self.title.clone(),
            kind: DocumentKind::parse(&self.kind).map_err(|_| corrupt("kind"))?,
            document_date: self
                .document_date
                .as_deref()
                .map(|d| d.parse::<Date>().map_err(|_| corrupt("document date")))
                .transpose()?,
            tags: list(&self.tags, "tags")?,
            notes: self.notes.clone().unwrap_or_default(),
            content_type: self
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: u64::try_from(self.size).map_err(|_| corrupt("size"))?,
            linked_events: list(&self.linked_events, "linked events")?,
            imported_at: self
                .imported_at
                .parse()
                .map_err(|_| corrupt("import time"))?,
            id: self.id,
        })
    }
}

/// Where a document's content is and the key that opens it.
struct ContentRef {
    file: PathBuf,
    file_id: String,
    key: Zeroizing<String>,
    size: u64,
}

fn no_progress() -> impl FnMut(u64, u64) {
    |_, _| {}
}

impl Store {
    /// The vault directory.
    pub fn vault_dir(&self) -> PathBuf {
        self.dir().join(VAULT_DIR)
    }

    fn content_path(&self, file_id: &str) -> PathBuf {
        self.vault_dir().join(format!("{file_id}.age"))
    }

    /// Removes what interrupted vault operations left behind: temporary files and content files
    /// no document refers to. Runs on every open; safe to call at any time no vault operation
    /// of this store is under way.
    pub fn recover_vault(&self) -> Result<()> {
        recover(self.conn(), self.dir())
    }

    /// The per-store secret that keys plaintext fingerprints, created on first use.
    fn fingerprint_key(&self) -> Result<Zeroizing<[u8; 32]>> {
        let mut key = Zeroizing::new([0u8; 32]);
        match meta_get(self.conn(), FINGERPRINT_KEY)? {
            Some(hex_key) => {
                let hex_key = Zeroizing::new(hex_key);
                hex::decode_to_slice(hex_key.as_bytes(), key.as_mut())
                    .map_err(|_| Error::Corrupt("vault fingerprint key".into()))?;
            }
            None => {
                // Local-only, not synced: each store keys its own fingerprints.
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
                let hex_key = Zeroizing::new(hex::encode(key.as_ref()));
                meta_set(self.conn(), FINGERPRINT_KEY, &hex_key)?;
            }
        }
        Ok(key)
    }

    /// Imports the file at `path`, streaming: memory use does not grow with its size.
    /// `progress` is called with `(bytes done, file size)` as the import goes.
    ///
    /// If the same content is already in the vault, nothing is added and the existing document
    /// is returned as [`ImportOutcome::AlreadyInVault`].
    pub fn import_document(
        &self,
        path: &Path,
        meta: &DocumentMeta,
        progress: Progress<'_>,
    ) -> Result<ImportOutcome> {
        let meta = meta.checked()?;
        let (file, total) = open_document_file(path)?;
        self.import_from(file, total, &meta, progress)
    }

    /// Imports a small in-memory document (a generated letter, a photo the app already holds).
    pub fn import_document_bytes(
        &self,
        bytes: &[u8],
        meta: &DocumentMeta,
    ) -> Result<ImportOutcome> {
        let meta = meta.checked()?;
        self.import_from(bytes, bytes.len() as u64, &meta, &mut no_progress())
    }

    fn import_from(
        &self,
        input: impl Read + Send,
        total: u64,
        meta: &DocumentMeta,
        progress: Progress<'_>,
    ) -> Result<ImportOutcome> {
        let Staged {
            _lock,
            partial,
            file_id,
            key_text,
            encrypted,
        } = self.stage_content(input, total, progress)?;
        if let Some(existing) = self.document_with_fingerprint(&encrypted.fingerprint)? {
            std::fs::remove_file(&partial)?;
            return Ok(ImportOutcome::AlreadyInVault(existing));
        }
        let final_path = self.install_content(&partial, &file_id)?;
        let id = new_id();
        let committed = (|| {
            let mut w = self.writer()?;
            settle_pending(w.tx(), &file_id)?;
            let content = [
                ("size", Value::from(encrypted.size)),
                ("imported_at", Value::from(self.clock().now().to_string())),
                ("content_file", Value::from(file_id.as_str())),
                ("content_key", Value::from(key_text.as_str())),
            ];
            w.create(&DOCUMENT, &id, meta_fields(meta).into_iter().chain(content))?;
            // Local-only, not synced: the fingerprint under this store's own secret.
            w.tx().execute(
                "INSERT INTO vault_fingerprints(document_id, content_file, fingerprint)
                 VALUES (?1, ?2, ?3)",
                params![id, file_id, encrypted.fingerprint],
            )?;
            w.commit()
        })();
        if let Err(e) = committed {
            // No metadata refers to the file: remove it now rather than at the next open.
            self.remove_pending(&final_path)?;
            return Err(e);
        }
        Ok(ImportOutcome::Added(self.document(&id)?))
    }

    fn document_with_fingerprint(&self, fingerprint: &str) -> Result<Option<Document>> {
        let id: Option<String> = self
            .conn()
            .query_row(
                &format!(
                    "SELECT d.id FROM vault_fingerprints f
                     JOIN vault_documents d ON d.id = f.document_id
                         AND d.content_file = f.content_file
                     WHERE f.fingerprint = ?1 AND {COMPLETE} LIMIT 1"
                ),
                [fingerprint],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| self.document(&id)).transpose()
    }

    /// One document.
    pub fn document(&self, id: &str) -> Result<Document> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM vault_documents d WHERE d.id = ?1 AND {COMPLETE}"
                ),
                [id],
                read_document,
            )
            .optional()?
            .ok_or(Error::NotFound { entity: "document" })?
            .parse()
    }

    /// Documents matching `filter`, newest document date first (undated last).
    pub fn documents(&self, filter: &DocumentFilter) -> Result<Vec<Document>> {
        let tag = filter.tag.as_ref().map(|t| t.trim().to_lowercase());
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM vault_documents d
             WHERE {COMPLETE}
               AND (?1 IS NULL OR d.kind = ?1)
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?2))
               AND (?3 IS NULL OR d.document_date >= ?3)
               AND (?4 IS NULL OR d.document_date <= ?4)
             ORDER BY d.document_date IS NULL, d.document_date DESC, d.imported_at DESC, d.id"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.kind.map(DocumentKind::as_str),
                tag,
                filter.from.map(|d| d.to_string()),
                filter.to.map(|d| d.to_string()),
            ],
            read_document,
        )?;
        rows.map(|r| r?.parse()).collect()
    }

    /// Full-text search over titles, notes and tags; every word must match (as a prefix),
    /// best matches first.
    pub fn search_documents(&self, query: &str) -> Result<Vec<Document>> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM vault_fts s
             JOIN vault_documents d ON d.rid = s.rowid
             WHERE vault_fts MATCH ?1 AND {COMPLETE}
             ORDER BY bm25(vault_fts, 10.0, 2.0, 5.0), d.id"
        ))?;
        let rows = stmt.query_map([fts], read_document)?;
        rows.map(|r| r?.parse()).collect()
    }

    /// Replaces a document's metadata (not its content).
    pub fn edit_document(&self, id: &str, meta: &DocumentMeta) -> Result<Document> {
        let meta = meta.checked()?;
        self.document(id)?;
        let mut w = self.writer()?;
        w.set_all(&DOCUMENT, id, meta_fields(&meta))?;
        w.commit()?;
        self.document(id)
    }

    fn content_ref(&self, id: &str) -> Result<ContentRef> {
        let row: Option<(String, String, i64)> = self
            .conn()
            .query_row(
                &format!(
                    "SELECT d.content_file, d.content_key, d.size FROM vault_documents d
                     WHERE d.id = ?1 AND {COMPLETE}"
                ),
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (file_id, key, size) = row.ok_or(Error::NotFound { entity: "document" })?;
        let key = Zeroizing::new(key);
        if !is_content_file_id(&file_id) {
            return Err(Error::Corrupt(format!(
                "vault document {id}: content file reference"
            )));
        }
        Ok(ContentRef {
            file: self.content_path(&file_id),
            file_id,
            key,
            size: u64::try_from(size)
                .map_err(|_| Error::Corrupt(format!("vault document {id}: size")))?,
        })
    }

    /// The content file a document refers to, if the reference is well-formed. A document with
    /// a damaged reference can still be replaced or deleted.
    fn current_content_file(&self, id: &str) -> Result<Option<PathBuf>> {
        let file_id: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT content_file FROM vault_documents WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let file_id = file_id.ok_or(Error::NotFound { entity: "document" })?;
        Ok(file_id
            .filter(|f| is_content_file_id(f))
            .map(|f| self.content_path(&f)))
    }

    /// Decrypts a document to `dest`, exactly the path given (replaced if it exists). The bytes
    /// appear at `dest` only once the whole file authenticated; a damaged or tampered file is
    /// [`Error::Corrupt`] and leaves `dest` untouched.
    ///
    /// A destination inside the store's own directory is refused: exporting onto the database
    /// or a content file would destroy it. The plaintext is written to a temporary file beside
    /// `dest` (readable by this user only) whose path is noted in the database first, so that a
    /// copy left by an export killed before its rename is removed the next time the store opens.
    pub fn export_document(&self, id: &str, dest: &Path, progress: Progress<'_>) -> Result<()> {
        let content = self.content_ref(id)?;
        let identity = content::parse_identity(&content.key, id)?;
        self.check_outside_store(dest)?;
        let _lock = lock::VaultLock::shared(&self.vault_dir())?;
        let partial = content::partial_beside(dest)?;
        let noted = partial.to_string_lossy().into_owned();
        self.conn().execute(
            "INSERT INTO vault_pending_exports(path) VALUES (?1)",
            [&noted],
        )?;
        let result = content::decrypt_to_path(
            &content.file,
            &identity,
            id,
            &partial,
            dest,
            content.size,
            progress,
        );
        self.conn().execute(
            "DELETE FROM vault_pending_exports WHERE path = ?1",
            [&noted],
        )?;
        result
    }

    /// Refuses a destination whose directory is the store's own (or inside it).
    fn check_outside_store(&self, dest: &Path) -> Result<()> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let parent = parent
            .canonicalize()
            .map_err(|_| Error::invalid("destination", "its folder does not exist"))?;
        let store = self.dir().canonicalize()?;
        if parent.starts_with(&store) {
            return Err(Error::invalid(
                "destination",
                "is inside the store's own directory; export somewhere else",
            ));
        }
        Ok(())
    }

    /// Encrypts `input` under a fresh document key into the staging directory, holding the
    /// vault lock (shared) from before the first byte is written: the caller keeps it until the
    /// metadata that refers to the content is committed, so that another process's recovery
    /// cannot take the new file for an orphan in between.
    fn stage_content(
        &self,
        input: impl Read + Send,
        total: u64,
        progress: Progress<'_>,
    ) -> Result<Staged> {
        let lock = lock::VaultLock::shared(&self.vault_dir())?;
        let fingerprint_key = self.fingerprint_key()?;
        let (identity, key_text) = content::new_identity();
        let partial = self.staging_path()?;
        let encrypted = content::encrypt_to_file(
            input.take(MAX_DOCUMENT_BYTES + 1),
            total,
            &identity,
            &fingerprint_key,
            &partial,
            progress,
        )?;
        if encrypted.size > MAX_DOCUMENT_BYTES {
            remove_if_present(&partial)?;
            return Err(too_large());
        }
        Ok(Staged {
            _lock: lock,
            partial,
            file_id: new_id(),
            key_text,
            encrypted,
        })
    }

    /// A fresh path in the vault's staging directory, which is created if missing.
    fn staging_path(&self) -> Result<PathBuf> {
        let vault = self.vault_dir();
        let tmp_dir = vault.join(TMP_DIR);
        if !tmp_dir.is_dir() {
            crate::store::create_private_dir(&tmp_dir)?;
            crate::store::set_mode(&vault, 0o700)?;
        }
        Ok(tmp_dir.join(format!("{}.partial", new_id())))
    }

    /// Opens a document for reading: decrypts it to the caller's (app-private) path, e.g. a
    /// cache file handed to a viewer. The same guarantees as [`Store::export_document`].
    pub fn open_document(&self, id: &str, dest: &Path) -> Result<()> {
        self.export_document(id, dest, &mut no_progress())
    }

    /// Replaces a document's content with the file at `path`: a new version under a new key in a
    /// new file; the old file is removed once the new metadata is committed.
    pub fn replace_document_content(
        &self,
        id: &str,
        path: &Path,
        progress: Progress<'_>,
    ) -> Result<Document> {
        self.document(id)?;
        let old_file = self.current_content_file(id)?;
        let (file, total) = open_document_file(path)?;
        let Staged {
            _lock,
            partial,
            file_id,
            key_text,
            encrypted,
        } = self.stage_content(file, total, progress)?;
        let final_path = self.install_content(&partial, &file_id)?;
        let committed = (|| {
            let mut w = self.writer()?;
            // The old file is noted pending by the row's trigger as the reference changes.
            settle_pending(w.tx(), &file_id)?;
            w.set_all(
                &DOCUMENT,
                id,
                [
                    ("size", Value::from(encrypted.size)),
                    ("content_file", Value::from(file_id.as_str())),
                    ("content_key", Value::from(key_text.as_str())),
                    // The new file's blob is named when it is uploaded.
                    ("content_blob", Value::Null),
                ],
            )?;
            // Local-only, not synced: the fingerprint of the new version.
            w.tx().execute(
                "INSERT INTO vault_fingerprints(document_id, content_file, fingerprint)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT(document_id) DO UPDATE
                 SET content_file = excluded.content_file, fingerprint = excluded.fingerprint",
                params![id, file_id, encrypted.fingerprint],
            )?;
            w.commit()
        })();
        if let Err(e) = committed {
            self.remove_pending(&final_path)?;
            return Err(e);
        }
        if let Some(old_file) = old_file {
            self.remove_pending(&old_file)?;
        }
        self.document(id)
    }

    /// Deletes a document for good, by crypto-shredding: the tombstone is committed and the
    /// content key wiped from the database first, then the content file is removed. A copy of
    /// the file in a backup cannot be decrypted afterwards.
    pub fn delete_document(&self, id: &str) -> Result<()> {
        let file = self.current_content_file(id)?;
        let mut w = self.writer()?;
        // The row's trigger notes its content file pending as the row goes.
        w.delete(&DOCUMENT, id)?;
        // The commit also erases the old pages that held the key, from the WAL too.
        w.commit()?;
        match file {
            Some(file) => self.remove_pending(&file),
            None => Ok(()),
        }
    }

    /// Moves a staged content file into the vault under `file_id`, durably, noting it as
    /// pending first: until the commit that refers to it settles it, a crash leaves a file the
    /// next open can prove abandoned.
    fn install_content(&self, partial: &Path, file_id: &str) -> Result<PathBuf> {
        note_pending(self.conn(), file_id)?;
        let final_path = self.content_path(file_id);
        std::fs::rename(partial, &final_path)?;
        content::sync_dir(&self.vault_dir())?;
        Ok(final_path)
    }

    /// Removes a pending content file unless a live document refers to it, then settles it.
    fn remove_pending(&self, file: &Path) -> Result<()> {
        self.remove_unreferenced(file)?;
        settle_pending(self.conn(), &file_id_of(file))
    }

    /// Removes a content file unless a live document still refers to it (metadata from another
    /// device could point two documents at one file; removing it would destroy the other).
    fn remove_unreferenced(&self, file: &Path) -> Result<()> {
        let file_id = file_id_of(file);
        let referenced: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM vault_documents WHERE content_file = ?1)",
            [file_id],
            |r| r.get(0),
        )?;
        if referenced {
            Ok(())
        } else {
            remove_if_present(file)
        }
    }

    /// The age secret key string that decrypts a document's content file, for handing the file
    /// to someone who uses the standard `age`/`rage` tool. Treat it like the document itself.
    pub fn document_key(&self, id: &str) -> Result<Zeroizing<String>> {
        Ok(self.content_ref(id)?.key)
    }

    /// The path of a document's encrypted content file.
    pub fn document_content_path(&self, id: &str) -> Result<PathBuf> {
        Ok(self.content_ref(id)?.file)
    }

    /// Checks every document's content file: it decrypts fully, and its length and keyed hash
    /// match the metadata. One line per document, in list order.
    pub fn verify_vault(&self) -> Result<Vec<DocumentCheck>> {
        let fingerprint_key = self.fingerprint_key()?;
        let documents = self.documents(&DocumentFilter::default())?;
        let mut checks = Vec::with_capacity(documents.len());
        for doc in documents {
            let health = self.check_document(&doc.id, &fingerprint_key)?;
            checks.push(DocumentCheck {
                id: doc.id,
                title: doc.title,
                health,
            });
        }
        Ok(checks)
    }

    fn check_document(&self, id: &str, fingerprint_key: &[u8; 32]) -> Result<DocumentHealth> {
        let content = match self.content_ref(id) {
            Ok(c) => c,
            Err(Error::Corrupt(_)) => return Ok(DocumentHealth::Corrupt),
            Err(e) => return Err(e),
        };
        if !content.file.is_file() {
            // Content this store imported has a fingerprint here; content another device
            // imported has none until it is downloaded.
            let imported_here: bool = self.conn().query_row(
                "SELECT EXISTS (SELECT 1 FROM vault_fingerprints WHERE document_id = ?1)",
                [id],
                |r| r.get(0),
            )?;
            return Ok(if imported_here {
                DocumentHealth::Missing
            } else {
                DocumentHealth::NotDownloaded
            });
        }
        let Ok(identity) = content::parse_identity(&content.key, id) else {
            return Ok(DocumentHealth::Corrupt);
        };
        let mut hasher = content::fingerprinter(fingerprint_key);
        let size = match content::decrypt_stream(
            &content.file,
            &identity,
            id,
            &mut std::io::sink(),
            Some(&mut hasher),
            content.size,
            &mut no_progress(),
        ) {
            Ok(size) => size,
            Err(Error::Corrupt(_)) => return Ok(DocumentHealth::Corrupt),
            Err(e) => return Err(e),
        };
        if size != content.size {
            return Ok(DocumentHealth::SizeMismatch);
        }
        let expected: Option<String> = self
            .conn()
            .query_row(
                "SELECT fingerprint FROM vault_fingerprints
                 WHERE document_id = ?1 AND content_file = ?2",
                [id, &content.file_id],
                |r| r.get(0),
            )
            .optional()?;
        // Content imported on another device has no local fingerprint yet; authentication
        // and length still vouch for it.
        match expected {
            Some(e) if e != hasher.finalize().to_hex().as_str() => {
                Ok(DocumentHealth::ContentMismatch)
            }
            _ => Ok(DocumentHealth::Ok),
        }
    }
}

/// A document's content file as this device holds it: what sync uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalContent {
    /// The document.
    pub document: String,
    /// Its content file's id.
    pub file_id: String,
    /// The file.
    pub path: PathBuf,
    /// The blob (BLAKE3 of the file, hex) already named for this file, if any.
    pub blob: Option<String>,
}

/// A document's `content_blob`: `<content file id>/<BLAKE3 hex>`, naming the blob of exactly
/// that file, so a hash written for an older version of the content is never taken for the
/// new one's.
fn blob_of(file_id: &str, content_blob: Option<&str>) -> Option<String> {
    let (file, hash) = content_blob?.split_once('/')?;
    (file == file_id && hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hash.to_owned())
}

impl Store {
    /// Every document whose content file is on this device, with the blob named for it.
    pub fn local_contents(&self) -> Result<Vec<LocalContent>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT d.id, d.content_file, d.content_blob FROM vault_documents d WHERE {COMPLETE}"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (document, file_id, blob) = row?;
            if !is_content_file_id(&file_id) {
                continue;
            }
            let path = self.content_path(&file_id);
            if path.is_file() {
                out.push(LocalContent {
                    blob: blob_of(&file_id, blob.as_deref()),
                    document,
                    file_id,
                    path,
                });
            }
        }
        Ok(out)
    }

    /// Names the blob of `document`'s content file `file_id` (its BLAKE3, hex), a synced field:
    /// other devices download the content by it. Nothing is written if the document's content
    /// has changed since.
    pub fn name_content_blob(&self, document: &str, file_id: &str, hash: &str) -> Result<()> {
        let mut w = self.writer()?;
        let current: Option<String> = w
            .tx()
            .query_row(
                "SELECT content_file FROM vault_documents WHERE id = ?1",
                [document],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if current.as_deref() == Some(file_id) {
            w.set(
                &DOCUMENT,
                document,
                "content_blob",
                format!("{file_id}/{hash}"),
            )?;
            w.commit()?;
        }
        Ok(())
    }

    /// What downloading `document`'s content takes: its content file's id and blob. `None` when
    /// the content is already here; [`Error::NotFound`] when the device that has it has not
    /// uploaded it yet.
    pub fn content_to_download(&self, document: &str) -> Result<Option<(String, String)>> {
        let row: Option<(String, Option<String>)> = self
            .conn()
            .query_row(
                &format!(
                    "SELECT d.content_file, d.content_blob FROM vault_documents d
                     WHERE d.id = ?1 AND {COMPLETE}"
                ),
                [document],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (file_id, blob) = row.ok_or(Error::NotFound { entity: "document" })?;
        if !is_content_file_id(&file_id) {
            return Err(Error::Corrupt(format!(
                "vault document {document}: content file reference"
            )));
        }
        if self.content_path(&file_id).is_file() {
            return Ok(None);
        }
        let hash = blob_of(&file_id, blob.as_deref()).ok_or(Error::NotFound {
            entity: "document content (the device that has it has not uploaded it yet)",
        })?;
        Ok(Some((file_id, hash)))
    }

    /// Where the download of content file `file_id` collects (created if missing).
    pub fn incoming_path(&self, file_id: &str) -> Result<PathBuf> {
        if !is_content_file_id(file_id) {
            return Err(Error::invalid("content file", "not a content file id"));
        }
        let incoming = self.vault_dir().join(INCOMING_DIR);
        if !incoming.is_dir() {
            crate::store::create_private_dir(&self.vault_dir())?;
            crate::store::create_private_dir(&incoming)?;
        }
        Ok(incoming.join(format!("{file_id}.part")))
    }

    /// Puts a whole, checked download of content file `file_id` in place: made durable, then
    /// renamed into the vault, the vault's directory made durable. Content nobody refers to any
    /// more (deleted meanwhile) is dropped.
    pub fn install_download(&self, file_id: &str, downloaded: &Path) -> Result<()> {
        let _lock = lock::VaultLock::shared(&self.vault_dir())?;
        let referenced: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM vault_documents WHERE content_file = ?1)",
            [file_id],
            |r| r.get(0),
        )?;
        if !referenced {
            return remove_if_present(downloaded);
        }
        std::fs::File::open(downloaded)?.sync_all()?;
        std::fs::rename(downloaded, self.content_path(file_id))?;
        content::sync_dir(&self.vault_dir())
    }
}

/// The synced fields a document's metadata sets.
fn meta_fields(meta: &DocumentMeta) -> [(&'static str, Value); 7] {
    [
        ("title", Value::from(meta.title.as_str())),
        ("kind", Value::from(meta.kind.as_str())),
        (
            "document_date",
            meta.document_date
                .map_or(Value::Null, |d| Value::from(d.to_string())),
        ),
        ("tags", Value::from(meta.tags.clone())),
        ("notes", Value::from(meta.notes.as_str())),
        ("content_type", Value::from(meta.content_type.as_str())),
        ("linked_events", Value::from(meta.linked_events.clone())),
    ]
}

/// Content encrypted into the staging directory, not yet in the vault.
struct Staged {
    /// The vault lock, held until the content is committed or given up.
    _lock: lock::VaultLock,
    /// The encrypted file in `vault/tmp/`.
    partial: PathBuf,
    /// The id it will have in the vault.
    file_id: String,
    /// The document key that opens it, as an age secret key string.
    key_text: Zeroizing<String>,
    /// Its size and fingerprint.
    encrypted: content::Encrypted,
}

/// The content file id of a path in the vault.
fn file_id_of(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Notes a content file as pending: about to be installed. (One about to be removed is noted by
/// the triggers on `vault_documents` as its reference goes, locally or from another device.)
fn note_pending(conn: &rusqlite::Connection, file_id: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO vault_pending_files(file_id) VALUES (?1)",
        [file_id],
    )?;
    Ok(())
}

/// Settles a pending content file: the commit that refers to it (or its removal) is done.
fn settle_pending(conn: &rusqlite::Connection, file_id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM vault_pending_files WHERE file_id = ?1",
        [file_id],
    )?;
    Ok(())
}

/// Opens a file to import: regular files only (a FIFO would block forever, `/dev/zero` fill the
/// disk), no larger than [`MAX_DOCUMENT_BYTES`]. Returns it with its size.
fn open_document_file(path: &Path) -> Result<(std::fs::File, u64)> {
    let not_found = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Error::invalid("path", "no such file"),
        _ => Error::Io(e),
    };
    // Checked before opening, since opening a FIFO blocks until a writer comes; and again on
    // the open file, in case the path was swapped in between.
    if !std::fs::metadata(path).map_err(not_found)?.is_file() {
        return Err(Error::invalid("path", "not a regular file"));
    }
    let file = std::fs::File::open(path).map_err(not_found)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::invalid("path", "not a regular file"));
    }
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(too_large());
    }
    Ok((file, meta.len()))
}

fn too_large() -> Error {
    Error::invalid(
        "path",
        "larger than the vault's 4 GiB limit for one document",
    )
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                content::sync_dir(dir)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io(e)),
    }
}

/// What a person typed into the vault's search box as a full-text query, every word of it
/// (see [`crate::record::match_expression`]).
pub(crate) fn fts_query(input: &str) -> Option<String> {
    crate::record::match_expression(input, usize::MAX)
}

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;
