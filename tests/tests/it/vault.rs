//! End-to-end tests of the vault: its files and the standard `age` tool's are the same files, at
//! every size, and the same damage is refused by both; documents travel between devices with
//! their keys and are shredded on every device.

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_core::Error;
use cairn_core::vault::{DocumentFilter, DocumentHealth, DocumentKind, DocumentMeta};
use cairn_tests::sample;

use crate::devices::TestDevice;

fn scan_meta(title: &str) -> DocumentMeta {
    let mut meta = DocumentMeta::new(title, DocumentKind::Imaging);
    meta.content_type = "application/pdf".into();
    meta.tags = vec!["restaging".into()];
    meta
}

/// Runs a standard age implementation (`age` or `rage`) to decrypt `file` with the identity in
/// `key`, returning the plaintext.
fn decrypt_with(tool: &str, key: &Path, file: &Path) -> Vec<u8> {
    let out = Command::new(tool)
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("could not run `{tool}`: {e}"));
    assert!(
        out.status.success(),
        "`{tool} -d` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_document_decrypts_with_the_standard_age_tool() {
    assert!(
        on_path("age"),
        "this test needs the standard `age` command (Debian: `apt-get install -y age`; \
         scripts/test-all installs it)"
    );
    let phone = TestDevice::patient();
    let bytes = sample(3 * 65_536 + 12_345, 1);
    let doc = phone
        .store
        .import_document_bytes(&bytes, &scan_meta("PET-CT"))
        .unwrap()
        .document()
        .clone();
    let key_file = phone.dir.path().join("key.txt");
    std::fs::write(
        &key_file,
        format!("{}\n", *phone.store.document_key(&doc.id).unwrap()),
    )
    .unwrap();
    let file = phone.store.document_content_path(&doc.id).unwrap();
    assert_eq!(decrypt_with("age", &key_file, &file), bytes);
    // rage, the Rust implementation, when it is installed (the benchmark uses it).
    if on_path("rage") {
        assert_eq!(decrypt_with("rage", &key_file, &file), bytes);
    }
    // Handing over one document's key opens that document and no other.
    let other = phone
        .store
        .import_document_bytes(b"another document", &scan_meta("Letter"))
        .unwrap()
        .document()
        .clone();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key_file)
        .arg(phone.store.document_content_path(&other.id).unwrap())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "one document's key opens only that document"
    );
}

/// age's STREAM chunk: 64 KiB of plaintext, sealed with a 16-byte tag.
const CHUNK: usize = 64 * 1024;

/// Sizes at every boundary of age's chunks and the vault's 1 MiB batches: empty, one byte, a
/// chunk less one, exactly one chunk, one more, a last chunk of exactly 64 KiB, a batch less
/// one, a batch, one more, and several megabytes.
const SIZES: [usize; 10] = [
    0,
    1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    3 * CHUNK,
    16 * CHUNK - 1,
    16 * CHUNK,
    16 * CHUNK + 1,
    4_000_017,
];

fn require_age() {
    assert!(
        on_path("age"),
        "this test needs the standard `age` command (Debian: `apt-get install -y age`; \
         scripts/test-all installs it)"
    );
}

/// Writes the document's key where the tools read identities, returning the path.
fn key_file(phone: &TestDevice, id: &str) -> PathBuf {
    let key = phone.dir.path().join(format!("{id}.key"));
    std::fs::write(
        &key,
        format!("{}\n", *phone.store.document_key(id).unwrap()),
    )
    .unwrap();
    key
}

/// Encrypts `bytes` with the `age` tool to the identity in `key`, returning the file.
fn encrypt_with_age(key: &Path, bytes: &[u8], dir: &Path) -> Vec<u8> {
    let plain = dir.join("plain.bin");
    let sealed = dir.join("tool.age");
    std::fs::write(&plain, bytes).unwrap();
    let _ = std::fs::remove_file(&sealed);
    let out = Command::new("age")
        .arg("-e")
        .arg("-i")
        .arg(key)
        .arg("-o")
        .arg(&sealed)
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`age -e` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&sealed).unwrap()
}

#[test]
fn at_every_size_the_vaults_files_open_with_the_age_tool_and_the_tools_open_in_the_vault() {
    require_age();
    let phone = TestDevice::patient();
    for (i, &len) in SIZES.iter().enumerate() {
        let bytes = sample(len, 40 + i as u64);
        let doc = phone
            .store
            .import_document_bytes(&bytes, &scan_meta(&format!("Scan {len}")))
            .unwrap()
            .document()
            .clone();
        let key = key_file(&phone, &doc.id);
        let content = phone.store.document_content_path(&doc.id).unwrap();
        // What the vault wrote, the tools read.
        assert!(
            decrypt_with("age", &key, &content) == bytes,
            "{len} bytes: `age -d` read something else"
        );
        if on_path("rage") {
            assert!(
                decrypt_with("rage", &key, &content) == bytes,
                "{len} bytes: rage"
            );
        }
        // What the tool writes to the document's own recipient, the vault reads: its file
        // takes the place of the vault's, and export and verify find the same document.
        let theirs = encrypt_with_age(&key, &bytes, phone.dir.path());
        std::fs::write(&content, &theirs).unwrap();
        let out = phone.dir.path().join("exported.bin");
        phone
            .store
            .export_document(&doc.id, &out, &mut |_, _| {})
            .unwrap();
        assert!(
            std::fs::read(&out).unwrap() == bytes,
            "{len} bytes: the vault read the tool's file wrong"
        );
    }
    let report = phone.store.verify_vault().unwrap();
    assert_eq!(report.len(), SIZES.len());
    assert!(
        report.iter().all(|c| c.health == DocumentHealth::Ok),
        "{report:?}"
    );
}

#[test]
fn damage_to_a_file_the_age_tool_wrote_is_refused_by_the_vault_as_by_the_tool() {
    require_age();
    let phone = TestDevice::patient();
    let bytes = sample(20 * CHUNK + 999, 60);
    let doc = phone
        .store
        .import_document_bytes(&bytes, &scan_meta("CT series"))
        .unwrap()
        .document()
        .clone();
    let key = key_file(&phone, &doc.id);
    let content = phone.store.document_content_path(&doc.id).unwrap();
    let original = encrypt_with_age(&key, &bytes, phone.dir.path());
    let mac_line = original.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
    let payload = mac_line
        + original[mac_line..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 17;
    let sealed = CHUNK + 16;
    let chunk = |i: usize| payload + i * sealed..payload + (i + 1) * sealed;
    let swapped = |a: usize, b: usize| {
        let mut d = original.clone();
        let first = d[chunk(a)].to_vec();
        let second = d[chunk(b)].to_vec();
        d[chunk(a)].copy_from_slice(&second);
        d[chunk(b)].copy_from_slice(&first);
        d
    };
    let flipped = |at: usize| {
        let mut d = original.clone();
        d[at] ^= 0x04;
        d
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a bit flipped in the header", flipped(40)),
        ("a bit flipped in the first chunk", flipped(payload + 100)),
        (
            "a bit flipped across the batch seam",
            flipped(chunk(16).start + 2),
        ),
        ("a tag flipped", flipped(chunk(5).end - 1)),
        (
            "a bit flipped in the last chunk",
            flipped(original.len() - 30),
        ),
        ("cut by a byte", original[..original.len() - 1].to_vec()),
        (
            "cut at a chunk boundary",
            original[..chunk(16).start].to_vec(),
        ),
        ("cut after the header", original[..payload].to_vec()),
        ("extended by a byte", [&original[..], b"x"].concat()),
        (
            "extended by a chunk",
            [&original[..], &original[chunk(3)]].concat(),
        ),
        ("chunks swapped", swapped(0, 1)),
        ("chunks swapped across the batch seam", swapped(15, 16)),
    ];
    let out = phone.dir.path().join("never.bin");
    let damaged = phone.dir.path().join("damaged.age");
    for (what, data) in cases {
        std::fs::write(&damaged, &data).unwrap();
        let by_tool = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&key)
            .arg(&damaged)
            .output()
            .unwrap();
        assert!(!by_tool.status.success(), "{what}: the age tool took it");
        std::fs::write(&content, &data).unwrap();
        let err = phone
            .store
            .export_document(&doc.id, &out, &mut |_, _| {})
            .unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt(m) if m.contains(&doc.id)),
            "{what}: {err:?}"
        );
        assert!(!out.exists(), "{what}: plaintext reached the destination");
    }
    // The undamaged file still opens.
    std::fs::write(&content, &original).unwrap();
    phone
        .store
        .export_document(&doc.id, &out, &mut |_, _| {})
        .unwrap();
    assert!(std::fs::read(&out).unwrap() == bytes);
}

#[test]
fn a_document_travels_to_another_device_with_its_key() {
    let phone = TestDevice::patient();
    let tablet = TestDevice::caregiver();
    let bytes = sample(500_000, 2);
    let doc = phone
        .store
        .import_document_bytes(&bytes, &scan_meta("CT chest"))
        .unwrap()
        .document()
        .clone();
    phone.sync_with(&tablet);
    assert_eq!(tablet.store.document(&doc.id).unwrap(), doc);
    // Content transport is separate from metadata sync; here the file is carried by hand.
    let vault = tablet.store.vault_dir();
    std::fs::create_dir_all(&vault).unwrap();
    let src = phone.store.document_content_path(&doc.id).unwrap();
    std::fs::copy(&src, vault.join(src.file_name().unwrap())).unwrap();
    let out = tablet.dir.path().join("ct.pdf");
    tablet
        .store
        .export_document(&doc.id, &out, &mut |_, _| {})
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let report = tablet.store.verify_vault().unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].health, DocumentHealth::Ok);
}

#[test]
fn a_delete_shreds_the_key_on_every_device_even_against_a_concurrent_replace() {
    let phone = TestDevice::patient();
    let tablet = TestDevice::caregiver();
    let doc = phone
        .store
        .import_document_bytes(&sample(10_000, 3), &scan_meta("Scan"))
        .unwrap()
        .document()
        .clone();
    let src = phone.store.document_content_path(&doc.id).unwrap();
    phone.sync_with(&tablet);
    let vault = tablet.store.vault_dir();
    std::fs::create_dir_all(&vault).unwrap();
    std::fs::copy(&src, vault.join(src.file_name().unwrap())).unwrap();

    // The tablet replaces the content while, offline, the phone deletes the document.
    let new_version = tablet.dir.path().join("v2.bin");
    std::fs::write(&new_version, sample(20_000, 4)).unwrap();
    tablet
        .store
        .replace_document_content(&doc.id, &new_version, &mut |_, _| {})
        .unwrap();
    phone.store.delete_document(&doc.id).unwrap();
    phone.sync_with(&tablet);

    for device in [&phone, &tablet] {
        assert!(
            device
                .store
                .documents(&DocumentFilter::default())
                .unwrap()
                .is_empty()
        );
        let dump = device.store.synced_state_dump().unwrap();
        assert!(
            !dump.contains("AGE-SECRET-KEY-"),
            "a content key survived the delete"
        );
        let outbox = device.store.outbox(10_000).unwrap();
        assert!(
            !outbox.changes.iter().any(|c| serde_json::to_string(c)
                .unwrap()
                .contains("AGE-SECRET-KEY-")),
            "an unsent change still carries a content key"
        );
        // The next open (or an explicit recovery) removes the now orphaned content file.
        device.store.recover_vault().unwrap();
        let left: Vec<_> = std::fs::read_dir(device.store.vault_dir())
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.ends_with(".age").then_some(name)
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    assert_eq!(
        phone.store.synced_state_dump().unwrap(),
        tablet.store.synced_state_dump().unwrap()
    );
}
