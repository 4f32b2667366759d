//! Document content: age-encrypted files, written and read as streams.
//!
//! Every file is a standard age v1 file to one X25519 recipient, the document's own identity:
//! a header, then ChaCha20-Poly1305 STREAM chunks of 64 KiB, the last one flagged. A flipped,
//! cut or reordered chunk fails authentication, so decryption never yields wrong bytes; output
//! goes to a temporary file that is renamed into place only after the whole stream authenticated.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use age::secrecy::ExposeSecret;
use age::x25519;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// How much plaintext is read or written per step. Larger than an age chunk so BLAKE3 can hash
/// several 1 KiB chunks in parallel lanes, small enough to keep memory flat.
const STEP: usize = 256 * 1024;

/// How many blocks may wait for the hashing stage.
const IN_FLIGHT: usize = 8;
/// How often writeback of what was written so far is started.
const FLUSH_EVERY: u64 = 8 * 1024 * 1024;

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

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

/// Encrypts `input` to `identity`'s recipient into a new file at `partial` (which must not
/// exist), hashing the plaintext on the way, and makes the file durable. On error the partial
/// file is removed.
pub(crate) fn encrypt_to_file(
    mut input: impl Read,
    total: u64,
    identity: &x25519::Identity,
    fingerprint_key: &[u8; 32],
    partial: &Path,
    progress: Progress<'_>,
) -> Result<Encrypted> {
    let file = crate::store::create_private_file(partial)?;
    let result = (|| {
        let recipient = identity.to_public();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|_| Error::Corrupt("vault: age refused the recipient".into()))?;
        let flusher = file.try_clone()?;
        let mut writer = encryptor.wrap_output(file)?;
        // Stages on their own threads: this one reads and encrypts; a helper hashes the same
        // buffers, another starts writeback of what is written, so that neither hashing nor
        // the final fsync adds much to the wall time. The bounded channel bounds memory.
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(IN_FLIGHT);
            let helper = scope.spawn(move || {
                let mut hasher = fingerprinter(fingerprint_key);
                for block in rx {
                    hasher.update(&block);
                }
                hasher
            });
            // Writeback starts while encryption goes on; the final fsync then has little left
            // to do. The writer only nudges (never waits for) this stage.
            let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
            let flush = scope.spawn(move || -> io::Result<()> {
                for () in nudged {
                    flusher.sync_data()?;
                }
                Ok(())
            });
            let mut done = 0u64;
            progress(0, total);
            let streamed = (|| -> Result<()> {
                // Buffers come back once the hashing stage has let go of them.
                let mut pool: Vec<Arc<Vec<u8>>> = Vec::new();
                loop {
                    let mut block = match pool.iter().position(|b| Arc::strong_count(b) == 1) {
                        Some(i) => pool.swap_remove(i),
                        None => Arc::new(Vec::new()),
                    };
                    let Some(buf) = Arc::get_mut(&mut block) else {
                        return Err(Error::Corrupt("vault: a buffer was still shared".into()));
                    };
                    buf.resize(STEP, 0);
                    let n = read_full(&mut input, buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.truncate(n);
                    if tx.send(Arc::clone(&block)).is_err() {
                        return Err(Error::Corrupt("vault: the hashing stage stopped".into()));
                    }
                    writer.write_all(&block)?;
                    done += n as u64;
                    if done % FLUSH_EVERY < n as u64 {
                        let _ = nudge.try_send(());
                    }
                    if pool.len() < IN_FLIGHT + 2 {
                        pool.push(block);
                    }
                    progress(done, total.max(done));
                }
            })();
            drop(tx);
            drop(nudge);
            let stopped = || Error::Corrupt("vault: a streaming stage stopped".into());
            let hasher = helper.join().map_err(|_| stopped())?;
            flush.join().map_err(|_| stopped())??;
            streamed?;
            let file = writer.finish()?;
            // Durable before the rename and before the metadata commit that refers to it.
            file.sync_all()?;
            Ok(Encrypted {
                size: done,
                fingerprint: hasher.finalize().to_hex().to_string(),
            })
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    result
}

/// Decrypts the content file `source` of `document` into `output`, hashing the plaintext with
/// `hasher` when given. Returns the plaintext length. Authentication failures of any kind are
/// [`Error::Corrupt`] naming the document.
pub(crate) fn decrypt_stream(
    source: &Path,
    identity: &x25519::Identity,
    document: &str,
    output: &mut dyn Write,
    mut hasher: Option<&mut blake3::Hasher>,
    total: u64,
    progress: Progress<'_>,
) -> Result<u64> {
    let corrupt = || Error::Corrupt(format!("vault document {document}: content file"));
    let file = match File::open(source) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Corrupt(format!(
                "vault document {document}: content file missing"
            )));
        }
        Err(e) => return Err(Error::Io(e)),
    };
    let decryptor = match age::Decryptor::new_buffered(BufReader::new(file)) {
        Ok(d) => d,
        Err(age::DecryptError::Io(e)) if !is_tamper(&e) => return Err(Error::Io(e)),
        Err(_) => return Err(corrupt()),
    };
    let mut reader = match decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)) {
        Ok(r) => r,
        Err(age::DecryptError::Io(e)) if !is_tamper(&e) => return Err(Error::Io(e)),
        Err(_) => return Err(corrupt()),
    };
    let mut buf = Zeroizing::new(vec![0u8; STEP]);
    let mut done = 0u64;
    progress(0, total);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_tamper(&e) => return Err(corrupt()),
            Err(e) => return Err(Error::Io(e)),
        };
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf[..n]);
        }
        output.write_all(&buf[..n])?;
        done += n as u64;
        progress(done, total.max(done));
    }
    Ok(done)
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
        out.sync_all()?;
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
        && super::is_content_file_id(&rest[rest.len() - 36..])
}

/// Makes a rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
