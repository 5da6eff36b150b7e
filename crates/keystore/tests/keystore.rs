//! Device keys round-trip through the real Secret Service (gnome-keyring in a D-Bus
//! session, as the test command sets up) and through the encrypted key file; a missing
//! item, a wrong passphrase and a changed file are clear errors.

use pqbank_keystore::{DeviceSecrets, EncryptedFile, KeyStore, KeystoreError, OsKeyring};

fn secrets() -> DeviceSecrets {
    DeviceSecrets::generate().unwrap_or_else(|e| panic!("{e}"))
}

/// Proves store, load, replace and delete on the OS keyring, with a unique name.
#[test]
fn os_keyring_round_trip() {
    let keyring = OsKeyring::new("pqbank-test").unwrap_or_else(|e| {
        panic!("the Secret Service is required (the test command starts gnome-keyring): {e}")
    });
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap_or_default();
    let name = format!(
        "device-{}",
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let first = secrets();
    keyring
        .store(&name, &first)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keyring.load(&name).as_ref(), Ok(&first));
    let second = secrets();
    keyring
        .store(&name, &second)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keyring.load(&name).as_ref(), Ok(&second));
    keyring.delete(&name).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        keyring.load(&name),
        Err(KeystoreError::NotFound(name.clone()))
    );
}

/// Proves the encrypted file round-trips, refuses a wrong passphrase and any changed
/// byte, is written with mode 0600, and refuses short passphrases.
#[test]
fn encrypted_file_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = EncryptedFile::new(dir.path(), "correct horse battery staple")
        .unwrap_or_else(|e| panic!("{e}"));
    let s = secrets();
    store.store("root-ca", &s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.load("root-ca").as_ref(), Ok(&s));
    let path = dir.path().join("root-ca.pqbkey");
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_default();
    assert_eq!(mode, 0o600);
    let wrong =
        EncryptedFile::new(dir.path(), "incorrect horse battery").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrong.load("root-ca"), Err(KeystoreError::Decrypt));
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap_or_default();
    assert_eq!(store.load("root-ca"), Err(KeystoreError::Decrypt));
    assert_eq!(
        store.load("nobody"),
        Err(KeystoreError::NotFound("nobody".into()))
    );
    assert_eq!(
        EncryptedFile::new(dir.path(), "short").err(),
        Some(KeystoreError::WeakPassphrase(12))
    );
}

/// Proves secrets never show in Debug output.
#[test]
fn debug_is_redacted() {
    assert_eq!(format!("{:?}", secrets()), "DeviceSecrets(<redacted>)");
}
