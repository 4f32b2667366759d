//! The app's key store, called through the FFI layer, including when it fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cairn_ffi::{CairnError, CairnStore, KeyStore, KeyStoreError};

#[derive(Default)]
struct Keychain(Mutex<HashMap<String, Vec<u8>>>);

impl KeyStore for Keychain {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, KeyStoreError> {
        Ok(self.0.lock().unwrap().get(&name).cloned())
    }
    fn save(&self, name: String, secret: Vec<u8>) -> Result<(), KeyStoreError> {
        self.0.lock().unwrap().insert(name, secret);
        Ok(())
    }
}

/// A device whose keychain is locked (before first unlock after a reboot).
struct LockedKeychain;

impl KeyStore for LockedKeychain {
    fn load(&self, _: String) -> Result<Option<Vec<u8>>, KeyStoreError> {
        Err(KeyStoreError::Unavailable {
            reason: "device locked".into(),
        })
    }
    fn save(&self, _: String, _: Vec<u8>) -> Result<(), KeyStoreError> {
        Err(KeyStoreError::Unavailable {
            reason: "device locked".into(),
        })
    }
}

#[test]
fn a_new_store_saves_one_256_bit_key_and_reopens_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let keychain = Arc::new(Keychain::default());
    let store = CairnStore::open_with_key_store(path.clone(), keychain.clone(), None).unwrap();
    store
        .set_profile("Maya".into(), "Europe/London".into())
        .unwrap();
    store.close_store();
    assert!(matches!(store.status(), Err(CairnError::Locked(_))));
    {
        let keys = keychain.0.lock().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["cairn.db"].len(), 32);
    }
    let store = CairnStore::open_with_key_store(path, keychain, None).unwrap();
    assert_eq!(store.profile().unwrap().unwrap().display_name, "Maya");
}

#[test]
fn a_failing_key_store_is_an_error_not_a_crash_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store").to_string_lossy().into_owned();
    let err = CairnStore::open_with_key_store(path.clone(), Arc::new(LockedKeychain), None)
        .err()
        .unwrap();
    assert!(matches!(err, CairnError::KeyStore(_)), "{err:?}");
    assert!(!std::path::Path::new(&path).join("cairn.db").exists());
}

#[test]
fn a_key_of_the_wrong_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    CairnStore::open_with_key_store(path.clone(), Arc::new(Keychain::default()), None)
        .unwrap()
        .close_store();
    let short = Keychain::default();
    short.save("cairn.db".into(), vec![7; 16]).unwrap();
    let err = CairnStore::open_with_key_store(path, Arc::new(short), None)
        .err()
        .unwrap();
    assert!(matches!(err, CairnError::KeyStore(_)), "{err:?}");
}

#[tokio::test]
async fn the_integrity_check_runs_off_the_callers_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = CairnStore::open_with_passphrase(
        dir.path().to_string_lossy().into_owned(),
        "tulip-gravel-93-orbit-canyon".into(),
        None,
    )
    .unwrap();
    let report = store
        .clone()
        .check_integrity(cairn_core::store::CheckDepth::Full)
        .await
        .unwrap();
    assert!(report.is_healthy(), "{report:?}");
}
