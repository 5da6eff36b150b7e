//! The settings screen (a manager's): which database this workstation works on and which
//! root it pins. A change is checked against the database before it is saved, and takes
//! effect when the app starts again (the running session keeps the bank it opened).

use pqbank_db::views::ViewStore;
use pqbank_pki::{Action, Certificate, Fingerprint};

use crate::WorkstationErrorCode as Own;
use crate::bank::{Store, location, on_bank};
use crate::{SettingsView, UiError, Workstation};

/// True when `PQBANK_DATABASE_URL` chooses the database (it overrides the settings).
fn from_environment() -> bool {
    std::env::var("PQBANK_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

impl Workstation {
    /// Passes for a signed-in manager whose call the service accepts: where a workstation
    /// puts its trust is a manager's decision, taken under the same checks as any call.
    async fn manager_gate(&self) -> Result<(), UiError> {
        let (token, device, _) = self.session().await?;
        self.checked(
            on_bank!(&self.bank, s => s.staff_overview(&token, &device, Action::CertIssue).await),
        )
        .await
        .map(|_| ())
    }

    /// What the settings screen shows.
    pub async fn settings_view(&self) -> Result<SettingsView, UiError> {
        self.manager_gate().await?;
        let settings = self.settings_guard()?;
        Ok(SettingsView {
            database: location(&self.url),
            pinned_root: settings.pinned_root.clone().unwrap_or_default(),
            from_environment: from_environment(),
        })
    }

    /// Points this workstation at another database (`mysql://…` or `sqlite://PATH`) and
    /// root, from the next start. A database that holds a bank needs the fingerprint of
    /// its root, and that root must be stored there as a genuine self-signed CA
    /// certificate; an empty SQLite file needs none and gets the demo bank; an empty
    /// server is refused (`pqbank init` sets a bank up). Nothing is saved unless every
    /// check passes.
    pub async fn configure(
        &self,
        database: String,
        pinned_root: String,
    ) -> Result<String, UiError> {
        self.manager_gate().await?;
        if from_environment() {
            return Err(UiError::new(
                Own::SetupEnvironment,
                "PQBANK_DATABASE_URL chooses the database on this machine; change it there",
            ));
        }
        let database = database.trim().to_owned();
        if !(database.starts_with("mysql://") || database.starts_with("sqlite://")) {
            return Err(UiError::new(
                Own::InputDatabase,
                "a database is mysql://user:password@host:port/name or sqlite:///path/to/file.db",
            ));
        }
        let pin = match pinned_root.trim() {
            "" => None,
            text => Some(Fingerprint::from_hex(text).map_err(|_| {
                UiError::new(
                    Own::InputRoot,
                    "the root fingerprint is 64 hexadecimal digits",
                )
            })?),
        };
        let certificates = match Store::open(&database).await? {
            Store::Sqlite(s) => s.all_certificates().await?,
            Store::Mysql(s) => s.all_certificates().await?,
        };
        let message = verdict(&database, &certificates, pin)?;
        let mut settings = self.settings_guard()?;
        settings.database = Some(database.clone());
        settings.pinned_root = pin.map(|p| p.to_hex());
        settings.other.remove("demo");
        settings.save(&self.settings_path)?;
        tracing::info!(
            database = location(&database).as_str(),
            pinned_root = settings.pinned_root.as_deref().unwrap_or("-"),
            "settings changed, from the next start"
        );
        Ok(format!(
            "{message} Restart pqbank to work on {}.",
            location(&database)
        ))
    }
}

/// Whether a database may be trusted under a pin, and what to tell the manager: a bank
/// only under the fingerprint of a genuine root stored in it, an empty SQLite file only
/// without one (it gets the demo bank), an empty server never.
fn verdict(
    database: &str,
    certificates: &[pqbank_db::CertificateRecord],
    pin: Option<Fingerprint>,
) -> Result<&'static str, UiError> {
    Ok(match (certificates.is_empty(), pin) {
        (true, None) if database.starts_with("mysql://") => {
            return Err(UiError::new(
                Own::SetupEmptyServer,
                "that database is empty: set a bank up on it with `pqbank init --db URL` first",
            ));
        }
        (true, None) => "The database is empty: the demo bank is built there on the next start.",
        (true, Some(_)) => {
            return Err(UiError::new(
                Own::SetupRootNotFound,
                "that database is empty: it holds no bank with that root",
            ));
        }
        (false, None) => {
            return Err(UiError::new(
                Own::SetupUnpinned,
                "that database holds a bank: enter the fingerprint of its root to trust it",
            ));
        }
        (false, Some(pin)) => {
            // A row is only a claim: the root must parse, hash to the pin, be a
            // self-issued CA and carry its own valid signature.
            let genuine = certificates
                .iter()
                .filter(|c| c.fingerprint == *pin.as_bytes())
                .filter_map(|c| Certificate::from_der(&c.der).ok())
                .any(|c| {
                    c.fingerprint() == pin
                        && c.is_ca()
                        && c.is_self_issued()
                        && c.verify_signed_by(&c).is_ok()
                });
            if !genuine {
                return Err(UiError::new(
                    Own::SetupRootNotFound,
                    "that database holds no root certificate with this fingerprint",
                ));
            }
            "Saved."
        }
    })
}
