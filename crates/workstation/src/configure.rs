//! The settings screen (a manager's): which bank this workstation works with (a branch's
//! pqbank-server, or an embedded database file) and which root it pins. A change is
//! checked before it is saved (a server by a TLS handshake that must find its key vouched
//! for under the root, then its status; a file by its root certificate), and takes effect
//! when the app starts again (the running session keeps the bank it opened).

use pqbank_api::Bank as _;
use pqbank_db::views::ViewStore;
use pqbank_pki::{Certificate, Fingerprint, Role};

use crate::WorkstationErrorCode as Own;
use crate::link::{Link, open_embedded};
use crate::{SettingsView, UiError, Workstation};

/// True when `PQBANK_DATABASE_URL` chooses the database (it overrides the settings).
fn from_environment() -> bool {
    std::env::var("PQBANK_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

impl Workstation {
    /// Passes for a signed-in manager whose session the bank still accepts: where a
    /// workstation puts its trust is a manager's decision.
    async fn manager_gate(&self) -> Result<(), UiError> {
        let call = self.session().await?;
        if call.bank.role() != Role::Manager {
            return Err(UiError::new(
                crate::ErrorCode::Forbidden(crate::ForbiddenErrorCode::ActionNotAllowed),
                "only a manager changes where this workstation puts its trust",
            ));
        }
        self.checked(call.bank.staff().await).await.map(|_| ())
    }

    /// What the settings screen shows.
    pub async fn settings_view(&self) -> Result<SettingsView, UiError> {
        self.manager_gate().await?;
        let settings = self.settings_guard()?;
        Ok(SettingsView {
            bank: self.location.clone(),
            pinned_root: settings.pinned_root.clone().unwrap_or_default(),
            from_environment: from_environment(),
        })
    }

    /// Points this workstation at another bank and root, from the next start: a branch's
    /// server (`https://host:port`), whose TLS key must be vouched for under the root
    /// and which must serve that root; or an embedded database (`sqlite://PATH`): one
    /// that holds a bank needs the fingerprint of its root, stored there as a genuine
    /// self-signed CA certificate; an empty one needs none and gets the demo bank.
    /// Nothing is saved unless every check passes.
    pub async fn configure(&self, bank: String, pinned_root: String) -> Result<String, UiError> {
        self.manager_gate().await?;
        if from_environment() {
            return Err(UiError::new(
                Own::SetupEnvironment,
                "PQBANK_DATABASE_URL chooses the database on this machine; change it there",
            ));
        }
        let bank = bank.trim().to_owned();
        let pin = match pinned_root.trim() {
            "" => None,
            text => Some(Fingerprint::from_hex(text).map_err(|_| {
                UiError::new(
                    Own::InputRoot,
                    "the root fingerprint is 64 hexadecimal digits",
                )
            })?),
        };
        let (message, server) = if bank.starts_with("https://") {
            let pin = pin.ok_or_else(|| {
                UiError::new(
                    Own::SetupUnpinned,
                    "a server is trusted only under its bank's root: enter the root's fingerprint",
                )
            })?;
            // A memory of CRL numbers for this check alone: the saved server is checked
            // against this installation's own from the next start.
            let pins = std::sync::Arc::new(pqbank_service::MemoryCrlPins::default());
            Link::server(&bank, pin, pins, None)?.check_server().await?;
            ("Saved.", Some(bank.clone()))
        } else if bank.starts_with("sqlite://") {
            let certificates = open_embedded(&bank).await?.all_certificates().await?;
            (verdict(&certificates, pin)?, None)
        } else if bank.starts_with("mysql://") || bank.starts_with("mariadb://") {
            return Err(UiError::new(
                Own::InputDatabase,
                "a workstation does not open the bank's shared database: enter the branch's \
                 pqbank-server, https://host:port",
            ));
        } else {
            return Err(UiError::new(
                Own::InputDatabase,
                "the bank is a branch server, https://host:port, or an embedded file, \
                 sqlite:///path/to/pqbank.db",
            ));
        };
        let mut settings = self.settings_guard()?;
        if server.is_some() {
            settings.server = server;
        } else {
            settings.server = None;
            settings.database = Some(bank.clone());
        }
        settings.pinned_root = pin.map(|p| p.to_hex());
        settings.other.remove("demo");
        settings.save(&self.settings_path)?;
        tracing::info!(
            bank = bank.as_str(),
            pinned_root = settings.pinned_root.as_deref().unwrap_or("-"),
            "settings changed, from the next start"
        );
        Ok(format!("{message} Restart pqbank to work with {bank}."))
    }
}

/// Whether an embedded database may be trusted under a pin, and what to tell the
/// manager: a bank only under the fingerprint of a genuine root stored in it, an empty
/// file only without one (it gets the demo bank).
fn verdict(
    certificates: &[pqbank_db::CertificateRecord],
    pin: Option<Fingerprint>,
) -> Result<&'static str, UiError> {
    Ok(match (certificates.is_empty(), pin) {
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
