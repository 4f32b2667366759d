//! Document content: age-encrypted files, written and read as streams.
//!
//! Every file is a standard age v1 file to one X25519 recipient, the document's own identity:
//! a header, then ChaCha20-Poly1305 STREAM chunks of 64 KiB, the last one flagged. A flipped,
//! cut or reordered chunk fails authentication, so decryption never yields wrong bytes; output
//! goes to a temporary file that is renamed into place only after the whole stream authenticated.
//!
//! The `age` crate writes and checks the header (recipient stanza, MAC); the payload after it is
//! sealed and opened by [`super::payload`] on several cores. The file key passes from one to the
//! other through age's own extension point, the recipient and identity traits.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;
use age::x25519;
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use super::payload::{self, Failure, PayloadKey};
use crate::error::{Error, Result};

/// How often writeback of what was written so far is started, so that the fsync crash safety
/// needs at the end has little left to write.
const FLUSH_EVERY: u64 = 8 * 1024 * 1024;

/// Reports progress as `(bytes done, bytes expected)`.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// A fresh per-document key, as the age secret key string (`AGE-SECRET-KEY-1…`).
pub(crate) fn new_identity() -> (x25519::Identity, Zeroizing<String>) {
    let identity = x25519::Identity::generate();
    let text = Zeroizing::new(identity.to_string().expose_secret().to_owned());
    (identity, text)
}

/// Parses a stored identity; a damaged one is corrupt metadata of `document`.
pub(crate) fn parse_identity(text: &str, document: &str) -> Result<x25519::Identity> {
    text.parse::<x25519::Identity>()
        .map_err(|_| Error::Corrupt(format!("vault document {document}: content key")))
}

/// The keyed BLAKE3 hasher for plaintext fingerprints.
pub(crate) fn fingerprinter(key: &[u8; 32]) -> blake3::Hasher {
    blake3::Hasher::new_keyed(key)
}

/// What encrypting a stream produced.
pub(crate) struct Encrypted {
    /// Plaintext length.
    pub(crate) size: u64,
    /// Keyed hash of the plaintext, hex.
    pub(crate) fingerprint: String,
}

/// How long this process has waited for vault files to reach the disk, since it started: for
/// benchmarks and diagnostics (take it before and after an operation and subtract).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskWait {
    /// Time an import, replace or delete stood still in `fsync`: the staging file's before its
    /// rename, the vault directory's after it.
    pub blocking: Duration,
    /// Time spent in writeback started while an import was still encrypting, on a thread of its
    /// own; it overlaps the encryption rather than adding to it.
    pub background: Duration,
}

static BLOCKING_NANOS: AtomicU64 = AtomicU64::new(0);
static BACKGROUND_NANOS: AtomicU64 = AtomicU64::new(0);

/// The [`DiskWait`] of this process so far.
pub fn disk_wait() -> DiskWait {
    DiskWait {
        blocking: Duration::from_nanos(BLOCKING_NANOS.load(Ordering::Relaxed)),
        background: Duration::from_nanos(BACKGROUND_NANOS.load(Ordering::Relaxed)),
    }
}

/// Runs `sync`, adding the time it took to `counter`.
fn timed<T>(counter: &AtomicU64, sync: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let started = Instant::now();
    let result = sync();
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(nanos, Ordering::Relaxed);
    result
}

/// A recipient that is the document's X25519 recipient and also keeps the file key the `age`
/// crate hands it, so that the payload can be sealed outside the crate.
pub(super) struct KeepFileKey<'a> {
    recipient: &'a x25519::Recipient,
    file_key: RefCell<Option<Zeroizing<[u8; 16]>>>,
}

impl<'a> KeepFileKey<'a> {
    pub(super) fn new(recipient: &'a x25519::Recipient) -> Self {
        Self {
            recipient,
            file_key: RefCell::new(None),
        }
    }

    /// The file key the crate wrapped, once it has.
    pub(super) fn file_key(self) -> Option<Zeroizing<[u8; 16]>> {
        self.file_key.into_inner()
    }
}

impl age::Recipient for KeepFileKey<'_> {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> std::result::Result<(Vec<Stanza>, std::collections::HashSet<String>), age::EncryptError>
    {
        *self.file_key.borrow_mut() = Some(Zeroizing::new(*file_key.expose_secret()));
        self.recipient.wrap_file_key(file_key)
    }
}

/// An identity that is the document's X25519 identity and also keeps the file key it unwraps.
struct KeepUnwrappedKey<'a> {
    identity: &'a x25519::Identity,
    file_key: RefCell<Option<Zeroizing<[u8; 16]>>>,
}

impl age::Identity for KeepUnwrappedKey<'_> {
    fn unwrap_stanza(
        &self,
        stanza: &Stanza,
    ) -> Option<std::result::Result<FileKey, age::DecryptError>> {
        self.keep(self.identity.unwrap_stanza(stanza))
    }

    fn unwrap_stanzas(
        &self,
        stanzas: &[Stanza],
    ) -> Option<std::result::Result<FileKey, age::DecryptError>> {
        self.keep(self.identity.unwrap_stanzas(stanzas))
    }
}

impl KeepUnwrappedKey<'_> {
    fn keep(
        &self,
        unwrapped: Option<std::result::Result<FileKey, age::DecryptError>>,
    ) -> Option<std::result::Result<FileKey, age::DecryptError>> {
        if let Some(Ok(file_key)) = &unwrapped {
            *self.file_key.borrow_mut() = Some(Zeroizing::new(*file_key.expose_secret()));
        }
        unwrapped
    }
}

/// A new age header to `recipient`, as the `age` crate writes it (recipient stanza, MAC, and
/// the 16-byte payload nonce that follows it), and the payload key that goes with it.
pub(super) fn new_header(recipient: &x25519::Recipient) -> Result<(Vec<u8>, PayloadKey)> {
    let refused = || Error::Corrupt("vault: age refused the recipient".into());
    let keep = KeepFileKey::new(recipient);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&keep as &dyn age::Recipient))
        .map_err(|_| refused())?;
    let mut header = Vec::with_capacity(256);
    // The crate writes the header and the payload nonce at once; its own payload writer, which
    // would come next, is not used.
    drop(encryptor.wrap_output(&mut header)?);
    let file_key = keep.file_key().ok_or_else(refused)?;
    let nonce: [u8; 16] = header
        .len()
        .checked_sub(16)
        .and_then(|at| header[at..].try_into().ok())
        .ok_or_else(refused)?;
    Ok((header, PayloadKey::derive(&file_key, &nonce)))
}

/// Reads and checks the header of the age file `input` with `identity` (by the `age` crate:
/// stanza, MAC and all) and returns the payload key, leaving `input` at the first chunk.
fn read_header(
    input: &mut BufReader<File>,
    identity: &x25519::Identity,
) -> std::result::Result<PayloadKey, Failure> {
    let tamper = |e: age::DecryptError| match e {
        age::DecryptError::Io(e) if !is_tamper(&e) => Failure::Io(e),
        _ => Failure::Unauthentic,
    };
    let keep = KeepUnwrappedKey {
        identity,
        file_key: RefCell::new(None),
    };
    let decryptor = age::Decryptor::new_buffered(&mut *input).map_err(tamper)?;
    // Succeeds only once the header's MAC checked out under the unwrapped file key.
    drop(
        decryptor
            .decrypt(std::iter::once(&keep as &dyn age::Identity))
            .map_err(tamper)?,
    );
    let file_key = keep.file_key.into_inner().ok_or(Failure::Unauthentic)?;
    // The crate read the payload nonce last: read it again from just behind the payload.
    let payload_at = input.stream_position()?;
    let nonce_at = payload_at.checked_sub(16).ok_or(Failure::Unauthentic)?;
    input.seek(SeekFrom::Start(nonce_at))?;
    let mut nonce = [0u8; 16];
    input.read_exact(&mut nonce)?;
    Ok(PayloadKey::derive(&file_key, &nonce))
}

/// Encrypts `input` to `identity`'s recipient into a new file at `partial` (which must not
/// exist), hashing the plaintext on the way, and makes the file durable. On error the partial
/// file is removed.
pub(crate) fn encrypt_to_file(
    input: impl Read + Send,
    total: u64,
    identity: &x25519::Identity,
    fingerprint_key: &[u8; 32],
    partial: &Path,
    progress: Progress<'_>,
) -> Result<Encrypted> {
    let file = crate::store::create_private_file(partial)?;
    let result = (|| {
        let (header, key) = new_header(&identity.to_public())?;
        (&file).write_all(&header)?;
        let mut hasher = fingerprinter(fingerprint_key);
        let (sealed, flushed) = std::thread::scope(|scope| {
            // Writeback starts while encryption goes on, on a thread that mostly waits for the
            // disk; the final fsync then has little left to do. The workers only nudge it.
            let (nudge, nudged) = mpsc::sync_channel::<()>(1);
            let file = &file;
            let flush = scope.spawn(move || -> io::Result<()> {
                for () in nudged {
                    timed(&BACKGROUND_NANOS, || file.sync_data())?;
                }
                Ok(())
            });
            let next_flush = AtomicU64::new(FLUSH_EVERY);
            let written = |done: u64| {
                if done >= next_flush.load(Ordering::Relaxed) {
                    next_flush.store(done + FLUSH_EVERY, Ordering::Relaxed);
                    let _ = nudge.try_send(());
                }
            };
            progress(0, total);
            let sealed = payload::seal(
                payload::Spread::here(),
                input,
                &key,
                &mut hasher,
                file,
                &written,
                &mut |done| progress(done, total.max(done)),
            );
            drop(nudge);
            let flushed = flush
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (sealed, flushed)
        });
        let size = sealed.map_err(|f| match f {
            Failure::Io(e) => Error::Io(e),
            Failure::Unauthentic => Error::Corrupt("vault: content could not be sealed".into()),
        })?;
        flushed?;
        // Durable before the rename and before the metadata commit that refers to it.
        timed(&BLOCKING_NANOS, || file.sync_all())?;
        Ok(Encrypted {
            size,
            fingerprint: hasher.finalize().to_hex().to_string(),
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    result
}

/// Decrypts the content file `source` of `document` into `output`, hashing the plaintext with
/// `hasher` when given. Returns the plaintext length. Authentication failures of any kind are
/// [`Error::Corrupt`] naming the document; `output` then holds at most a prefix of chunks that
/// did authenticate, which the caller discards.
pub(crate) fn decrypt_stream(
    source: &Path,
    identity: &x25519::Identity,
    document: &str,
    output: &mut (dyn Write + Send),
    hasher: Option<&mut blake3::Hasher>,
    total: u64,
    progress: Progress<'_>,
) -> Result<u64> {
    let file = match File::open(source) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Corrupt(format!(
                "vault document {document}: content file missing"
            )));
        }
        Err(e) => return Err(Error::Io(e)),
    };
    let mut input = BufReader::new(file);
    read_header(&mut input, identity)
        .and_then(|key| {
            progress(0, total);
            let mut report = |done| progress(done, total.max(done));
            let spread = payload::Spread::here();
            payload::open(spread, &mut input, &key, hasher, output, &mut report)
        })
        .map_err(|f| match f {
            Failure::Io(e) => Error::Io(e),
            Failure::Unauthentic => {
                Error::Corrupt(format!("vault document {document}: content file"))
            }
        })
}

/// age reports failed authentication and truncation as these kinds.
fn is_tamper(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidInput
    )
}

/// Decrypts `source` to the caller's `dest`, through the temporary file `partial` beside it
/// (made by [`partial_beside`], readable by this user only) that is renamed over `dest` only
/// once the whole stream authenticated and its length matched `expected_size`.
pub(crate) fn decrypt_to_path(
    source: &Path,
    identity: &x25519::Identity,
    document: &str,
    partial: &Path,
    dest: &Path,
    expected_size: u64,
    progress: Progress<'_>,
) -> Result<()> {
    let result = (|| {
        let mut out = crate::store::create_private_file(partial)?;
        let size = decrypt_stream(
            source,
            identity,
            document,
            &mut out,
            None,
            expected_size,
            progress,
        )?;
        if size != expected_size {
            return Err(Error::Corrupt(format!(
                "vault document {document}: content length differs from its metadata"
            )));
        }
        // No fsync: the copy is not the document, which stays in the vault (ADR 0002).
        drop(out);
        std::fs::rename(partial, dest)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    result
}

/// A fresh hidden temporary path in `dest`'s directory, so the final rename is atomic:
/// `.<name>.<uuid>.partial`.
pub(crate) fn partial_beside(dest: &Path) -> Result<PathBuf> {
    let name = dest
        .file_name()
        .ok_or_else(|| Error::invalid("destination", "must name a file"))?;
    if dest.is_dir() {
        return Err(Error::invalid("destination", "is a directory"));
    }
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}{PARTIAL_SUFFIX}", crate::ids::new_id()));
    Ok(dir.join(tmp_name))
}

/// How the temporary files of exports end.
pub(crate) const PARTIAL_SUFFIX: &str = ".partial";

/// Whether `path` has the form [`partial_beside`] gives: the only form the vault ever removes
/// outside its own directory.
pub(crate) fn is_export_partial(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(rest) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
    else {
        return false;
    };
    rest.len() > 37
        && rest.as_bytes()[rest.len() - 37] == b'.'
        && super::layout::is_content_file_id(&rest[rest.len() - 36..])
}

/// Makes a rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    timed(&BLOCKING_NANOS, || File::open(dir)?.sync_all())?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
