//! What log verification proves beyond who signed a row: that the signer was allowed to.
//!
//! A signer's certificate is walked to the pinned root and its chain validated as RFC
//! 5280 says (each link's signature, names and key identifiers, CA flag, keyCertSign and
//! `cert.issue` of every issuer, path lengths, the role matrix, a staff leaf complete and
//! hybrid end to end), and the window in which every certificate of the path is valid is
//! kept. Each act is then held to that window, to the revocations that verified (an act
//! signed after its certificate, or an issuer above it, was revoked is named), and to the
//! actions its certificate lists and its role permits. The staff member a certificate
//! speaks for is the one whose staff number its signed StaffId claim names, never the
//! `certificates.staff_id` column.

use std::collections::BTreeMap;

use pqbank_pki::chain::{CHAIN_LEN_MAX, ChainInput};
use pqbank_pki::composite::CompositeVerifyingKey;
use pqbank_pki::{Action, Certificate, Fingerprint, Role};

/// A signer as verification proved it.
#[derive(Debug)]
pub(crate) struct Signer {
    /// The certificate's key.
    pub(crate) key: CompositeVerifyingKey,
    /// Its role, if it has one (a server certificate has none).
    role: Option<Role>,
    /// The actions it lists.
    actions: Vec<Action>,
    /// The staff member its StaffId claim names, if the bank holds that number.
    pub(crate) staff: Option<i64>,
    /// True for a certificate of the server profile.
    pub(crate) server: bool,
    /// Fingerprints of its path, leaf first, root last.
    path: Vec<[u8; 32]>,
    /// From when every certificate of the path is valid (UNIX seconds).
    from: i64,
    /// Until when every certificate of the path is valid.
    until: i64,
}

/// When each certificate was revoked, by the revocations that verified.
pub(crate) type Revoked = BTreeMap<[u8; 32], i64>;

impl Signer {
    /// Validates the chain of `path` (leaf first, root last, as stored) under the pinned
    /// root; `staff` maps staff numbers to the bank's staff members. The reason, in
    /// words, when the chain is not one that signs anything.
    pub(crate) fn prove(
        path: &[Certificate],
        pinned_root: Fingerprint,
        staff: &BTreeMap<String, i64>,
    ) -> Result<Self, String> {
        let (Some(leaf), Some(root)) = (path.first(), path.last()) else {
            return Err("its certificate is not stored".into());
        };
        if path.len() > CHAIN_LEN_MAX {
            return Err("its certificate chain is longer than any the bank issues".into());
        }
        let from = path.iter().map(unix_not_before).max().unwrap_or(i64::MAX);
        let until = path.iter().map(unix_not_after).min().unwrap_or(i64::MIN);
        let server = leaf.tls_key_hash().is_some();
        let intermediates = path.get(1..path.len().saturating_sub(1)).unwrap_or(&[]);
        let at = time::OffsetDateTime::from_unix_timestamp(from)
            .map_err(|_| "its certificate's validity is out of range".to_string())?;
        pqbank_pki::chain::validate(&ChainInput {
            leaf,
            intermediates,
            root,
            pinned_root,
            at,
            crls: &[],
            crl_pins: &BTreeMap::new(),
            require_crl: false,
            require_staff: path.len() > 1 && !server,
            action: None,
            device_id: None,
        })
        .map_err(|e| format!("its certificate chain is not valid: {e}"))?;
        if server && (path.len() != 2 || !leaf.claims().is_server_compatible()) {
            return Err("its server certificate is not of the server profile".into());
        }
        let key = CompositeVerifyingKey::from_bytes(leaf.public_key())
            .map_err(|_| "its certificate's key does not decode".to_string())?;
        let claims = leaf.claims();
        Ok(Self {
            key,
            role: claims.role,
            actions: claims.actions.clone(),
            staff: claims.staff_id.as_ref().and_then(|n| staff.get(n).copied()),
            server,
            path: path.iter().map(|c| *c.fingerprint().as_bytes()).collect(),
            from,
            until,
        })
    }

    /// Whether this signer was allowed to take `action` at `at`: within its chain's
    /// validity, before any revocation of its certificate or an issuer above it, and
    /// with the action both listed and permitted by its role. An act in the very second
    /// of a revocation counts as before it (the service refuses any act after).
    pub(crate) fn may(&self, action: Action, at: i64, revoked: &Revoked) -> Result<(), String> {
        self.in_force(at, revoked)?;
        let permitted = self.role.is_some_and(|r| r.permits(action));
        if !permitted || !self.actions.contains(&action) {
            return Err(format!("its certificate does not allow {action}"));
        }
        Ok(())
    }

    /// Whether this signer's certificate was in force at `at`: within its chain's
    /// validity and before any revocation of it or an issuer above it.
    pub(crate) fn in_force(&self, at: i64, revoked: &Revoked) -> Result<(), String> {
        if at < self.from || at > self.until {
            return Err("signed outside its certificate's validity".into());
        }
        if self
            .path
            .iter()
            .any(|fp| revoked.get(fp).is_some_and(|when| at > *when))
        {
            return Err("signed after its certificate was revoked".into());
        }
        Ok(())
    }
}

fn unix_not_before(c: &Certificate) -> i64 {
    c.not_before().unix_timestamp()
}

fn unix_not_after(c: &Certificate) -> i64 {
    c.not_after().unix_timestamp()
}

/// The action an event of `kind` on its actor's chain records, if it records one.
/// Logins, refusals and the server's own jobs are not acts of a staff right.
pub(crate) fn event_action(kind: &str) -> Option<Action> {
    Some(match kind {
        "transfer.post" => Action::TransferPost,
        "transfer.approve" => Action::TransferApprove,
        "variance.approve" => Action::VarianceApprove,
        "drawer.open" | "drawer.close" => Action::DrawerOperate,
        "cert.issue" | "cert.renew" => Action::CertIssue,
        "cert.revoke" => Action::CertRevoke,
        "checkpoint" | "audit.verify" => Action::AuditVerify,
        "audit.report" => Action::AuditReport,
        "audit.read" => Action::AuditRead,
        "customer.read" => Action::CustomerRead,
        pqbank_db::master::STAFF_VERSION => Action::StaffAdmin,
        pqbank_db::master::POLICY_VERSION => Action::PolicySet,
        pqbank_db::master::CUSTOMER_VERSION | pqbank_db::master::ACCOUNT_VERSION => {
            Action::CustomerWrite
        }
        _ => return None,
    })
}

/// The action a journal row of `kind` needs: the customer-facing kinds are posted, the
/// drawer's own transfers come with opening and closing it.
pub(crate) fn transfer_action(kind: pqbank_ledger::TransferKind) -> Action {
    if kind.is_customer_facing() {
        Action::TransferPost
    } else {
        Action::DrawerOperate
    }
}
