//! The offline PKI commands: `ca init`, `csr new`, `cert issue|inspect|verify`,
//! `crl new|revoke|show`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pqbank_pki::cert::Issuer;
use pqbank_pki::chain::{ChainInput, validate};
use pqbank_pki::crl::RevokedEntry;
use pqbank_pki::ext::{DEFENCE_VERSION, device_id_hash};
use pqbank_pki::{
    Action, Certificate, CertificateBuilder, CertificateRequest, CompositeSigningKey, Crl,
    CrlBuilder, CsrBuilder, DistinguishedName, Fingerprint, Layer, Lineage, RevocationReason, Role,
    StaffClaims,
};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::CliError;
use crate::files;

/// Arguments of `pqbank ca init`.
#[derive(Debug, Args)]
pub struct CaInit {
    /// Folder to write root.key (mode 0600), root.crt and root.fingerprint into.
    #[arg(long)]
    out: PathBuf,
    /// Organisation: the bank's name.
    #[arg(long, default_value = "pqbank")]
    org: String,
    /// Common name of the root CA.
    #[arg(long, default_value = "pqbank Root CA")]
    name: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    days: i64,
}

/// Arguments of `pqbank csr new`.
#[derive(Debug, Args)]
pub struct CsrNew {
    /// Common name: the staff member or device.
    #[arg(long)]
    name: String,
    /// Organisation: the bank's name.
    #[arg(long, default_value = "pqbank")]
    org: String,
    /// Branch or unit.
    #[arg(long)]
    unit: Option<String>,
    /// Device identifier the certificate will be bound to (layer 3).
    #[arg(long)]
    device_id: Option<String>,
    /// Where to write the new private key (mode 0600).
    #[arg(long)]
    key_out: PathBuf,
    /// Where to write the request (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `pqbank cert issue`.
#[derive(Debug, Args)]
pub struct CertIssue {
    /// The request (PEM or DER).
    #[arg(long)]
    csr: PathBuf,
    /// The issuing CA's certificate.
    #[arg(long)]
    ca_cert: PathBuf,
    /// The issuing CA's private key file.
    #[arg(long)]
    ca_key: PathBuf,
    /// Role: manager (a CA that may issue, path length 0), teller or auditor.
    #[arg(long)]
    role: Role,
    /// Staff identifier.
    #[arg(long)]
    staff_id: String,
    /// Allowed actions, comma separated; default: every action the role permits.
    #[arg(long, value_delimiter = ',')]
    actions: Vec<Action>,
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    days: i64,
    /// The certificate this one renews (recorded in the lineage).
    #[arg(long)]
    replaces: Option<PathBuf>,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `pqbank cert inspect`.
#[derive(Debug, Args)]
pub struct CertInspect {
    /// The certificate (PEM or DER).
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pqbank cert verify`.
#[derive(Debug, Args)]
pub struct CertVerify {
    /// The certificate to validate (PEM or DER).
    file: PathBuf,
    /// The root certificate.
    #[arg(long)]
    root: PathBuf,
    /// Pinned SHA3-256 fingerprint of the root; default: the fingerprint of --root.
    #[arg(long)]
    pin: Option<String>,
    /// Intermediate certificates, from the leaf's issuer upward.
    #[arg(long, num_args = 1..)]
    chain: Vec<PathBuf>,
    /// CRLs to apply.
    #[arg(long, num_args = 1..)]
    crl: Vec<PathBuf>,
    /// Highest CRL number already seen for an issuer: FINGERPRINT=NUMBER (repeatable).
    #[arg(long)]
    crl_pin: Vec<String>,
    /// Require a CRL for every issuer.
    #[arg(long)]
    require_crl: bool,
    /// Require a complete pqbank staff certificate.
    #[arg(long)]
    require_staff: bool,
    /// The action the certificate must be allowed to authorise.
    #[arg(long)]
    action: Option<Action>,
    /// The device the certificate must be bound to.
    #[arg(long)]
    device_id: Option<String>,
    /// Validate at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pqbank crl new`.
#[derive(Debug, Args)]
pub struct CrlNew {
    /// The issuing CA's certificate.
    #[arg(long)]
    ca_cert: PathBuf,
    /// The issuing CA's private key file.
    #[arg(long)]
    ca_key: PathBuf,
    /// The previous CRL to carry forward; its number plus one is used.
    #[arg(long, required_unless_present = "first")]
    previous: Option<PathBuf>,
    /// This is the CA's first CRL (number 1). Without it, --previous is required, so a
    /// CA's CRL numbers never start over.
    #[arg(long, conflicts_with = "previous")]
    first: bool,
    /// Days until nextUpdate.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=366))]
    days: i64,
    /// Where to write the CRL (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `pqbank crl revoke`.
#[derive(Debug, Args)]
pub struct CrlRevoke {
    /// The issuing CA's certificate.
    #[arg(long)]
    ca_cert: PathBuf,
    /// The issuing CA's private key file.
    #[arg(long)]
    ca_key: PathBuf,
    /// The certificate to revoke.
    #[arg(long)]
    cert: PathBuf,
    /// RFC 5280 reason: keyCompromise, affiliationChanged, superseded,
    /// cessationOfOperation, privilegeWithdrawn, ...
    #[arg(long, default_value = "unspecified")]
    reason: RevocationReason,
    /// The previous CRL; its entries are kept and its number plus one is used.
    #[arg(long)]
    previous: PathBuf,
    /// Days until nextUpdate.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=366))]
    days: i64,
    /// Where to write the new CRL (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `pqbank crl show`.
#[derive(Debug, Args)]
pub struct CrlShow {
    /// The CRL (PEM or DER).
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn ca_init(args: &CaInit) -> Result<ExitCode, CliError> {
    std::fs::create_dir_all(&args.out)?;
    let key = CompositeSigningKey::from_seed(&zeroize::Zeroizing::new(files::random::<64>()?));
    let now = OffsetDateTime::now_utc();
    let builder = CertificateBuilder {
        serial: files::random()?,
        subject: DistinguishedName::new(&args.org, &args.name).to_der(),
        subject_key: key.verifying_key().clone(),
        not_before: now - Duration::minutes(5),
        not_after: now + Duration::days(args.days),
        ca_path_len: Some(1),
        claims: StaffClaims {
            layers: Layer::ALL.to_vec(),
            role: Some(Role::Root),
            actions: Role::Root.actions().to_vec(),
            defence_version: Some(DEFENCE_VERSION),
            ..StaffClaims::default()
        },
    };
    let cert = builder.sign(Issuer::SelfSigned(&key), &files::random()?)?;
    files::write_key(&args.out.join("root.key"), &key)?;
    files::write_public(&args.out.join("root.crt"), &cert.to_pem())?;
    let fingerprint = cert.fingerprint().to_hex();
    files::write_public(
        &args.out.join("root.fingerprint"),
        &format!("{fingerprint}\n"),
    )?;
    println!("root CA created in {}", args.out.display());
    println!("root fingerprint (SHA3-256, pin this): {fingerprint}");
    Ok(ExitCode::SUCCESS)
}

pub fn csr_new(args: &CsrNew) -> Result<ExitCode, CliError> {
    let key = CompositeSigningKey::from_seed(&zeroize::Zeroizing::new(files::random::<64>()?));
    let mut name = DistinguishedName::new(&args.org, &args.name);
    name.organizational_unit.clone_from(&args.unit);
    if !name.is_valid() {
        return Err(CliError("names must be 1 to 64 characters".into()));
    }
    let csr = CsrBuilder {
        subject: name.to_der(),
        device_id_hash: args
            .device_id
            .as_deref()
            .map(|d| device_id_hash(d.as_bytes())),
    }
    .sign(&key, &files::random()?)?;
    files::write_key(&args.key_out, &key)?;
    files::write_public(&args.out, &csr.to_pem())?;
    println!("request written to {}", args.out.display());
    println!(
        "request code (SHA3-256): {}",
        short_code(&csr.fingerprint())
    );
    Ok(ExitCode::SUCCESS)
}

/// The first 10 bytes of a fingerprint in groups of four hex digits, for reading aloud.
fn short_code(fp: &Fingerprint) -> String {
    let hex = fp.to_hex();
    let mut groups = Vec::new();
    let mut rest = hex.get(..20).unwrap_or_default();
    while !rest.is_empty() {
        let (group, tail) = rest.split_at(rest.len().min(4));
        groups.push(group.to_uppercase());
        rest = tail;
    }
    groups.join("-")
}

pub fn cert_issue(args: &CertIssue) -> Result<ExitCode, CliError> {
    let csr = CertificateRequest::from_pem_or_der(&files::read(&args.csr)?)?;
    let ca_cert = read_cert(&args.ca_cert)?;
    let ca_key = files::read_key(&args.ca_key)?;
    if args.role == Role::Root {
        return Err(CliError(
            "the root is made by `pqbank ca init`, not issued".into(),
        ));
    }
    let actions = if args.actions.is_empty() {
        args.role.actions().to_vec()
    } else {
        args.actions.clone()
    };
    if let Some(bad) = actions.iter().find(|a| !args.role.permits(**a)) {
        return Err(CliError(format!(
            "role {} may not authorise {bad}",
            args.role
        )));
    }
    let replaces = match &args.replaces {
        Some(path) => Some(read_cert(path)?.fingerprint()),
        None => None,
    };
    let device_id_hash = csr
        .device_id_hash()
        .ok_or_else(|| CliError("the request names no device (csr new --device-id)".into()))?;
    let now = OffsetDateTime::now_utc();
    let builder = CertificateBuilder {
        serial: files::random()?,
        subject: csr.subject_der().to_vec(),
        subject_key: csr.public_key().clone(),
        not_before: now - Duration::minutes(5),
        not_after: now + Duration::days(args.days),
        ca_path_len: args.role.is_ca().then_some(0),
        claims: StaffClaims {
            layers: Layer::ALL.to_vec(),
            role: Some(args.role),
            actions,
            device_id_hash: Some(device_id_hash),
            lineage: Some(Lineage {
                issuer: ca_cert.fingerprint(),
                replaces,
            }),
            defence_version: Some(DEFENCE_VERSION),
            staff_id: Some(args.staff_id.clone()),
        },
    };
    let issuer = Issuer::Ca {
        certificate: &ca_cert,
        key: &ca_key,
    };
    let cert = builder.sign(issuer, &files::random()?)?;
    files::write_public(&args.out, &cert.to_pem())?;
    println!("certificate written to {}", args.out.display());
    println!("fingerprint (SHA3-256): {}", cert.fingerprint());
    Ok(ExitCode::SUCCESS)
}

fn read_cert(path: &Path) -> Result<Certificate, CliError> {
    Certificate::from_pem_or_der(&files::read(path)?)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))
}

fn read_crl(path: &Path) -> Result<Crl, CliError> {
    Crl::from_pem_or_der(&files::read(path)?)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// The certificate as JSON, the same fields as the text form.
fn cert_json(cert: &Certificate) -> Value {
    let claims = cert.claims();
    json!({
        "subject": cert.subject_text(),
        "issuer": cert.issuer_text(),
        "serial": hex::encode(cert.serial()),
        "notBefore": rfc3339(cert.not_before()),
        "notAfter": rfc3339(cert.not_after()),
        "signatureAlgorithm": cert.signature_algorithm().name(),
        "keyAlgorithm": cert.key_algorithm().name(),
        "fingerprint": cert.fingerprint().to_hex(),
        "isCa": cert.is_ca(),
        "pathLen": cert.path_len(),
        "subjectKeyId": cert.subject_key_id().map(hex::encode),
        "authorityKeyId": cert.authority_key_id().map(hex::encode),
        "staffCertificate": claims.is_staff(),
        "note": claims.is_empty().then_some("not a pqbank staff certificate"),
        "claims": {
            "securityLayers": claims.layers.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            "role": claims.role.map(Role::as_str),
            "allowedActions": claims.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "deviceIdHash": claims.device_id_hash.map(hex::encode),
            "lineage": claims.lineage.map(|l| json!({
                "issuer": l.issuer.to_hex(),
                "replaces": l.replaces.map(|r| r.to_hex()),
            })),
            "defenceVersion": claims.defence_version,
            "staffId": claims.staff_id,
        },
    })
}

pub fn cert_inspect(args: &CertInspect) -> Result<ExitCode, CliError> {
    let cert = read_cert(&args.file)?;
    let info = cert_json(&cert);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print_text(&info, 0);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a JSON value as indented "key: value" lines.
fn print_text(value: &Value, indent: usize) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        match v {
            Value::Null => {}
            Value::Object(_) => {
                println!("{:indent$}{key}:", "");
                print_text(v, indent + 2);
            }
            Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect();
                println!("{:indent$}{key}: {}", "", items.join(", "));
            }
            Value::String(s) => println!("{:indent$}{key}: {s}", ""),
            other => println!("{:indent$}{key}: {other}", ""),
        }
    }
}

pub fn cert_verify(args: &CertVerify) -> Result<ExitCode, CliError> {
    let leaf = read_cert(&args.file)?;
    let root = read_cert(&args.root)?;
    let intermediates = args
        .chain
        .iter()
        .map(|p| read_cert(p))
        .collect::<Result<Vec<_>, _>>()?;
    let crls = args
        .crl
        .iter()
        .map(|p| read_crl(p))
        .collect::<Result<Vec<_>, _>>()?;
    let pinned_root = match &args.pin {
        Some(hex) => Fingerprint::from_hex(hex)?,
        None => root.fingerprint(),
    };
    let crl_pins = parse_crl_pins(&args.crl_pin)?;
    let at = match &args.at {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| CliError(format!("--at {text}: not RFC 3339: {e}")))?,
        None => OffsetDateTime::now_utc(),
    };
    let result = validate(&ChainInput {
        leaf: &leaf,
        intermediates: &intermediates,
        root: &root,
        pinned_root,
        at,
        crls: &crls,
        crl_pins: &crl_pins,
        require_crl: args.require_crl,
        require_staff: args.require_staff,
        action: args.action,
        device_id: args.device_id.as_deref().map(str::as_bytes),
    });
    let (report, code) = match result {
        Ok(valid) => (
            json!({
                "valid": true,
                "code": "valid",
                "staffCertificate": valid.is_staff,
                "note": (!valid.is_staff).then_some("not a pqbank staff certificate"),
                "path": valid.path.iter().map(Fingerprint::to_hex).collect::<Vec<_>>(),
                "crlNumbers": valid.crl_numbers.iter().map(|(k, v)| (k.to_hex(), *v)).collect::<BTreeMap<_, _>>(),
            }),
            ExitCode::SUCCESS,
        ),
        Err(e) => (
            json!({ "valid": false, "code": e.code(), "message": e.to_string() }),
            ExitCode::from(1),
        ),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report["valid"] == true {
        let what = if report["staffCertificate"] == true {
            "pqbank staff certificate"
        } else {
            "not a pqbank staff certificate"
        };
        println!("valid ({what})");
    } else {
        println!(
            "invalid: {} ({})",
            report["code"].as_str().unwrap_or_default(),
            report["message"].as_str().unwrap_or_default()
        );
    }
    Ok(code)
}

fn parse_crl_pins(pins: &[String]) -> Result<BTreeMap<Fingerprint, u64>, CliError> {
    pins.iter()
        .map(|pin| {
            let (fp, number) = pin
                .split_once('=')
                .ok_or_else(|| CliError(format!("--crl-pin {pin}: expected FINGERPRINT=NUMBER")))?;
            let number = number
                .parse()
                .map_err(|_| CliError(format!("--crl-pin {pin}: number is not an integer")))?;
            Ok((Fingerprint::from_hex(fp)?, number))
        })
        .collect()
}

/// Entries and next number carried over from a previous CRL of the same CA.
fn carry_forward(
    previous: Option<&PathBuf>,
    ca: &Certificate,
) -> Result<(Vec<RevokedEntry>, u64), CliError> {
    let Some(path) = previous else {
        return Ok((Vec::new(), 1));
    };
    let crl = read_crl(path)?;
    crl.verify_signed_by(ca)
        .map_err(|_| CliError(format!("{}: not signed by this CA", path.display())))?;
    let next = crl
        .number()
        .checked_add(1)
        .ok_or_else(|| CliError("CRL number exhausted".into()))?;
    Ok((crl.entries(), next))
}

fn sign_crl(
    ca: &Certificate,
    key: &CompositeSigningKey,
    number: u64,
    entries: Vec<RevokedEntry>,
    days: i64,
    out: &Path,
) -> Result<Crl, CliError> {
    let now = OffsetDateTime::now_utc();
    let crl = CrlBuilder {
        number,
        this_update: now,
        next_update: now + Duration::days(days),
        entries,
    }
    .sign(ca, key, &files::random()?)?;
    files::write_public(out, &crl.to_pem())?;
    println!(
        "CRL number {number} with {} entries written to {}",
        crl.len(),
        out.display()
    );
    Ok(crl)
}

pub fn crl_new(args: &CrlNew) -> Result<ExitCode, CliError> {
    let ca = read_cert(&args.ca_cert)?;
    let key = files::read_key(&args.ca_key)?;
    let (entries, number) = carry_forward(args.previous.as_ref(), &ca)?;
    sign_crl(&ca, &key, number, entries, args.days, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

pub fn crl_revoke(args: &CrlRevoke) -> Result<ExitCode, CliError> {
    let ca = read_cert(&args.ca_cert)?;
    let key = files::read_key(&args.ca_key)?;
    let target = read_cert(&args.cert)?;
    if target.issuer_der() != ca.subject_der() || target.verify_signed_by(&ca).is_err() {
        return Err(CliError("the certificate was not issued by this CA".into()));
    }
    let (mut entries, number) = carry_forward(Some(&args.previous), &ca)?;
    if entries.iter().any(|e| e.serial == target.serial()) {
        return Err(CliError("the certificate is already revoked".into()));
    }
    entries.push(RevokedEntry {
        serial: target.serial().to_vec(),
        revoked_at: OffsetDateTime::now_utc(),
        reason: args.reason,
    });
    sign_crl(&ca, &key, number, entries, args.days, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

pub fn crl_show(args: &CrlShow) -> Result<ExitCode, CliError> {
    let crl = read_crl(&args.file)?;
    let entries: Vec<Value> = crl
        .entries()
        .iter()
        .map(|e| {
            json!({
                "serial": hex::encode(&e.serial),
                "revokedAt": rfc3339(e.revoked_at),
                "reason": e.reason.as_str(),
                "meaning": e.reason.plain(),
            })
        })
        .collect();
    let info = json!({
        "issuer": crl.issuer_text(),
        "number": crl.number(),
        "thisUpdate": rfc3339(crl.this_update()),
        "nextUpdate": crl.next_update().map(rfc3339),
        "fingerprint": crl.fingerprint().to_hex(),
        "entries": entries,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        for key in [
            "issuer",
            "number",
            "thisUpdate",
            "nextUpdate",
            "fingerprint",
        ] {
            println!(
                "{key}: {}",
                info[key]
                    .as_str()
                    .map_or_else(|| info[key].to_string(), str::to_owned)
            );
        }
        println!("entries: {}", crl.len());
        for e in crl.entries() {
            println!(
                "  {}  {}  {} ({})",
                hex::encode(&e.serial),
                rfc3339(e.revoked_at),
                e.reason.as_str(),
                e.reason.plain()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
