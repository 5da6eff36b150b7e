//! Reading inputs and writing outputs: outputs are never overwritten, and private keys
//! are written with mode 0600 and refused when others can read them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use pqbank_pki::CompositeSigningKey;
use pqbank_pki::composite::SEED_LEN;
use zeroize::Zeroizing;

use crate::CliError;

/// PEM label of a key file: the 64-byte composite seed.
const KEY_LABEL: &str = "PQBANK COMPOSITE PRIVATE KEY";
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

/// Writes a private key file, mode 0600.
pub fn write_key(path: &Path, key: &CompositeSigningKey) -> Result<(), CliError> {
    let pem = Zeroizing::new(pqbank_pki::pem::encode(KEY_LABEL, key.seed()));
    write_new(path, pem.as_bytes(), 0o600)
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
    let text = Zeroizing::new(read(path)?);
    let der = Zeroizing::new(
        pqbank_pki::pem::decode(KEY_LABEL, &text)
            .map_err(|e| CliError(format!("{}: {e}", path.display())))?,
    );
    let seed: [u8; SEED_LEN] = der
        .as_slice()
        .try_into()
        .map_err(|_| CliError(format!("{}: not a pqbank composite key", path.display())))?;
    let seed = Zeroizing::new(seed);
    Ok(CompositeSigningKey::from_seed(&seed))
}

/// Fresh bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], CliError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| CliError(format!("no randomness: {e}")))?;
    Ok(out)
}
