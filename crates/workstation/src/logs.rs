//! The operator's log of this machine, shared by the desktop app and the CLI: one file a
//! day in `logs/` of the data folder, `logs/pqbank.log` a link to the current one, the
//! oldest deleted beyond [`LOG_FILES_KEPT`], filtered by `RUST_LOG` (default
//! [`DEFAULT_FILTER`]). What the libraries log is codes,
//! layers, ids and fingerprints, never a secret (see `pqbank-service`'s `trace` module);
//! the keyring's own crates are capped at info here in case they ever trace what they
//! carry.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::{ErrorCode, UiError, WorkstationErrorCode};

/// The folder of the log files, inside the data folder.
pub const LOG_DIR: &str = "logs";
/// Daily log files kept; older ones are deleted as new ones begin.
pub const LOG_FILES_KEPT: usize = 14;
/// What is logged when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";
/// The target of lines the file gets and standard error does not: a command's own final
/// message, which it prints itself.
pub const FILE_ONLY: &str = "pqbank::file_only";
/// A log file's name is `pqbank.YYYY-MM-DD.log` (the day in UTC).
const FILE_PREFIX: &str = "pqbank";
const FILE_SUFFIX: &str = "log";
/// The link to the file being written.
const CURRENT: &str = "pqbank.log";

impl UiError {
    /// An error whose detail (a library's or the system's words) goes to the log; the
    /// screen gets `message`.
    pub fn logged(
        code: impl Into<ErrorCode>,
        message: impl Into<String>,
        detail: &dyn core::fmt::Display,
    ) -> Self {
        let (code, message) = (code.into(), message.into());
        tracing::warn!(code = code.as_str(), detail = %detail, "{message}");
        Self::new(code, message)
    }

    /// An internal failure (a task, an encoder, a lock), logged as an error with its
    /// detail.
    pub(crate) fn internal(message: &str, detail: &dyn core::fmt::Display) -> Self {
        let code = WorkstationErrorCode::Internal;
        tracing::error!(code = code.as_str(), detail = %detail, "{message}");
        Self::new(code, message)
    }
}

/// The folder the log files go to.
#[must_use]
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

/// The log being written: a link to the day's file.
#[must_use]
pub fn log_file(data_dir: &Path) -> PathBuf {
    log_dir(data_dir).join(CURRENT)
}

/// The daily file appender, its folder created readable by this user only. The error
/// names the system's reason: there is no log yet to put it in.
pub fn appender(data_dir: &Path) -> Result<RollingFileAppender, UiError> {
    let dir = log_dir(data_dir);
    let unusable = |e: &dyn core::fmt::Display| {
        UiError::new(
            WorkstationErrorCode::Io,
            format!("the log folder {} is unusable: {e}", dir.display()),
        )
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| unusable(&e))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(LOG_FILES_KEPT)
        .latest_symlink(CURRENT)
        .build(&dir)
        .map_err(|e| unusable(&e))
}

/// `RUST_LOG`, or the default.
fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Crates that carry secrets over D-Bus: never below info, whatever `RUST_LOG` says.
fn secret_carriers() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("zbus", LevelFilter::INFO)
        .with_target("secret_service", LevelFilter::INFO)
        .with_target("keyring_core", LevelFilter::INFO)
        .with_target("zbus_secret_service_keyring_store", LevelFilter::INFO)
}

/// Installs the process's log: the daily file, and with `stderr` also warnings and errors
/// on standard error (the CLI's). Returns the file being written, or why there is none
/// (the log then goes to standard error alone when `stderr` is set, else nowhere).
pub fn install(data_dir: &Path, stderr: bool) -> Result<PathBuf, UiError> {
    let (file, why) = match appender(data_dir) {
        Ok(w) => (Some(w), None),
        Err(e) => (None, Some(e)),
    };
    let file_layer = file.map(|w| {
        fmt::layer()
            .with_ansi(false)
            .with_writer(w)
            .with_filter(env_filter().and(secret_carriers()))
    });
    let stderr_layer = stderr.then(|| {
        let warnings = Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target("sqlx", LevelFilter::ERROR)
            .with_target(FILE_ONLY, LevelFilter::OFF);
        fmt::layer()
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_writer(std::io::stderr)
            .with_filter(warnings.and(secret_carriers()))
    });
    // A second install (a test, a library caller) keeps the first.
    let _already = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    match why {
        None => Ok(log_file(data_dir)),
        Some(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the screen gets a sentence and the stable code, never the database's or
    /// the keyring's own words.
    #[test]
    fn the_screen_gets_a_sentence_not_the_detail() {
        let raw = "Access denied for user 'bank'@'10.0.0.9' (using password: YES)";
        let e = UiError::from(pqbank_db::StoreError::Database(raw.into()));
        assert_eq!(e.code.as_str(), "store.database");
        assert!(!e.message.contains("Access denied"), "{}", e.message);
        let e = UiError::from(pqbank_keystore::KeystoreError::Unavailable(raw.into()));
        assert_eq!(e.code.as_str(), "keyring");
        assert!(!e.message.contains("Access denied"), "{}", e.message);
        let missing = std::path::Path::new("/nonexistent/settings.json");
        let e = UiError::io(missing, &std::io::Error::other(raw));
        assert_eq!(e.code.as_str(), "io");
        assert!(e.message.contains("/nonexistent/settings.json") && !e.message.contains("Access"));
    }

    /// Proves the path the error screen shows leads to the file the appender writes, in
    /// a folder only this user can read.
    #[test]
    fn the_shown_path_is_the_file_written() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut appender = appender(dir.path()).unwrap();
        appender.write_all(b"a line\n").unwrap();
        appender.flush().unwrap();
        let written = std::fs::read_to_string(log_file(dir.path())).unwrap();
        assert_eq!(written, "a line\n");
        let mode = std::fs::metadata(log_dir(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the log folder is this user's alone");
    }
}
