//! Reading inputs and writing outputs: outputs are never overwritten, and private keys
//! are sealed under a passphrase, written with mode 0600 and refused when others can
//! read them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use pqbank_pki::CompositeSigningKey;
use zeroize::Zeroizing;

use crate::CliError;

/// Largest input file read (a CRL of a large bank fits).
const INPUT_LEN_MAX: u64 = 64 * 1024 * 1024;

/// Reads a whole input file, with a size limit.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    let len = fs::metadata(path)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?
        .len();
    if len > INPUT_LEN_MAX {
        return Err(CliError(format!(
            "{}: larger than {INPUT_LEN_MAX} bytes",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// Writes a new file with `mode`; an existing file is never replaced.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            CliError(format!(
                "{}: {e} (existing files are never overwritten)",
                path.display()
            ))
        })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// Writes a public object (certificate, request, CRL) as PEM, mode 0644.
pub fn write_public(path: &Path, pem: &str) -> Result<(), CliError> {
    write_new(path, pem.as_bytes(), 0o644)
}

/// The environment variable holding the passphrase of the CLI's key files.
pub const KEY_PASSPHRASE_VAR: &str = "PQBANK_KEY_PASSPHRASE";

fn key_passphrase() -> Result<zeroize::Zeroizing<String>, CliError> {
    std::env::var(KEY_PASSPHRASE_VAR)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| {
            CliError(format!(
                "set {KEY_PASSPHRASE_VAR} to the passphrase of the key files"
            ))
        })
}

/// Writes a private key file: the 64-byte composite seed sealed under the passphrase
/// (Argon2id into ChaCha20-Poly1305, `pqbank-keystore`), mode 0600, never overwriting.
pub fn write_key(path: &Path, key: &CompositeSigningKey) -> Result<(), CliError> {
    if path.exists() {
        return Err(CliError(format!(
            "{}: exists (existing files are never overwritten)",
            path.display()
        )));
    }
    let mut secrets = pqbank_keystore::DeviceSecrets::generate()?;
    secrets.signing_seed = *key.seed();
    pqbank_keystore::write_key_file(path, &key_passphrase()?, &secrets)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// Reads a private key file; refuses one that group or others may read.
pub fn read_key(path: &Path) -> Result<CompositeSigningKey, CliError> {
    let meta = fs::metadata(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(CliError(format!(
            "{}: private key is readable by others; run chmod 600 on it",
            path.display()
        )));
    }
    let secrets = pqbank_keystore::read_key_file(path, &key_passphrase()?)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    Ok(CompositeSigningKey::from_seed(&Zeroizing::new(
        secrets.signing_seed,
    )))
}

/// Fresh bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], CliError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| CliError(format!("no randomness: {e}")))?;
    Ok(out)
}
