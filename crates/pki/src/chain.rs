//! Chain validation at a given time against a pinned root fingerprint (RFC 5280,
//! Section 6, for the fixed shape pqbank uses), plus the seven layers.
//!
//! The path is given in order, leaf first, root last. Each check has its own error
//! variant, so a caller, a log line and a test can name the exact reason.
//! [`validate_server`] checks a certificate of the server profile ([`crate::server`])
//! issued directly by the root.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::composite::SignatureAlgorithm;
use crate::ext::{Action, device_id_hash};
use crate::{Certificate, Crl, Error, Fingerprint, StaffClaims, TlsKeyHash};

/// Longest path followed: root, manager, teller is three; one spare level.
pub const CHAIN_LEN_MAX: usize = 4;

/// Everything validation looks at; nothing is read from the clock or the network.
#[derive(Debug, Clone, Copy)]
pub struct ChainInput<'a> {
    /// The certificate to validate.
    pub leaf: &'a Certificate,
    /// Issuers between leaf and root, in order from the leaf's issuer upward.
    pub intermediates: &'a [Certificate],
    /// The root certificate.
    pub root: &'a Certificate,
    /// SHA3-256 fingerprint the installation pins for its root.
    pub pinned_root: Fingerprint,
    /// The time at which the chain must be valid.
    pub at: OffsetDateTime,
    /// CRLs to apply; each is matched to the issuer whose name it carries.
    pub crls: &'a [Crl],
    /// Highest CRL number already seen per issuer (keyed by the issuer's fingerprint).
    pub crl_pins: &'a BTreeMap<Fingerprint, u64>,
    /// Require a CRL for every issuer in the path.
    pub require_crl: bool,
    /// Require the leaf to be a complete pqbank staff certificate.
    pub require_staff: bool,
    /// The action the leaf is about to authorise, if any.
    pub action: Option<Action>,
    /// The device identifier the leaf must be bound to, if any.
    pub device_id: Option<&'a [u8]>,
}

/// A chain that passed validation.
#[derive(Debug, Clone)]
pub struct ValidChain {
    /// Fingerprints of the path, leaf first.
    pub path: Vec<Fingerprint>,
    /// The leaf's claims.
    pub claims: StaffClaims,
    /// True if the leaf is a complete pqbank staff certificate.
    pub is_staff: bool,
    /// The CRL number applied per issuer: the caller's new pins.
    pub crl_numbers: BTreeMap<Fingerprint, u64>,
}

/// What server validation looks at: a server certificate the root issued directly.
#[derive(Debug, Clone, Copy)]
pub struct ServerInput<'a> {
    /// The certificate of the server profile.
    pub server: &'a Certificate,
    /// The root certificate.
    pub root: &'a Certificate,
    /// SHA3-256 fingerprint the installation pins for its root.
    pub pinned_root: Fingerprint,
    /// The time at which the server certificate must be valid.
    pub at: OffsetDateTime,
    /// The root's newest CRL: required, so a revoked server key cannot hide by leaving it out.
    pub crl: &'a Crl,
    /// Highest CRL number of the root already seen, if any: an older CRL is a rollback.
    pub crl_pin: Option<u64>,
}

/// A server certificate that passed validation.
#[derive(Debug, Clone)]
pub struct ValidServer {
    /// Fingerprint of the server certificate.
    pub fingerprint: Fingerprint,
    /// The TLS key hash it vouches for.
    pub tls_key_hash: TlsKeyHash,
    /// The root CRL number applied: the caller's new pin.
    pub crl_number: u64,
}

/// Validates a server certificate: issued by the pinned root, composite on both, within
/// its validity, not on the root's CRL, and of the server profile. The first failed
/// check is returned.
pub fn validate_server(input: &ServerInput<'_>) -> Result<ValidServer, Error> {
    if input.server.fingerprint() == input.root.fingerprint() {
        return Err(Error::NotServerCertificate);
    }
    let root = input.root.fingerprint();
    let pins: BTreeMap<Fingerprint, u64> = input.crl_pin.map(|n| (root, n)).into_iter().collect();
    let valid = validate(&ChainInput {
        leaf: input.server,
        intermediates: &[],
        root: input.root,
        pinned_root: input.pinned_root,
        at: input.at,
        crls: core::slice::from_ref(input.crl),
        crl_pins: &pins,
        require_crl: true,
        require_staff: false,
        action: None,
        device_id: None,
    })?;
    if !is_hybrid(input.server) || !is_hybrid(input.root) {
        return Err(Error::UnsupportedAlgorithm);
    }
    let tls_key_hash = *input
        .server
        .tls_key_hash()
        .ok_or(Error::NotServerCertificate)?;
    let crl_number = valid
        .crl_numbers
        .get(&root)
        .copied()
        .ok_or(Error::CrlMissing { depth: 0 })?;
    Ok(ValidServer {
        fingerprint: input.server.fingerprint(),
        tls_key_hash,
        crl_number,
    })
}

/// True if the certificate is signed with, and holds, the composite algorithm.
fn is_hybrid(cert: &Certificate) -> bool {
    let composite = SignatureAlgorithm::MlDsa65Ed25519;
    cert.signature_algorithm() == composite && cert.key_algorithm() == composite
}

/// Validates the chain; the first failed check is returned.
pub fn validate(input: &ChainInput<'_>) -> Result<ValidChain, Error> {
    if input.root.fingerprint() != input.pinned_root {
        return Err(Error::RootNotPinned);
    }
    let path = path(input)?;
    let root_depth = path.len() - 1;
    check_root(input.root, root_depth, input.at)?;
    let mut crl_numbers = BTreeMap::new();
    for (depth, pair) in path.windows(2).enumerate() {
        let [child, parent] = pair else { continue };
        check_link(child, parent, depth, input.at)?;
        check_issuer(parent, depth + 1)?;
        if let Some(number) = check_revocation(input, child, parent, depth)? {
            crl_numbers.insert(parent.fingerprint(), number);
        }
    }
    for (depth, cert) in path.iter().enumerate() {
        check_role_consistency(cert.claims())?;
        if let Some(limit) = cert.path_len() {
            // Intermediate CAs strictly below `cert`, excluding the leaf.
            let below = depth.saturating_sub(1);
            if below > limit as usize {
                return Err(Error::PathLenExceeded { depth });
            }
        }
    }
    check_leaf(input)?;
    Ok(ValidChain {
        path: path.iter().map(|c| c.fingerprint()).collect(),
        claims: input.leaf.claims().clone(),
        is_staff: input.leaf.claims().is_staff(),
        crl_numbers,
    })
}

fn path<'a>(input: &ChainInput<'a>) -> Result<Vec<&'a Certificate>, Error> {
    if input.leaf.fingerprint() == input.root.fingerprint() {
        return Ok(vec![input.root]);
    }
    if input.intermediates.len() + 2 > CHAIN_LEN_MAX {
        return Err(Error::ChainTooLong);
    }
    let mut path = vec![input.leaf];
    path.extend(input.intermediates.iter());
    path.push(input.root);
    Ok(path)
}

fn check_root(root: &Certificate, depth: usize, at: OffsetDateTime) -> Result<(), Error> {
    if !root.is_self_issued() {
        return Err(Error::IssuerNameMismatch { depth });
    }
    root.verify_signed_by(root)
        .map_err(|_| Error::ChainSignature { depth })?;
    check_window(root, depth, at)
}

fn check_window(cert: &Certificate, depth: usize, at: OffsetDateTime) -> Result<(), Error> {
    if at < cert.not_before() {
        return Err(Error::NotYetValid { depth });
    }
    if at > cert.not_after() {
        return Err(Error::Expired { depth });
    }
    Ok(())
}

/// The checks between a certificate and its issuer.
fn check_link(
    child: &Certificate,
    parent: &Certificate,
    depth: usize,
    at: OffsetDateTime,
) -> Result<(), Error> {
    if child.issuer_der() != parent.subject_der() {
        return Err(Error::IssuerNameMismatch { depth });
    }
    if let Some(aki) = child.authority_key_id()
        && parent.subject_key_id() != Some(aki)
    {
        return Err(Error::KeyIdMismatch { depth });
    }
    child
        .verify_signed_by(parent)
        .map_err(|_| Error::ChainSignature { depth })?;
    check_window(child, depth, at)?;
    if let Some(lineage) = &child.claims().lineage
        && lineage.issuer != parent.fingerprint()
    {
        return Err(Error::LineageMismatch { depth });
    }
    Ok(())
}

/// A certificate that issued another must be a CA allowed to sign certificates and,
/// if it carries pqbank's purpose list, list `cert.issue`.
fn check_issuer(issuer: &Certificate, depth: usize) -> Result<(), Error> {
    if !issuer.is_ca() || issuer.key_cert_sign() == Some(false) {
        return Err(Error::NotCa { depth });
    }
    let actions = &issuer.claims().actions;
    if !actions.is_empty() && !actions.contains(&Action::CertIssue) {
        return Err(Error::IssuerNotAuthorised { depth });
    }
    Ok(())
}

/// Every action a certificate lists must be one its role permits.
fn check_role_consistency(claims: &StaffClaims) -> Result<(), Error> {
    let Some(role) = claims.role else {
        return Ok(());
    };
    match claims.actions.iter().find(|a| !role.permits(**a)) {
        Some(action) => Err(Error::RoleNotAllowed {
            role: role.to_string(),
            action: action.to_string(),
        }),
        None => Ok(()),
    }
}

/// Applies the CRLs of `parent` to `child`; returns the highest CRL number applied.
fn check_revocation(
    input: &ChainInput<'_>,
    child: &Certificate,
    parent: &Certificate,
    depth: usize,
) -> Result<Option<u64>, Error> {
    let pinned = input.crl_pins.get(&parent.fingerprint()).copied();
    let mut applied = None;
    for crl in input
        .crls
        .iter()
        .filter(|c| c.issuer_der() == parent.subject_der())
    {
        crl.verify_signed_by(parent)
            .map_err(|_| Error::CrlSignature)?;
        if let Some(pinned) = pinned
            && crl.number() < pinned
        {
            return Err(Error::CrlRollback {
                found: crl.number(),
                pinned,
            });
        }
        // RFC 5280 5.1.2.5: conforming CRLs carry nextUpdate; one without never expires,
        // so it is treated as stale.
        if crl.next_update().is_none_or(|next| next < input.at) {
            return Err(Error::CrlStale);
        }
        if let Some((_, reason)) = crl.lookup(child.serial()) {
            return Err(Error::Revoked {
                depth,
                reason: reason.as_str().to_owned(),
            });
        }
        applied = applied.max(Some(crl.number()));
    }
    // Withholding the CRL must not un-revoke: once a number is pinned for this issuer,
    // a CRL is required even where the caller did not ask for one.
    if applied.is_none() && (input.require_crl || pinned.is_some()) {
        return Err(Error::CrlMissing { depth });
    }
    Ok(applied)
}

/// Staff completeness, purpose locking and device binding of the leaf.
fn check_leaf(input: &ChainInput<'_>) -> Result<(), Error> {
    let claims = input.leaf.claims();
    // A server certificate is never staff, whatever else it carries (parsing already
    // refuses a TLS key hash beside staff claims).
    if input.require_staff && (!claims.is_staff() || input.leaf.tls_key_hash().is_some()) {
        return Err(Error::NotStaffCertificate);
    }
    // A staff chain is hybrid end to end: no certificate in it may rest on one algorithm.
    if input.require_staff
        && (!is_hybrid(input.leaf)
            || !input.intermediates.iter().all(is_hybrid)
            || !is_hybrid(input.root))
    {
        return Err(Error::UnsupportedAlgorithm);
    }
    if let Some(action) = input.action {
        if !claims.actions.contains(&action) {
            return Err(Error::ActionNotAllowed {
                action: action.to_string(),
            });
        }
        match claims.role {
            Some(role) if role.permits(action) => {}
            role => {
                return Err(Error::RoleNotAllowed {
                    role: role.map_or_else(|| "none".to_owned(), |r| r.to_string()),
                    action: action.to_string(),
                });
            }
        }
    }
    if let Some(device_id) = input.device_id
        && claims.device_id_hash != Some(device_id_hash(device_id))
    {
        return Err(Error::DeviceMismatch);
    }
    Ok(())
}
