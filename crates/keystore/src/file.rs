//! An opt-in key file for headless machines: the secrets sealed with ChaCha20-Poly1305
//! (RFC 8439) under a key derived from a passphrase with Argon2id (RFC 9106), written
//! with mode 0600.
//!
//! ```text
//! "PQBKEY01" || salt[16] || nonce[12] || ciphertext of the secrets || tag[16]
//! ```
//! The header is the AEAD's associated data.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use zeroize::Zeroizing;

use crate::{DeviceSecrets, KeyStore, KeystoreError};

const MAGIC: &[u8; 8] = b"PQBKEY01";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
/// Shortest passphrase accepted.
pub const PASSPHRASE_LEN_MIN: usize = 12;
/// Argon2id cost: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option).
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_PASSES: u32 = 3;

/// Device secrets in passphrase-encrypted files, one per name in a folder.
pub struct EncryptedFile {
    folder: PathBuf,
    passphrase: Zeroizing<String>,
}

impl core::fmt::Debug for EncryptedFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EncryptedFile")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl EncryptedFile {
    /// Key files in `folder`, sealed under `passphrase`.
    pub fn new(folder: &Path, passphrase: &str) -> Result<Self, KeystoreError> {
        if passphrase.chars().count() < PASSPHRASE_LEN_MIN {
            return Err(KeystoreError::WeakPassphrase(PASSPHRASE_LEN_MIN));
        }
        Ok(Self {
            folder: folder.to_owned(),
            passphrase: Zeroizing::new(passphrase.to_owned()),
        })
    }

    fn path(&self, name: &str) -> Result<PathBuf, KeystoreError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(KeystoreError::Io(
                "key names are letters, digits, - and _".into(),
            ));
        }
        Ok(self.folder.join(format!("{name}.pqbkey")))
    }
}

impl KeyStore for EncryptedFile {
    fn store(&self, name: &str, secrets: &DeviceSecrets) -> Result<(), KeystoreError> {
        write_key_file(&self.path(name)?, &self.passphrase, secrets)
    }

    fn load(&self, name: &str) -> Result<DeviceSecrets, KeystoreError> {
        read_key_file(&self.path(name)?, &self.passphrase).map_err(|e| match e {
            KeystoreError::NotFound(_) => KeystoreError::NotFound(name.to_owned()),
            other => other,
        })
    }

    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        std::fs::remove_file(self.path(name)?).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KeystoreError::NotFound(name.to_owned()),
            _ => KeystoreError::Io(e.to_string()),
        })
    }
}

fn cipher(passphrase: &str, salt: &[u8]) -> Result<ChaCha20Poly1305, KeystoreError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, Some(32))
        .map_err(|_| KeystoreError::Malformed)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut *key)
        .map_err(|_| KeystoreError::Malformed)?;
    Ok(ChaCha20Poly1305::new(&(*key).into()))
}

/// Seals `secrets` under `passphrase` into the file at `path` (mode 0600, replaced
/// atomically).
pub fn write_key_file(
    path: &Path,
    passphrase: &str,
    secrets: &DeviceSecrets,
) -> Result<(), KeystoreError> {
    if passphrase.chars().count() < PASSPHRASE_LEN_MIN {
        return Err(KeystoreError::WeakPassphrase(PASSPHRASE_LEN_MIN));
    }
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt)
        .and_then(|()| getrandom::fill(&mut nonce))
        .map_err(|e| KeystoreError::Io(e.to_string()))?;
    let header = [MAGIC.as_slice(), &salt, &nonce].concat();
    let plaintext = secrets.encode();
    let sealed = cipher(passphrase, &salt)?
        .encrypt(
            &nonce.into(),
            Payload {
                msg: &plaintext,
                aad: &header,
            },
        )
        .map_err(|_| KeystoreError::Malformed)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| KeystoreError::Io(e.to_string()))?;
    file.write_all(&[header, sealed].concat())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| KeystoreError::Io(e.to_string()))
}

/// Opens the key file at `path` with `passphrase`.
pub fn read_key_file(path: &Path, passphrase: &str) -> Result<DeviceSecrets, KeystoreError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KeystoreError::NotFound(path.display().to_string()),
        _ => KeystoreError::Io(e.to_string()),
    })?;
    let header_len = MAGIC.len() + SALT_LEN + NONCE_LEN;
    if bytes.len() < header_len + 16 || !bytes.starts_with(MAGIC) {
        return Err(KeystoreError::Malformed);
    }
    let (header, sealed) = bytes.split_at(header_len);
    let salt = &header[MAGIC.len()..MAGIC.len() + SALT_LEN];
    let nonce: [u8; NONCE_LEN] = header[MAGIC.len() + SALT_LEN..]
        .try_into()
        .map_err(|_| KeystoreError::Malformed)?;
    let plaintext = Zeroizing::new(
        cipher(passphrase, salt)?
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: sealed,
                    aad: header,
                },
            )
            .map_err(|_| KeystoreError::Decrypt)?,
    );
    DeviceSecrets::decode(&plaintext)
}
