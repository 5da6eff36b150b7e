//! The installation's CRL pins: the highest CRL number this installation has seen per
//! issuer, kept outside the database (DESIGN layer 5: an older CRL is refused, no
//! rollback). Someone who can delete the newest CRL row from the shared database would
//! otherwise un-revoke every certificate it lists; with the pin, the older CRL left
//! behind is refused as a rollback.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pqbank_pki::Fingerprint;

use crate::ServiceError;

/// Where an installation keeps its CRL pins.
pub trait CrlPins: Send + Sync {
    /// The highest CRL number seen for `issuer`, if any.
    fn pinned(&self, issuer: &Fingerprint) -> Result<Option<u64>, ServiceError>;
    /// Records that CRL `number` of `issuer` was published or seen: a pin only rises.
    fn raise(&self, issuer: &Fingerprint, number: u64) -> Result<(), ServiceError>;
}

/// Pins held in memory for the life of the process (tests, benchmarks, scratch
/// databases). An installation keeps them on disk: [`FileCrlPins`].
#[derive(Debug, Default)]
pub struct MemoryCrlPins(Mutex<BTreeMap<Fingerprint, u64>>);

impl CrlPins for MemoryCrlPins {
    fn pinned(&self, issuer: &Fingerprint) -> Result<Option<u64>, ServiceError> {
        Ok(self.0.lock().map_err(poisoned)?.get(issuer).copied())
    }

    fn raise(&self, issuer: &Fingerprint, number: u64) -> Result<(), ServiceError> {
        let mut pins = self.0.lock().map_err(poisoned)?;
        let pin = pins.entry(*issuer).or_insert(number);
        *pin = (*pin).max(number);
        Ok(())
    }
}

fn poisoned<T>(_: T) -> ServiceError {
    crate::trace::pins_failed("the pin table's lock is poisoned".into())
}

/// Pins in a JSON file in the installation's data folder, written atomically (a
/// temporary file in the same folder, synced, then renamed over the old one) under an
/// advisory lock, re-read before every write so two processes never lower each other's
/// pins. A file that exists but does not parse is an error, never an empty table: losing
/// the pins silently would re-open the rollback.
#[derive(Debug)]
pub struct FileCrlPins {
    path: PathBuf,
    pins: Mutex<BTreeMap<Fingerprint, u64>>,
}

/// Format version written in the file.
const FILE_VERSION: u64 = 1;

impl FileCrlPins {
    /// The file's name in the data folder.
    pub const FILE_NAME: &'static str = "crl-pins.json";

    /// Opens the pins of the installation whose data folder is `dir` (created if
    /// missing); no file yet means no pins yet.
    pub fn open(dir: &Path) -> Result<Self, ServiceError> {
        std::fs::create_dir_all(dir).map_err(|e| io("create the data folder", &e))?;
        let path = dir.join(Self::FILE_NAME);
        let pins = read(&path)?;
        Ok(Self {
            path,
            pins: Mutex::new(pins),
        })
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_file(&self) -> Result<std::fs::File, ServiceError> {
        lock_beside(&self.path)
    }

    /// Writes `pins` to a temporary file beside the pins file and renames it over it.
    fn write(&self, pins: &BTreeMap<Fingerprint, u64>) -> Result<(), ServiceError> {
        let entries: serde_json::Map<String, serde_json::Value> = pins
            .iter()
            .map(|(issuer, n)| (issuer.to_hex(), serde_json::Value::from(*n)))
            .collect();
        let json = serde_json::json!({ "version": FILE_VERSION, "pins": entries });
        let bytes = serde_json::to_vec_pretty(&json)
            .map_err(|e| crate::trace::pins_failed(format!("cannot encode the pins: {e}")))?;
        write_atomically(&self.path, &bytes)
    }
}

/// Writes `bytes` to a temporary file beside `path`, synced, renamed over it, and the
/// folder synced: the file is whole, old or new, whatever happens.
/// Takes the exclusive lock of the file beside `path` (`NAME.json.lock`), held until the
/// returned handle is dropped: the installation's processes (the desktop, the CLI) read,
/// merge and write a file in turn, never over each other's newer value.
pub fn lock_beside(path: &Path) -> Result<std::fs::File, ServiceError> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.with_extension("json.lock"))
        .map_err(|e| io("open the lock file", &e))?;
    lock.lock().map_err(|e| io("lock the pins", &e))?;
    Ok(lock)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ServiceError> {
    let suffix: [u8; 8] = crate::service::random()?;
    let tmp = path.with_extension(format!("tmp-{}", hex::encode(suffix)));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok::<_, std::io::Error>(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("write the pins", &e));
    }
    Ok(())
}

/// A workstation's log pin: the highest log size it has seen at its bank's server and
/// the root of that many events, for the bank whose root fingerprint it names, in a JSON
/// file in its data folder (`{"version": 1, "pinnedRoot": "hex", "size": N, "root":
/// "hex"}`), written atomically under the file's lock ([`lock_beside`]). A log shorter
/// than the pin, or one the pin is not a prefix of, is refused at sign-in
/// ([`pqbank_api::LogPin`]); the pin only rises for its bank, and a workstation moved to
/// another bank (another pinned root) starts a new pin. A file that exists but does not
/// parse is an error, never "no pin".
#[derive(Debug)]
pub struct FileLogPin {
    path: PathBuf,
}

impl FileLogPin {
    /// The file's name in the data folder.
    pub const FILE_NAME: &'static str = "log-pin.json";

    /// The pin of the installation whose data folder is `dir` (created if missing).
    ///
    /// # Errors
    /// The folder cannot be made.
    pub fn open(dir: &Path) -> Result<Self, ServiceError> {
        std::fs::create_dir_all(dir).map_err(|e| io("create the data folder", &e))?;
        Ok(Self {
            path: dir.join(Self::FILE_NAME),
        })
    }

    /// The pin kept for the bank of root `bank`, if one was.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a pin.
    pub fn pinned(&self, bank: &Fingerprint) -> Result<Option<crate::LogPin>, ServiceError> {
        Ok(self
            .read()?
            .filter(|(kept, _)| kept == bank)
            .map(|(_, pin)| pin))
    }

    fn read(&self) -> Result<Option<(Fingerprint, crate::LogPin)>, ServiceError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read the log pin", &e)),
        };
        let bad = || crate::trace::pins_failed(format!("{} is not a log pin", self.path.display()));
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if json["version"].as_u64() != Some(FILE_VERSION) {
            return Err(bad());
        }
        let bank = json["pinnedRoot"]
            .as_str()
            .and_then(|r| Fingerprint::from_hex(r).ok())
            .ok_or_else(bad)?;
        let size = json["size"].as_u64().ok_or_else(bad)?;
        let root = json["root"]
            .as_str()
            .and_then(|r| hex::decode(r).ok())
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or_else(bad)?;
        Ok(Some((bank, crate::LogPin { size, root })))
    }

    /// Keeps `pin` for the bank of root `bank` if it is above the one kept for it (the
    /// caller checked it extends it); a pin of another bank is replaced.
    ///
    /// # Errors
    /// The file cannot be read or written.
    pub fn raise(&self, bank: &Fingerprint, pin: &crate::LogPin) -> Result<(), ServiceError> {
        // Read and written under the file's lock: another process's higher pin, kept
        // since this one read it, is never written over.
        let _lock = lock_beside(&self.path)?;
        if self.pinned(bank)?.is_some_and(|kept| kept.size >= pin.size) {
            return Ok(());
        }
        let json = serde_json::json!({
            "version": FILE_VERSION,
            "pinnedRoot": bank.to_hex(),
            "size": pin.size,
            "root": hex::encode(pin.root),
        });
        let bytes = serde_json::to_vec_pretty(&json)
            .map_err(|e| crate::trace::pins_failed(format!("cannot encode the log pin: {e}")))?;
        write_atomically(&self.path, &bytes)
    }
}

/// A verifier's record of its last clean verification of one database
/// ([`crate::VerifiedLog`]), in a JSON file in its data folder named after a digest of
/// the database's address (so the address, which may hold a password, is not written),
/// written atomically. A record of another bank (another pinned root) is not this one's:
/// the next run is full. A file that exists but does not parse is an error, never "no
/// record".
#[derive(Debug)]
pub struct FileVerifiedLog {
    path: PathBuf,
}

impl FileVerifiedLog {
    /// The record of the verifications of the database at `database`, in the data folder
    /// `dir` (created if missing).
    ///
    /// # Errors
    /// The folder cannot be made.
    pub fn open(dir: &Path, database: &str) -> Result<Self, ServiceError> {
        use sha3::Digest;
        std::fs::create_dir_all(dir).map_err(|e| io("create the data folder", &e))?;
        let digest = sha3::Sha3_256::digest(database.as_bytes());
        let name = format!("verified-log-{}.json", hex::encode(&digest[..8]));
        Ok(Self {
            path: dir.join(name),
        })
    }

    /// Where it is kept.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record kept for the bank of root `bank`, if there is one.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a record.
    pub fn read(&self, bank: &Fingerprint) -> Result<Option<crate::VerifiedLog>, ServiceError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read the verified state", &e)),
        };
        let state = crate::VerifiedLog::from_json(&bytes).map_err(|reason| {
            crate::trace::pins_failed(format!("{}: {reason}", self.path.display()))
        })?;
        Ok((state.root.0 == *bank.as_bytes()).then_some(state))
    }

    /// Keeps `state` as the last clean verification.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, state: &crate::VerifiedLog) -> Result<(), ServiceError> {
        let _lock = lock_beside(&self.path)?;
        write_atomically(&self.path, &state.to_json())
    }
}

impl CrlPins for FileCrlPins {
    fn pinned(&self, issuer: &Fingerprint) -> Result<Option<u64>, ServiceError> {
        Ok(self.pins.lock().map_err(poisoned)?.get(issuer).copied())
    }

    fn raise(&self, issuer: &Fingerprint, number: u64) -> Result<(), ServiceError> {
        let mut pins = self.pins.lock().map_err(poisoned)?;
        if pins.get(issuer).is_some_and(|pin| *pin >= number) {
            return Ok(());
        }
        let _lock = self.lock_file()?;
        // Another process may have raised pins since this one read the file.
        let mut merged = read(&self.path)?;
        for (k, v) in pins.iter() {
            let pin = merged.entry(*k).or_insert(*v);
            *pin = (*pin).max(*v);
        }
        let pin = merged.entry(*issuer).or_insert(number);
        *pin = (*pin).max(number);
        self.write(&merged)?;
        *pins = merged;
        Ok(())
    }
}

fn io(what: &str, e: &std::io::Error) -> ServiceError {
    crate::trace::pins_failed(format!("cannot {what}: {e}"))
}

/// Reads a pins file; a missing file is an empty table, anything malformed an error.
fn read(path: &Path) -> Result<BTreeMap<Fingerprint, u64>, ServiceError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io("read the pins", &e)),
    };
    let bad = |what: &str| {
        crate::trace::pins_failed(format!("{} is not a pins file: {what}", path.display()))
    };
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))?;
    if json["version"].as_u64() != Some(FILE_VERSION) {
        return Err(bad("unknown version"));
    }
    let entries = json["pins"].as_object().ok_or_else(|| bad("no pins"))?;
    entries
        .iter()
        .map(|(issuer, n)| {
            let issuer = Fingerprint::from_hex(issuer).map_err(|_| bad("bad issuer"))?;
            let n = n.as_u64().ok_or_else(|| bad("bad CRL number"))?;
            Ok((issuer, n))
        })
        .collect()
}
