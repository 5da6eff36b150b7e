//! What the server keeps on disk, in its state directory (mode 0700, keys 0600):
//!
//! | file | holds |
//! |---|---|
//! | `root.fingerprint` | the SHA3-256 fingerprint of the bank's root, hex: trust starts here |
//! | `server.der` | the root-issued server-profile certificate |
//! | `server.key` | the composite key's 64-byte seed, which signs the server's events |
//! | `tls.key` | the TLS key, PKCS#8 DER, whose hash the server certificate carries |
//! | `log.pin` | the highest log size this server has seen and the root of that many events ([`LogPin`]) |
//!
//! Nothing here is in the database: whoever runs it cannot swap the root or the key.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use pqbank_net::{ServerIdentity, TlsKey};
use pqbank_pki::server::VouchingBundle;
use pqbank_pki::{Certificate, CompositeSigningKey, Crl, Fingerprint};
use pqbank_service::LogPin;
use zeroize::Zeroizing;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file is missing or unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A file does not hold what it should.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The server's own keys and the root it serves under.
pub struct State {
    /// The bank's root fingerprint.
    pub root: Fingerprint,
    /// The server-profile certificate.
    pub certificate: Certificate,
    /// Its composite key.
    pub key: CompositeSigningKey,
    /// The TLS key the certificate vouches for.
    pub tls_key: TlsKey,
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State")
            .field("root", &self.root)
            .field("certificate", &self.certificate.fingerprint())
            .finish_non_exhaustive()
    }
}

const ROOT: &str = "root.fingerprint";
const CERTIFICATE: &str = "server.der";
const KEY: &str = "server.key";
const TLS_KEY: &str = "tls.key";

impl State {
    /// Reads the state from `dir`; refuses a certificate that does not hold the key or
    /// does not vouch for the TLS key.
    pub fn load(dir: &Path) -> Result<Self, StateError> {
        let read = |name: &str| {
            let path = dir.join(name);
            fs::read(&path)
                .map(Zeroizing::new)
                .map_err(|source| StateError::Io { path, source })
        };
        let invalid = |name: &str, reason: String| StateError::Invalid {
            path: dir.join(name),
            reason,
        };
        let root_text = read(ROOT)?;
        let root = core::str::from_utf8(&root_text)
            .ok()
            .and_then(|t| Fingerprint::from_hex(t.trim()).ok())
            .ok_or_else(|| invalid(ROOT, "not a hex fingerprint".into()))?;
        let certificate = Certificate::from_der(&read(CERTIFICATE)?)
            .map_err(|e| invalid(CERTIFICATE, e.to_string()))?;
        let seed: [u8; 64] = read(KEY)?
            .as_slice()
            .try_into()
            .map_err(|_| invalid(KEY, "not a 64-byte seed".into()))?;
        let key = CompositeSigningKey::from_seed(&seed);
        if certificate.public_key() != key.verifying_key().as_bytes() {
            return Err(invalid(KEY, "not the server certificate's key".into()));
        }
        let tls_key =
            TlsKey::from_pkcs8_der(&read(TLS_KEY)?).map_err(|e| invalid(TLS_KEY, e.to_string()))?;
        if certificate.tls_key_hash() != Some(&tls_key.hash()) {
            return Err(invalid(
                TLS_KEY,
                "the server certificate does not vouch for this TLS key".into(),
            ));
        }
        Ok(Self {
            root,
            certificate,
            key,
            tls_key,
        })
    }

    /// Writes the state into `dir` (made 0700 if missing), each key file 0600, each file
    /// whole or not at all.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        write(dir, ROOT, format!("{}\n", self.root.to_hex()).as_bytes())?;
        write(dir, CERTIFICATE, self.certificate.der())?;
        write(dir, KEY, self.key.seed())?;
        write(dir, TLS_KEY, &self.tls_key.to_pkcs8_der())?;
        Ok(())
    }
}

/// Writes another file of the state directory (the demo's staff file) as the state's own
/// are written: through a temporary file renamed over it, mode 0600.
///
/// # Errors
/// The file system's.
pub fn write_private(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StateError> {
    write(dir, name, bytes)
}

const LOG_PIN: &str = "log.pin";

/// The log pin in the state directory `dir` (`<size> <root hex>`), if one was written.
pub fn read_log_pin(dir: &Path) -> Result<Option<LogPin>, StateError> {
    let path = dir.join(LOG_PIN);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StateError::Io { path, source }),
    };
    let invalid = || StateError::Invalid {
        path: path.clone(),
        reason: "not a log size and a hex root".into(),
    };
    let (size, root) = text.trim().split_once(' ').ok_or_else(invalid)?;
    let size = size.parse().map_err(|_| invalid())?;
    let root = hex::decode(root)
        .ok()
        .and_then(|r| <[u8; 32]>::try_from(r).ok())
        .ok_or_else(invalid)?;
    Ok(Some(LogPin { size, root }))
}

/// Writes the log pin into the state directory `dir`, whole or not at all.
pub fn write_log_pin(dir: &Path, pin: &LogPin) -> Result<(), StateError> {
    let text = format!("{} {}\n", pin.size, hex::encode(pin.root));
    write(dir, LOG_PIN, text.as_bytes())
}

/// Writes `name` in `dir` through a temporary file renamed over it, mode 0600.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StateError> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.new"));
    let io = |source| StateError::Io {
        path: path.clone(),
        source,
    };
    let _ = fs::remove_file(&temporary);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&temporary, &path).map_err(io)
}

/// The TLS identity: the TLS certificate carrying the server certificate, the root and
/// the root's newest CRL, valid as long as the server certificate.
pub fn identity(
    state: &State,
    root: &Certificate,
    crl: &Crl,
) -> Result<ServerIdentity, StateError> {
    let bundle = VouchingBundle {
        server: state.certificate.clone(),
        root: root.clone(),
        crl: crl.clone(),
    };
    let key =
        TlsKey::from_pkcs8_der(&state.tls_key.to_pkcs8_der()).map_err(|e| StateError::Invalid {
            path: PathBuf::from(TLS_KEY),
            reason: e.to_string(),
        })?;
    ServerIdentity::new(
        key,
        &bundle,
        state.certificate.not_before(),
        state.certificate.not_after(),
    )
    .map_err(|e| StateError::Invalid {
        path: PathBuf::from(CERTIFICATE),
        reason: e.to_string(),
    })
}
