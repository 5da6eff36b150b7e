//! `pqbank init`: a new installation. The root CA's key is sealed in a passphrase-
//! encrypted key file (it belongs offline); the first manager's device key goes to this
//! machine's OS keyring; both CRLs start at number 1; the settings pin the root.

use std::process::ExitCode;

use clap::Args;
use pqbank_keystore::{DeviceSecrets, EncryptedFile, KeyStore, OsKeyring};
use pqbank_pki::crl::CrlBuilder;
use pqbank_pki::{CompositeSigningKey, Role};
use pqbank_service::demo::certificate;
use pqbank_service::{Config, Service};
use serde_json::json;

use crate::CliError;
use crate::service_cmds::{
    KEYRING_SERVICE, crl_pins, data_dir, database_url, now, runtime, settings_path, with_store,
};

/// The environment variable holding the root key file's passphrase.
const ROOT_PASSPHRASE_VAR: &str = "PQBANK_ROOT_PASSPHRASE";

/// Arguments of `pqbank init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Database URL; default: the embedded SQLite file in the user's data folder.
    #[arg(long)]
    db: Option<String>,
    /// Name of the first manager, whose device this machine becomes.
    #[arg(long)]
    manager: String,
}

pub fn init(args: &InitArgs) -> Result<ExitCode, CliError> {
    if settings_path().exists() {
        return Err(CliError(format!(
            "{} exists: this machine is already set up",
            settings_path().display()
        )));
    }
    let passphrase = std::env::var(ROOT_PASSPHRASE_VAR).map_err(|_| {
        CliError(format!(
            "set {ROOT_PASSPHRASE_VAR} to the passphrase that will seal the root key"
        ))
    })?;
    let keys = data_dir().join("keys");
    std::fs::create_dir_all(&keys)?;
    let root_file = EncryptedFile::new(&keys, &passphrase)?;
    let root_secrets = DeviceSecrets::generate()?;
    let manager_secrets = DeviceSecrets::generate()?;
    let device_id = hex::encode(crate::files::random::<8>()?);
    let item = format!("device-{device_id}");
    // Keys first: if the keyring is unreachable nothing is written to the database.
    OsKeyring::new(KEYRING_SERVICE)?.store(&item, &manager_secrets)?;
    root_file.store("root-ca", &root_secrets)?;

    let now = now();
    let root_key = CompositeSigningKey::from_seed(&root_secrets.signing_seed);
    let manager_key = CompositeSigningKey::from_seed(&manager_secrets.signing_seed);
    let root = certificate(
        "pqbank Root CA",
        &root_key,
        Role::Root,
        None,
        b"",
        crate::files::random()?,
        now,
    )?;
    let manager = certificate(
        &args.manager,
        &manager_key,
        Role::Manager,
        Some((&root, &root_key)),
        device_id.as_bytes(),
        crate::files::random()?,
        now,
    )?;
    let url = database_url(args.db.as_deref());
    runtime()?.block_on(async {
        with_store!(url.clone(), store => {
            let service = Service::new(store, Config::new(root.fingerprint())).with_crl_pins(crl_pins()?);
            service.install_root(&root).await?;
            // The first manager's staff row is the root's to make: its first version is
            // signed on the root's chain. Its number is the one the certificate's StaffId
            // claim names: log verification knows whom a certificate speaks for by it.
            let number = manager.claims().staff_id.clone().unwrap_or_default();
            let staff = pqbank_db::NewStaff { number, display_name: args.manager.clone(), role: "manager".into() };
            let root_device = pqbank_service::Device::new(b"root-ca", CompositeSigningKey::from_seed(&root_secrets.signing_seed));
            // The root signs the bank's four-eyes policy, version 1, before anyone can post.
            service.sign_policy(&pqbank_ledger::Policy::default(), &root_device).await?;
            let sign = root_device.event_signer();
            let maker = pqbank_db::master::Maker { certificate: *root.fingerprint().as_bytes(), sign: &sign };
            let staff_id = pqbank_db::Backend::create_staff(service.store(), &staff, now, Some(maker)).await?;
            service.record_certificate(&manager, staff_id, &root_device).await?;
            for (issuer, key) in [(&root, &root_key), (&manager, &manager_key)] {
                let t = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                let crl = CrlBuilder { number: 1, this_update: t(now - 60), next_update: t(now + 7 * 86_400), entries: vec![] }
                    .sign(issuer, key, &crate::files::random()?)?;
                service.publish_crl(issuer.fingerprint(), &crl).await?;
            }
            Ok::<_, CliError>(())
        })
    })?;
    let settings = json!({
        "database": url,
        "pinnedRoot": root.fingerprint().to_hex(),
        "device": { "keyring": item, "id": hex::encode(device_id.as_bytes()), "certificate": manager.fingerprint().to_hex() },
    });
    std::fs::write(settings_path(), serde_json::to_vec_pretty(&settings)?)?;
    println!("installation created: database {url}");
    println!("pinned root (SHA3-256): {}", root.fingerprint());
    println!(
        "root key sealed in {} (keep it offline)",
        keys.join("root-ca.pqbkey").display()
    );
    println!(
        "first manager {} on this device; certificate {}",
        args.manager,
        manager.fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}
