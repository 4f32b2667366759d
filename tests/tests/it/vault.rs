//! End-to-end tests of the vault: the standard `age` tool reads its files, and documents travel
//! between devices with their keys and are shredded on every device.

use std::path::Path;
use std::process::Command;

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
