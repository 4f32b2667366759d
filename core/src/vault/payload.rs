//! The payload of an age v1 file, sealed and opened on several threads.
//!
//! age encrypts the payload as ChaCha20-Poly1305 STREAM: 64 KiB chunks, each sealed on its own
//! under the payload key (HKDF-SHA256 of the file key, salted with the header's 16-byte nonce,
//! info `payload`) with a 12-byte nonce made of the chunk's index (11 bytes, big-endian) and a
//! flag byte, 1 on the last chunk only. No chunk depends on another, so batches of chunks are
//! sealed or opened by several workers at once; the file is still read and written strictly in
//! order, one batch at a time. docs/adr/0002's addendum says why this is the same format and
//! keeps the same guarantees.
//!
//! Every worker runs the same loop: take the next batch from the input (in order, one worker at
//! a time), seal or open its chunks (in parallel), and give it to the output when its turn comes
//! (in order). A chunk is the last one exactly when the input ends right after it, which one byte
//! of look-ahead decides, so the stated size of the input is never trusted.

use std::io::{self, IoSlice, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use zeroize::Zeroizing;

/// Plaintext bytes per chunk (age's STREAM chunk size).
pub(crate) const CHUNK: usize = 64 * 1024;
/// The Poly1305 tag that follows each chunk's ciphertext.
const TAG: usize = 16;
/// A sealed chunk: ciphertext and tag.
pub(crate) const SEALED_CHUNK: usize = CHUNK + TAG;
/// Chunks per batch: 1 MiB of plaintext, enough that handing a batch from worker to worker costs
/// nothing next to sealing it, and BLAKE3 gets long runs to hash. Also the most a batch holds.
const BATCH: usize = 16;
/// The most workers one stream uses, however many cores a phone has: beyond this the disk, not
/// the cipher, sets the pace, and each worker holds a batch in memory.
const MAX_WORKERS: usize = 4;

/// What went wrong reading or writing a payload.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input or output failed.
    Io(io::Error),
    /// The payload is not what was sealed: damaged, cut, reordered, extended or under another
    /// key.
    Unauthentic,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// The payload key of one file.
pub(crate) struct PayloadKey(ChaCha20Poly1305);

impl PayloadKey {
    /// age's payload key: HKDF-SHA256 over the file key, salted with the header nonce, info
    /// `payload`, by the same function the `age` crate derives it with.
    pub(crate) fn derive(file_key: &[u8; 16], header_nonce: &[u8; 16]) -> Self {
        let key = Zeroizing::new(age_core::primitives::hkdf(
            header_nonce,
            b"payload",
            file_key,
        ));
        // ChaCha20Poly1305 wipes its copy of the key when dropped.
        Self(ChaCha20Poly1305::new((&*key).into()))
    }

    pub(super) fn seal(&self, index: u64, last: bool, chunk: &mut [u8]) -> Result<Tag, Failure> {
        self.0
            .encrypt_inout_detached(&chunk_nonce(index, last), b"", chunk.into())
            // Only a chunk longer than ChaCha20's 256 GiB keystream could be refused.
            .map_err(|_| Failure::Io(io::Error::other("a chunk could not be sealed")))
    }

    fn open(&self, index: u64, last: bool, chunk: &mut [u8], tag: &Tag) -> Result<(), Failure> {
        self.0
            .decrypt_inout_detached(&chunk_nonce(index, last), b"", chunk.into(), tag)
            .map_err(|_| Failure::Unauthentic)
    }
}

/// STREAM's nonce for chunk `index`: the index as 11 big-endian bytes, then the last-chunk flag.
fn chunk_nonce(index: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce.into()
}

/// How a stream is spread over threads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    /// Workers, the calling thread among them.
    pub(crate) workers: usize,
    /// Chunks a worker takes at a time, at most [`BATCH`].
    pub(crate) batch: usize,
}

impl Spread {
    /// As many workers as this process has cores to run on, up to [`MAX_WORKERS`], each taking
    /// [`BATCH`] chunks at a time.
    pub(crate) fn here() -> Self {
        Spread {
            workers: std::thread::available_parallelism()
                .map_or(1, usize::from)
                .clamp(1, MAX_WORKERS),
            batch: BATCH,
        }
    }

    fn batch(self) -> usize {
        self.batch.clamp(1, BATCH)
    }
}

/// One worker's batch: its buffer, reused from batch to batch, and what the current batch holds.
struct Batch {
    /// The batch's position in the stream.
    index: u64,
    /// Chunks in a full batch.
    chunks: usize,
    /// Plaintext (sealing) or sealed chunks (opening). Wiped when dropped: it holds plaintext.
    buf: Zeroizing<Vec<u8>>,
    /// How much of `buf` the batch fills.
    len: usize,
    /// Whether the stream's last chunk is in this batch.
    last: bool,
    /// The tags of the chunks sealed in this batch.
    tags: [Tag; BATCH],
}

impl Batch {
    fn new(chunks: usize, chunk_size: usize) -> Self {
        Self {
            index: 0,
            chunks,
            buf: Zeroizing::new(vec![0u8; chunks * chunk_size]),
            len: 0,
            last: false,
            tags: [Tag::default(); BATCH],
        }
    }

    fn first_chunk(&self) -> u64 {
        self.index * self.chunks as u64
    }
}

/// Encrypts everything `input` yields as the payload of an age file under `key`, writing the
/// sealed chunks to `output` in order, and feeds the plaintext to `hasher` in order, spread over
/// threads as `spread` says. Returns the plaintext length. `written` is called (on whichever worker
/// wrote) and `report` (on this thread, now and then) with the plaintext bytes out so far.
pub(crate) fn seal(
    spread: Spread,
    input: impl Read + Send,
    key: &PayloadKey,
    hasher: &mut blake3::Hasher,
    output: impl Write + Send,
    written: &(dyn Fn(u64) + Sync),
    report: &mut dyn FnMut(u64),
) -> Result<u64, Failure> {
    let mut input = input;
    let mut output = output;
    let mut ahead: Option<u8> = None;
    let take = |batch: &mut Batch| -> Result<(), Failure> {
        fill(batch, batch.chunks * CHUNK, &mut input, &mut ahead)?;
        // The fingerprint is taken here, in stream order, while the batch is still plaintext.
        hasher.update(&batch.buf[..batch.len]);
        Ok(())
    };
    let work = |batch: &mut Batch| -> Result<(), Failure> {
        let first = batch.first_chunk();
        let chunks = chunk_count(batch.len);
        for (i, tag) in batch.tags.iter_mut().take(chunks).enumerate() {
            let range = chunk_range(i, batch.len);
            let last = batch.last && i + 1 == chunks;
            *tag = key.seal(first + i as u64, last, &mut batch.buf[range])?;
        }
        Ok(())
    };
    let give = |batch: &mut Batch| -> Result<u64, Failure> {
        let chunks = chunk_count(batch.len);
        let mut slices = [IoSlice::new(&[]); 2 * BATCH];
        for (i, pair) in slices.chunks_exact_mut(2).take(chunks).enumerate() {
            pair[0] = IoSlice::new(&batch.buf[chunk_range(i, batch.len)]);
            pair[1] = IoSlice::new(&batch.tags[i]);
        }
        write_all_vectored(&mut output, &mut slices[..2 * chunks])?;
        Ok(batch.len as u64)
    };
    run(spread, CHUNK, take, work, give, written, report)
}

/// Decrypts the payload of an age file under `key` from `input`, writing the plaintext to
/// `output` (and `hasher`) in order, batch by batch as each authenticates, spread over threads as
/// `spread` says: `output` only ever holds a prefix of what was sealed, and the whole of it only
/// if the call succeeds. Returns the plaintext length; `report` is called (on this thread, now and
/// then) with the plaintext bytes out so far.
pub(crate) fn open(
    spread: Spread,
    input: impl Read + Send,
    key: &PayloadKey,
    mut hasher: Option<&mut blake3::Hasher>,
    output: &mut (dyn Write + Send),
    report: &mut dyn FnMut(u64),
) -> Result<u64, Failure> {
    let mut input = input;
    let mut ahead: Option<u8> = None;
    let take = |batch: &mut Batch| -> Result<(), Failure> {
        fill(batch, batch.chunks * SEALED_CHUNK, &mut input, &mut ahead)?;
        let filled = batch.len;
        if batch.last {
            // The stream ends in this batch: its final chunk must hold at least a tag, and may
            // be empty only if it is the stream's only chunk (an empty payload).
            let chunks = filled.div_ceil(SEALED_CHUNK);
            let end = filled - chunks.saturating_sub(1) * SEALED_CHUNK;
            let only = batch.index == 0 && chunks == 1;
            if chunks == 0 || end < TAG || (end == TAG && !only) {
                return Err(Failure::Unauthentic);
            }
        }
        Ok(())
    };
    let work = |batch: &mut Batch| -> Result<(), Failure> {
        let first = batch.first_chunk();
        let chunks = batch.len.div_ceil(SEALED_CHUNK);
        for (i, sealed) in batch.buf[..batch.len].chunks_mut(SEALED_CHUNK).enumerate() {
            let Some(split) = sealed.len().checked_sub(TAG) else {
                return Err(Failure::Unauthentic);
            };
            let (chunk, tag) = sealed.split_at_mut(split);
            let tag = Tag::try_from(&*tag).map_err(|_| Failure::Unauthentic)?;
            key.open(first + i as u64, batch.last && i + 1 == chunks, chunk, &tag)?;
        }
        Ok(())
    };
    let give = |batch: &mut Batch| -> Result<u64, Failure> {
        let mut slices = [IoSlice::new(&[]); BATCH];
        let mut plain = 0;
        let mut count = 0;
        for (slot, sealed) in slices
            .iter_mut()
            .zip(batch.buf[..batch.len].chunks(SEALED_CHUNK))
        {
            let chunk = &sealed[..sealed.len().saturating_sub(TAG)];
            if let Some(h) = hasher.as_deref_mut() {
                h.update(chunk);
            }
            *slot = IoSlice::new(chunk);
            plain += chunk.len() as u64;
            count += 1;
        }
        write_all_vectored(output, &mut slices[..count])?;
        Ok(plain)
    };
    run(spread, SEALED_CHUNK, take, work, give, &|_| {}, report)
}

/// How many chunks `len` plaintext bytes of one batch make: an empty stream is one empty chunk.
fn chunk_count(len: usize) -> usize {
    len.div_ceil(CHUNK).max(1)
}

/// Where chunk `i` of a batch of `len` plaintext bytes lies in the batch.
fn chunk_range(i: usize, len: usize) -> std::ops::Range<usize> {
    let start = (i * CHUNK).min(len);
    start..(start + CHUNK).min(len)
}

/// Reads until `buf` is full or the input ends.
/// Reads the next `room` bytes of the stream into `batch` (after the byte read ahead, if any),
/// and whether the stream ends in it: one byte more is read ahead, so a stream that ends exactly
/// at the batch's edge is known to end here, whatever length anyone stated.
fn fill(
    batch: &mut Batch,
    room: usize,
    input: &mut impl Read,
    ahead: &mut Option<u8>,
) -> io::Result<()> {
    let mut filled = 0;
    if let Some(byte) = ahead.take() {
        batch.buf[0] = byte;
        filled = 1;
    }
    filled += read_full(input, &mut batch.buf[filled..room])?;
    batch.last = filled < room || !look_ahead(input, ahead)?;
    batch.len = filled;
    Ok(())
}

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

/// Whether more input follows; the byte read to find out is kept in `ahead`.
fn look_ahead(input: &mut impl Read, ahead: &mut Option<u8>) -> io::Result<bool> {
    let mut byte = [0u8];
    let more = read_full(input, &mut byte)? == 1;
    *ahead = more.then_some(byte[0]);
    Ok(more)
}

/// Writes every slice, in order, with as few system calls as the output allows.
fn write_all_vectored(
    output: &mut (impl Write + ?Sized),
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match output.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The ordered ends of the pipeline, each used by one worker at a time.
struct Ends<T, G> {
    /// Takes the next batch from the input.
    take: Mutex<Intake<T>>,
    /// Gives finished batches to the output, in order.
    give: Mutex<Outlet<G>>,
    /// Wakes workers waiting for their turn at the output.
    turn: Condvar,
    /// Set when any worker fails: the others stop at their next step.
    stop: AtomicBool,
    /// Plaintext bytes given to the output so far.
    done: AtomicU64,
}

struct Intake<T> {
    take: T,
    next: u64,
    ended: bool,
}

struct Outlet<G> {
    give: G,
    next: u64,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T, G> Ends<T, G>
where
    T: FnMut(&mut Batch) -> Result<(), Failure>,
    G: FnMut(&mut Batch) -> Result<u64, Failure>,
{
    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Taken so that a worker between its check of `stop` and its wait cannot miss this.
        let _outlet = lock(&self.give);
        self.turn.notify_all();
    }

    /// One worker: batches until the input ends or any worker fails. Returns its own failure.
    fn work(
        &self,
        mut batch: Batch,
        work: &(dyn Fn(&mut Batch) -> Result<(), Failure> + Sync),
        written: &(dyn Fn(u64) + Sync),
        mut after_batch: impl FnMut(u64),
    ) -> Result<(), Failure> {
        let _halt_on_panic = HaltOnPanic(&|| self.halt());
        loop {
            {
                let mut intake = lock(&self.take);
                if intake.ended || self.stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                batch.index = intake.next;
                if let Err(e) = (intake.take)(&mut batch) {
                    intake.ended = true;
                    drop(intake);
                    self.halt();
                    return Err(e);
                }
                intake.next += 1;
                intake.ended = batch.last;
            }
            if let Err(e) = work(&mut batch) {
                self.halt();
                return Err(e);
            }
            let mut outlet = lock(&self.give);
            while outlet.next != batch.index && !self.stop.load(Ordering::SeqCst) {
                outlet = self
                    .turn
                    .wait(outlet)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            match (outlet.give)(&mut batch) {
                Ok(plain) => {
                    outlet.next += 1;
                    let done = self.done.fetch_add(plain, Ordering::SeqCst) + plain;
                    written(done);
                    self.turn.notify_all();
                    drop(outlet);
                    after_batch(done);
                }
                Err(e) => {
                    drop(outlet);
                    self.halt();
                    return Err(e);
                }
            }
        }
    }
}

/// Halts the other workers if this one panics, so none waits for a turn that never comes.
struct HaltOnPanic<'a>(&'a dyn Fn());

impl Drop for HaltOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

/// Runs the pipeline spread as `spread` says, the calling thread among the workers (it alone
/// calls `report`), each with a batch of chunks of `chunk_size` bytes. Returns the plaintext
/// length, or a failure.
fn run<T, W, G>(
    spread: Spread,
    chunk_size: usize,
    take: T,
    work: W,
    give: G,
    written: &(dyn Fn(u64) + Sync),
    report: &mut dyn FnMut(u64),
) -> Result<u64, Failure>
where
    T: FnMut(&mut Batch) -> Result<(), Failure> + Send,
    W: Fn(&mut Batch) -> Result<(), Failure> + Sync,
    G: FnMut(&mut Batch) -> Result<u64, Failure> + Send,
{
    let ends = Ends {
        take: Mutex::new(Intake {
            take,
            next: 0,
            ended: false,
        }),
        give: Mutex::new(Outlet { give, next: 0 }),
        turn: Condvar::new(),
        stop: AtomicBool::new(false),
        done: AtomicU64::new(0),
    };
    let new_batch = || Batch::new(spread.batch(), chunk_size);
    let results = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..spread.workers.max(1))
            .map(|_| scope.spawn(|| ends.work(new_batch(), &work, written, |_| {})))
            .collect();
        let mut results = vec![ends.work(new_batch(), &work, written, &mut *report)];
        // A worker's panic is a bug: it goes on as if this thread had panicked.
        results.extend(
            helpers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        results
    });
    results.into_iter().collect::<Result<(), Failure>>()?;
    let done = ends.done.load(Ordering::SeqCst);
    report(done);
    Ok(done)
}
