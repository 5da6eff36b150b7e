//! Opening a workstation: settings, its bank (a branch's pqbank-server, or the embedded
//! database), pinned root, and on first run a demo bank whose staff devices' keys go into
//! this machine's keyring.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pqbank_db::views::ViewStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_keystore::DeviceSecrets;
use pqbank_pki::Fingerprint;
use pqbank_service::{Config, FileCrlPins, FileLogPin, Service, demo};

use crate::link::{Link, open_embedded};
use crate::{
    Keys, LocalDevice, Settings, UiError, Workstation, WorkstationErrorCode, blocking, random,
};

/// How to open a workstation.
pub struct Options {
    /// The settings and embedded database folder.
    pub data_dir: PathBuf,
    /// An embedded database URL (`sqlite://PATH`) that overrides the settings
    /// (`PQBANK_DATABASE_URL`).
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
pub const DEMO_NEW_HIRE: (&str, &str) = demo::NEW_HIRE;

/// Refuses a shared database: a workstation reaches a branch's bank only through its
/// pqbank-server and never holds the database's credentials.
fn embedded_only(url: &str) -> Result<(), UiError> {
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        return Err(UiError::new(
            WorkstationErrorCode::InputDatabase,
            "a workstation does not open the bank's shared database: set the branch's \
             pqbank-server (https://host:port) and its root in the settings",
        ));
    }
    Ok(())
}

fn pin_of(settings: &Settings) -> Result<Option<Fingerprint>, UiError> {
    settings
        .pinned_root
        .as_deref()
        .map(Fingerprint::from_hex)
        .transpose()
        .map_err(|_| {
            UiError::new(
                WorkstationErrorCode::SettingsCorrupt,
                "the pinned root is not a fingerprint",
            )
        })
}

impl Workstation {
    /// Opens the workstation: on the branch's server when the settings name one (and no
    /// `PQBANK_DATABASE_URL` chooses an embedded file), else on the embedded database,
    /// where a first run with no bank configured builds the demo bank (a random seed; its
    /// staff's keys go to the key store).
    pub async fn open(options: Options) -> Result<Self, UiError> {
        let settings_path = options.data_dir.join("settings.json");
        let mut settings = Settings::load(&settings_path)?;
        let embedded_url = options
            .database
            .clone()
            .or_else(|| settings.database.clone())
            .unwrap_or_else(|| {
                format!("sqlite://{}", options.data_dir.join("pqbank.db").display())
            });
        let first_run = settings.pinned_root.is_none();
        // The highest CRL number seen per issuer is kept here, outside the bank, so a
        // database (or a server) rolled back to an older CRL cannot un-revoke anyone.
        let pins = Arc::new(FileCrlPins::open(&options.data_dir)?);
        let link = match (&settings.server, &options.database) {
            (Some(url), None) => {
                let pin = pin_of(&settings)?.ok_or_else(|| {
                    UiError::new(
                        WorkstationErrorCode::SetupUnpinned,
                        "the settings name a server but no root to trust it under",
                    )
                })?;
                let log_pin = Arc::new(FileLogPin::open(&options.data_dir)?);
                Link::server(url, pin, pins, Some(log_pin))?
            }
            _ => {
                embedded_only(&embedded_url)?;
                let store = open_embedded(&embedded_url).await?;
                let service = match pin_of(&settings)? {
                    Some(pin) => Service::new(store, Config::new(pin)),
                    None => {
                        let service =
                            demo_bank(store, &options.keys, &mut settings, &embedded_url).await?;
                        settings.database = Some(embedded_url.clone());
                        settings
                            .other
                            .insert("demo".into(), serde_json::Value::Bool(true));
                        settings.save(&settings_path)?;
                        service
                    }
                };
                Link::Embedded(Arc::new(service.with_crl_pins(pins)))
            }
        };
        let location = link.location(&embedded_url);
        let demo = first_run
            || settings
                .other
                .get("demo")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
        tracing::info!(
            bank = location.as_str(),
            pinned_root = settings.pinned_root.as_deref().unwrap_or("-"),
            demo,
            first_run,
            "workstation opened"
        );
        Ok(Self {
            link,
            settings: Mutex::new(settings),
            settings_path,
            reports_dir: options.data_dir.join("reports"),
            keys: options.keys,
            active: tokio::sync::Mutex::new(None),
            origin: options.origin,
            demo,
            location,
            drafts: Mutex::new(std::collections::HashMap::new()),
        })
    }
}

/// Builds the demo bank into an empty embedded database and stores its staff's device
/// keys.
async fn demo_bank(
    store: SqliteStore,
    keys: &Keys,
    settings: &mut Settings,
    url: &str,
) -> Result<Service<SqliteStore>, UiError> {
    if !store.all_certificates().await?.is_empty() {
        return Err(UiError::new(
            WorkstationErrorCode::SetupUnpinned,
            "this database already holds a bank, but this workstation has no pinned root: \
             set it in the settings file first",
        ));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store, random()?, 50, 300, now).await?;
    demo::add_new_hire(&service, &bank, now).await?;
    let devices = store_demo_keys(&demo::staff(&bank), keys, url).await?;
    settings.pinned_root = Some(bank.root.fingerprint().to_hex());
    tracing::info!(
        devices = devices.len(),
        root = %bank.root.fingerprint(),
        "demo bank built; its staff keys are in the key store"
    );
    settings.devices.extend(devices);
    Ok(service)
}

/// Makes this machine a branch workstation of a server's demo bank: the demo staff's
/// device keys into `keys`, and settings in `data_dir` that name the server at
/// `server_url` and the demo's root, marked as a demo. Nothing is written unless the
/// server's address is one.
///
/// # Errors
/// `input.server`, the key store's, or the settings file's.
pub async fn adopt_demo_branch(
    data_dir: &std::path::Path,
    staff: &pqbank_api::DemoStaff,
    keys: &Keys,
    server_url: &str,
) -> Result<usize, UiError> {
    crate::link::server_addr(server_url)?;
    let root = Fingerprint::from_hex(&staff.root).map_err(|_| {
        UiError::new(
            WorkstationErrorCode::InputRoot,
            "the root is not a fingerprint",
        )
    })?;
    let url = server_url.trim().trim_end_matches('/').to_owned();
    let devices = store_demo_keys(staff, keys, &url).await?;
    let adopted = devices.len();
    let mut settings = Settings {
        server: Some(url),
        pinned_root: Some(root.to_hex()),
        devices,
        ..Settings::default()
    };
    settings
        .other
        .insert("demo".into(), serde_json::Value::Bool(true));
    settings.save(&data_dir.join("settings.json"))?;
    Ok(adopted)
}

/// Every demo staff member's device keys (signing and delivery) into the key store;
/// returns the devices held here for the settings, of the bank at `location`.
async fn store_demo_keys(
    staff: &pqbank_api::DemoStaff,
    keys: &Keys,
    location: &str,
) -> Result<Vec<LocalDevice>, UiError> {
    let mut devices = Vec::new();
    for person in &staff.people {
        let keys_of = person.keys().map_err(|e| {
            UiError::new(
                WorkstationErrorCode::InputFingerprint,
                format!("a demo key is malformed: {e}"),
            )
        })?;
        let secrets = DeviceSecrets {
            signing_seed: keys_of.signing_seed,
            kem_seed: keys_of.kem_seed,
            x25519: keys_of.x25519,
        };
        let certificate = Fingerprint::from_bytes(keys_of.certificate);
        let item = format!("demo-{}", &certificate.to_hex()[..16]);
        let (keys, name) = (keys.clone(), item.clone());
        blocking(move || Ok(keys.store(&name, &secrets)?)).await?;
        devices.push(LocalDevice {
            keyring: item,
            id: person.device_id.clone(),
            certificate: certificate.to_hex(),
            name: person.name.clone(),
            role: person.role,
            enrolment: None,
            database: Some(location.to_owned()),
            code: None,
            csr: None,
        });
    }
    Ok(devices)
}
