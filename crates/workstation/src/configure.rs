//! The settings screen: which database this workstation works on and which root it pins.
//! A change is checked against the database before it is saved, and takes effect when the
//! app starts again (the running session keeps the bank it opened).

use pqbank_db::views::ViewStore;
use pqbank_pki::Fingerprint;

use crate::bank::{Store, location};
use crate::{SettingsView, UiError, Workstation};

impl Workstation {
    /// What the settings screen shows.
    pub fn settings_view(&self) -> Result<SettingsView, UiError> {
        let settings = self
            .settings
            .lock()
            .map_err(|_| UiError::new("internal", "settings lock poisoned"))?;
        Ok(SettingsView {
            database: location(&self.url),
            pinned_root: settings.pinned_root.clone().unwrap_or_default(),
            from_environment: std::env::var("PQBANK_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
        })
    }

    /// Points this workstation at another database (`mysql://…` or `sqlite://PATH`) and
    /// root. A database that holds a bank needs the fingerprint of its root, which must be
    /// stored there as a root certificate; an empty one needs none, and gets a demo bank
    /// on the next start. Nothing is saved unless the check passes.
    pub async fn configure(
        &self,
        database: String,
        pinned_root: String,
    ) -> Result<String, UiError> {
        let database = database.trim().to_owned();
        if !(database.starts_with("mysql://") || database.starts_with("sqlite://")) {
            return Err(UiError::new(
                "input.database",
                "a database is mysql://user:password@host:port/name or sqlite:///path/to/file.db",
            ));
        }
        let pin = match pinned_root.trim() {
            "" => None,
            text => Some(Fingerprint::from_hex(text).map_err(|_| {
                UiError::new(
                    "input.root",
                    "the root fingerprint is 64 hexadecimal digits",
                )
            })?),
        };
        let certificates = match Store::open(&database).await? {
            Store::Sqlite(s) => s.all_certificates().await?,
            Store::Mysql(s) => s.all_certificates().await?,
        };
        let message = match (certificates.is_empty(), pin) {
            (true, None) => {
                "The database is empty: the demo bank is built there on the next start."
            }
            (true, Some(_)) => {
                return Err(UiError::new(
                    "setup.root_not_found",
                    "that database is empty: it holds no bank with that root",
                ));
            }
            (false, None) => {
                return Err(UiError::new(
                    "setup.unpinned",
                    "that database holds a bank: enter the fingerprint of its root to trust it",
                ));
            }
            (false, Some(pin)) => {
                if !certificates
                    .iter()
                    .any(|c| c.fingerprint == *pin.as_bytes() && c.role == "root")
                {
                    return Err(UiError::new(
                        "setup.root_not_found",
                        "that database holds no root certificate with this fingerprint",
                    ));
                }
                "Saved."
            }
        };
        let mut settings = self
            .settings
            .lock()
            .map_err(|_| UiError::new("internal", "settings lock poisoned"))?;
        settings.database = Some(database.clone());
        settings.pinned_root = pin.map(|p| p.to_hex());
        settings.other.remove("demo");
        settings.save(&self.settings_path)?;
        Ok(format!(
            "{message} Restart pqbank to work on {}.",
            location(&database)
        ))
    }
}
