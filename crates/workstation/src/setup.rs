//! Opening a workstation: settings, database, pinned root, and on first run a demo bank
//! whose staff devices' keys go into this machine's keyring.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pqbank_db::views::ViewStore;
use pqbank_db::{NewAccount, NewStaff};
use pqbank_keystore::DeviceSecrets;
use pqbank_ledger::{AccountKind, Currency};
use pqbank_pki::Fingerprint;
use pqbank_service::{Config, FileCrlPins, Service, demo};

use crate::bank::{Store, location};
use crate::{
    Bank, Keys, LocalDevice, Settings, UiError, Workstation, WorkstationErrorCode, blocking, random,
};

/// How to open a workstation.
pub struct Options {
    /// The settings and embedded database folder.
    pub data_dir: PathBuf,
    /// A database URL that overrides the settings (`PQBANK_DATABASE_URL`).
    pub database: Option<String>,
    /// Where device keys live (the OS keyring in the app).
    pub keys: Keys,
    /// This machine, as written into login transcripts ("host / address").
    pub origin: String,
}

impl core::fmt::Debug for Options {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Options")
            .field("data_dir", &self.data_dir)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The staff member of the demo bank who has no certificate yet: the enrolment screen
/// enrols a device for them.
pub const DEMO_NEW_HIRE: (&str, &str) = ("T-NEW", "Nia Novak");

impl Workstation {
    /// Opens the workstation; on a first run with no bank configured, builds the demo
    /// bank (a random seed; its staff's keys go to the key store) in the database.
    pub async fn open(options: Options) -> Result<Self, UiError> {
        let settings_path = options.data_dir.join("settings.json");
        let mut settings = Settings::load(&settings_path)?;
        let url = options
            .database
            .clone()
            .or_else(|| settings.database.clone())
            .unwrap_or_else(|| {
                format!("sqlite://{}", options.data_dir.join("pqbank.db").display())
            });
        let store = Store::open(&url).await?;
        let first_run = settings.pinned_root.is_none();
        // The highest CRL number seen per issuer is kept here, outside the database, so
        // a database rolled back to an older CRL cannot un-revoke anyone.
        let pins = Arc::new(FileCrlPins::open(&options.data_dir)?);
        let bank = if let Some(pin) = &settings.pinned_root {
            let pin = Fingerprint::from_hex(pin).map_err(|_| {
                UiError::new(
                    WorkstationErrorCode::SettingsCorrupt,
                    "the pinned root is not a fingerprint",
                )
            })?;
            match store {
                Store::Sqlite(s) => {
                    Bank::Sqlite(Service::new(s, Config::new(pin)).with_crl_pins(pins))
                }
                Store::Mysql(s) => {
                    Bank::Mysql(Service::new(s, Config::new(pin)).with_crl_pins(pins))
                }
            }
        } else {
            first_bank(
                store,
                pins,
                &options.keys,
                &mut settings,
                &url,
                &settings_path,
            )
            .await?
        };
        let demo = first_run
            || settings
                .other
                .get("demo")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
        // The location, never the URL: a MySQL URL can carry a password.
        tracing::info!(
            database = location(&url).as_str(),
            pinned_root = settings.pinned_root.as_deref().unwrap_or("-"),
            demo,
            first_run,
            "workstation opened"
        );
        Ok(Self {
            bank,
            settings: Mutex::new(settings),
            settings_path,
            reports_dir: options.data_dir.join("reports"),
            keys: options.keys,
            active: tokio::sync::Mutex::new(None),
            origin: options.origin,
            demo,
            url: url.clone(),
            drafts: Mutex::new(std::collections::HashMap::new()),
        }
        .with_location(&url))
    }

    fn with_location(self, url: &str) -> Self {
        if let Ok(mut s) = self.settings.lock() {
            s.other
                .insert("location".into(), serde_json::Value::String(location(url)));
        }
        self
    }
}

/// The bank of a first run: the demo bank built into the empty database, remembered in
/// the settings.
async fn first_bank(
    store: Store,
    pins: Arc<FileCrlPins>,
    keys: &Keys,
    settings: &mut Settings,
    url: &str,
    settings_path: &std::path::Path,
) -> Result<Bank, UiError> {
    let bank = match store {
        Store::Sqlite(s) => {
            Bank::Sqlite(demo_bank(s, keys, settings, url).await?.with_crl_pins(pins))
        }
        Store::Mysql(s) => {
            Bank::Mysql(demo_bank(s, keys, settings, url).await?.with_crl_pins(pins))
        }
    };
    settings.database = Some(url.to_owned());
    settings
        .other
        .insert("demo".into(), serde_json::Value::Bool(true));
    settings.save(settings_path)?;
    Ok(bank)
}

/// Builds the demo bank into an empty database and stores its staff's device keys.
async fn demo_bank<S>(
    store: S,
    keys: &Keys,
    settings: &mut Settings,
    url: &str,
) -> Result<Service<S>, UiError>
where
    S: pqbank_db::Backend + pqbank_db::IdentityStore + ViewStore,
{
    if !store.all_certificates().await?.is_empty() {
        return Err(UiError::new(
            WorkstationErrorCode::SetupUnpinned,
            "this database already holds a bank, but this workstation has no pinned root: \
             set it in the settings file first",
        ));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store, random()?, 50, 300, now).await?;
    service
        .store()
        .create_staff(
            &NewStaff {
                number: DEMO_NEW_HIRE.0.into(),
                display_name: DEMO_NEW_HIRE.1.into(),
                role: "teller".into(),
            },
            now,
        )
        .await?;
    // A drawer nobody has opened yet, for the new hire.
    service
        .store()
        .create_account(
            &NewAccount {
                number: "DRAWER-NEW".into(),
                customer_id: None,
                kind: AccountKind::CashDrawer,
                currency: Currency::EUR,
                floor_minor: Some(0),
                label: "DRAWER-NEW".into(),
            },
            now,
        )
        .await?;
    let devices = store_demo_keys(&bank, keys, url).await?;
    settings.pinned_root = Some(bank.root.fingerprint().to_hex());
    tracing::info!(
        devices = devices.len(),
        root = %bank.root.fingerprint(),
        "demo bank built; its staff keys are in the key store"
    );
    settings.devices.extend(devices);
    Ok(service)
}

/// Every demo staff member's signing seed into the key store; returns the devices held
/// here for the settings.
async fn store_demo_keys(
    bank: &demo::DemoBank,
    keys: &Keys,
    url: &str,
) -> Result<Vec<LocalDevice>, UiError> {
    let mut devices = Vec::new();
    for person in bank
        .managers
        .iter()
        .chain(&bank.tellers)
        .chain([&bank.auditor])
    {
        let fp = person.cert.fingerprint().to_hex();
        let item = format!("demo-{}", &fp[..16]);
        let seed = zeroize::Zeroizing::new(*person.device.key().seed());
        let keys = keys.clone();
        let name = item.clone();
        blocking(move || {
            let mut secrets = DeviceSecrets::generate()?;
            secrets.signing_seed = *seed;
            keys.store(&name, &secrets)?;
            Ok(())
        })
        .await?;
        devices.push(LocalDevice {
            keyring: item,
            id: hex::encode(&person.device.id),
            certificate: fp,
            name: person.name.clone(),
            role: person.role,
            enrolment: None,
            database: Some(location(url)),
            code: None,
        });
    }
    Ok(devices)
}
