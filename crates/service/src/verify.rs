//! Verification of the whole log: every transfer's stored signature against the journal
//! row it sits on and the certificate that signed it; every certificate's event chain,
//! link by link, with every event signature; every transfer matched by the act on its
//! maker's chain, every approval by the act on its approver's, every revocation by the
//! act on its manager's; every signed row's bytes rebuilt from its columns. Any row
//! edited, inserted or removed directly in the database is named.

use std::collections::{BTreeMap, BTreeSet};

use pqbank_audit::chain::verify_chain;
use pqbank_db::Store;
use pqbank_pki::Certificate;
use pqbank_pki::composite::CompositeVerifyingKey;

use crate::device::ACT_CONTEXT;
use crate::server_key::SERVER_EVENT_CONTEXT;
use crate::{Service, ServiceError};

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The table.
    pub table: &'static str,
    /// The row: a transfer id, or an event's position in its chain.
    pub row: String,
    /// What is wrong, in words.
    pub reason: String,
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogReport {
    /// Transfers checked.
    pub transfers: usize,
    /// Events checked.
    pub events: usize,
    /// Every bad row; empty when the log proves itself.
    pub problems: Vec<Problem>,
}

/// A stored certificate's public key and staff member, as verification caches them.
type SignerKey = (CompositeVerifyingKey, Option<i64>);

/// Signer keys by certificate fingerprint (`None`: unknown, or not under the pin).
type SignerKeys = BTreeMap<[u8; 32], Option<SignerKey>>;

/// The acts found on the chains, each to be matched by its row: transfers and drawer
/// events by (transfer id, signed bytes); approvals and revocations by [`RowActs`].
#[derive(Default)]
struct LoggedActs {
    transfers: BTreeSet<(i64, Vec<u8>)>,
    rows: RowActs,
}

impl<S: Store> Service<S> {
    /// Verifies the whole log; `progress` is told (done, total) as it goes. A row is
    /// reported bad only if two readings in a row find it so (see below).
    pub async fn verify_log(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<LogReport, ServiceError> {
        let first = self.verify_once(progress).await?;
        if first.problems.is_empty() {
            log_verdict(&first);
            return Ok(first);
        }
        // The tables are read one after another, not in one snapshot: an act that commits
        // between the read of the journal and the read of its maker's chain looks like a
        // chain act without its row. Acts commit whole, so a second reading, started after
        // the first ended, sees both; a row is reported only if both readings find it bad.
        let second = self.verify_once(&|_, _| {}).await?;
        let confirmed = LogReport {
            problems: first
                .problems
                .into_iter()
                .filter(|p| second.problems.contains(p))
                .collect(),
            ..second
        };
        log_verdict(&confirmed);
        Ok(confirmed)
    }

    /// One reading of the whole log.
    async fn verify_once(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<LogReport, ServiceError> {
        let transfers = self.store.transfers().await?;
        let chains = self.store.event_certificates().await?;
        let total = transfers.len() + chains.len();
        let mut report = LogReport::default();
        let mut keys = SignerKeys::new();
        let mut acts = LoggedActs::default();
        let mut servers = ServerKeys::new();
        for (done, certificate) in chains.iter().enumerate() {
            let events = self.store.events(certificate).await?;
            let key = self.signer_key(&mut keys, certificate).await?;
            for server in events.iter().filter_map(|e| e.event.server) {
                self.server_key_of(&mut keys, &mut servers, &server).await?;
            }
            let signers = Signers {
                device: key.as_ref(),
                servers: &servers,
            };
            check_chain(certificate, &events, &signers, &mut acts, &mut report);
            progress(done + 1, total);
        }
        for (done, t) in transfers.iter().enumerate() {
            let key = self.signer_key(&mut keys, &t.signed.signer).await?;
            check_transfer(t, key.as_ref(), &mut acts.transfers, &mut report);
            progress(chains.len() + done + 1, total);
        }
        let hashes: BTreeMap<i64, [u8; 32]> =
            transfers.iter().map(|t| (t.id, t.request_hash)).collect();
        self.verify_signed_rows(&hashes, &mut keys, &mut acts.rows, &mut report)
            .await?;
        unmatched_row_acts(acts.rows, &mut report);
        self.verify_checkpoints(&mut keys, &mut report).await?;
        unmatched_transfer_acts(acts.transfers, &mut report);
        Ok(report)
    }

    /// Every approval, drawer event and revocation: signed by a certificate under the pin
    /// that belongs to the staff member the row names, over bytes rebuilt from the row's
    /// own columns; every approval and revocation matched by the act its signer logged.
    async fn verify_signed_rows(
        &self,
        transfers: &BTreeMap<i64, [u8; 32]>,
        keys: &mut SignerKeys,
        row_acts: &mut RowActs,
        report: &mut LogReport,
    ) -> Result<(), ServiceError> {
        for table in ["approvals", "drawer_events", "revocations"] {
            for row in self.store.signed_rows(table).await? {
                // An expiry is the ledger's own act: unsigned by design, and it only
                // releases a reservation. Every other approval must be signed.
                if table == "approvals"
                    && row.decision.as_deref() == Some("expire")
                    && row.signature.is_empty()
                {
                    continue;
                }
                let contents_match = match table {
                    "approvals" => approval_matches(&row, transfers),
                    "revocations" => revocation_matches(&row),
                    _ => true,
                };
                if !contents_match {
                    report.problems.push(Problem {
                        table,
                        row: format!("#{}", row.id),
                        reason: "the signed bytes are not the row's contents".into(),
                    });
                }
                let signer: Option<[u8; 32]> = row.signer_fingerprint.as_slice().try_into().ok();
                let reason = match signer {
                    None => Some("the signer is malformed"),
                    Some(signer) => match self.signer_key(keys, &signer).await? {
                        None => Some("signed by an unknown certificate"),
                        Some((key, staff)) if staff != Some(row.staff_id) => {
                            let _ = key;
                            Some("the signing certificate is not the staff member's")
                        }
                        Some((key, _)) => key
                            .verify(&row.signed_bytes, ACT_CONTEXT, &row.signature)
                            .is_err()
                            .then_some("the signature does not verify"),
                    },
                };
                if let Some(reason) = reason {
                    report.problems.push(Problem {
                        table,
                        row: format!("#{}", row.id),
                        reason: reason.into(),
                    });
                }
                if let Some((act, reason)) = row_act(table, &row)
                    && !take_act(row_acts, signer, act)
                {
                    report.problems.push(Problem {
                        table,
                        row: format!("#{}", row.id),
                        reason: reason.into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every checkpoint: signed by a stored certificate, and its root the root of the
    /// sequenced log at its size (which also makes every pair of checkpoints consistent).
    async fn verify_checkpoints(
        &self,
        keys: &mut SignerKeys,
        report: &mut LogReport,
    ) -> Result<(), ServiceError> {
        let checkpoints = self.store.checkpoints().await?;
        let largest = checkpoints.iter().map(|c| c.tree_size).max().unwrap_or(0);
        let hashes = self
            .store
            .log_leaves(u64::try_from(largest).unwrap_or(0))
            .await?;
        let leaves: Vec<[u8; 32]> = hashes
            .iter()
            .map(|h| pqbank_audit::merkle::leaf_hash(h))
            .collect();
        for c in &checkpoints {
            let row = format!("size {}", c.tree_size);
            let size = usize::try_from(c.tree_size).unwrap_or(usize::MAX);
            let expected_bytes = crate::checkpoint_bytes(size as u64, &c.root, c.created_at);
            let signed = self
                .signer_key(keys, &c.signer)
                .await?
                .is_some_and(|(k, _)| {
                    c.signed_bytes == expected_bytes
                        && k.verify(&c.signed_bytes, ACT_CONTEXT, &c.signature).is_ok()
                });
            if !signed {
                report.problems.push(Problem {
                    table: "checkpoints",
                    row: row.clone(),
                    reason: "the signature does not verify".into(),
                });
            }
            let recomputed = leaves.get(..size).map(pqbank_audit::merkle::root);
            if recomputed != Some(c.root) {
                report.problems.push(Problem {
                    table: "checkpoints",
                    row,
                    reason: "the root is not the log's root at this size".into(),
                });
            }
        }
        Ok(())
    }

    /// True if the stored certificate's issuer links, each signature verified, end at the
    /// pinned root: a certificate planted in the database by someone without a CA key
    /// signs nothing that verification accepts. (Time and revocation are not applied:
    /// acts signed before a revocation stay attributable.)
    async fn issued_under_pin(&self, fingerprint: &[u8; 32]) -> Result<bool, ServiceError> {
        let mut current = match self.store.certificate(fingerprint).await? {
            Some(r) => r,
            None => return Ok(false),
        };
        for _ in 0..pqbank_pki::chain::CHAIN_LEN_MAX {
            let Ok(cert) = Certificate::from_der(&current.der) else {
                return Ok(false);
            };
            if cert.fingerprint().as_bytes() != &current.fingerprint {
                return Ok(false);
            }
            let Some(issuer_fp) = current.issuer else {
                return Ok(cert.fingerprint() == self.config.pinned_root
                    && cert.verify_signed_by(&cert).is_ok());
            };
            let Some(issuer) = self.store.certificate(&issuer_fp).await? else {
                return Ok(false);
            };
            let Ok(issuer_cert) = Certificate::from_der(&issuer.der) else {
                return Ok(false);
            };
            if cert.verify_signed_by(&issuer_cert).is_err()
                || cert.issuer_der() != issuer_cert.subject_der()
            {
                return Ok(false);
            }
            current = issuer;
        }
        Ok(false)
    }

    /// The public key and staff member of a stored certificate, cached.
    async fn signer_key(
        &self,
        cache: &mut SignerKeys,
        fingerprint: &[u8; 32],
    ) -> Result<Option<SignerKey>, ServiceError> {
        if let Some(hit) = cache.get(fingerprint) {
            return Ok(hit.clone());
        }
        let found = match self.store.certificate(fingerprint).await? {
            Some(record) if self.issued_under_pin(fingerprint).await? => {
                Certificate::from_der(&record.der)
                    .ok()
                    .and_then(|c| CompositeVerifyingKey::from_bytes(c.public_key()).ok())
                    .map(|k| (k, record.staff_id))
            }
            _ => None,
        };
        cache.insert(*fingerprint, found.clone());
        Ok(found)
    }
}

/// Server keys by certificate fingerprint (`None`: unknown, not under the pin, or not of
/// the server profile).
type ServerKeys = BTreeMap<[u8; 32], Option<CompositeVerifyingKey>>;

/// Who may have signed a chain's events: its certificate's device (v1) or a server (v2).
struct Signers<'a> {
    device: Option<&'a SignerKey>,
    servers: &'a ServerKeys,
}

impl<S: Store> Service<S> {
    /// The key of a server certificate stored under the pin, of the server profile.
    async fn server_key_of(
        &self,
        keys: &mut SignerKeys,
        servers: &mut ServerKeys,
        fingerprint: &[u8; 32],
    ) -> Result<(), ServiceError> {
        if servers.contains_key(fingerprint) {
            return Ok(());
        }
        let server = match self.signer_key(keys, fingerprint).await? {
            Some((key, None)) => {
                let record = self.store.certificate(fingerprint).await?;
                record
                    .and_then(|r| Certificate::from_der(&r.der).ok())
                    .filter(|c| c.tls_key_hash().is_some() && c.claims().is_server_compatible())
                    .map(|_| key)
            }
            _ => None,
        };
        servers.insert(*fingerprint, server);
        Ok(())
    }
}

/// One certificate's chain: its links, every event's signature (by the certificate's
/// key, or for a v2 event by a bank server's over the device's request, which must be
/// signed by the certificate's key and used once), and the acts it logged, kept to be
/// matched by their rows.
fn check_chain(
    certificate: &[u8; 32],
    events: &[pqbank_db::EventRecord],
    signers: &Signers<'_>,
    acts: &mut LoggedActs,
    report: &mut LogReport,
) {
    let key = signers.device;
    let mut requests = SeenRequests::new();
    report.events += events.len();
    let name = hex(certificate);
    let pairs: Vec<_> = events.iter().map(|e| (e.event.clone(), e.hash)).collect();
    if let Err(e) = verify_chain(certificate, &pairs) {
        report.problems.push(Problem {
            table: "accountability_events",
            row: name.clone(),
            reason: e.to_string(),
        });
    }
    for e in events {
        let row = format!("{name} #{}", e.event.seq);
        let signed = match &e.event.server {
            None => key.is_some_and(|(k, _)| k.verify(&e.hash, ACT_CONTEXT, &e.signature).is_ok()),
            Some(server) => signers
                .servers
                .get(server)
                .and_then(Option::as_ref)
                .is_some_and(|k| {
                    k.verify(&e.hash, SERVER_EVENT_CONTEXT, &e.signature)
                        .is_ok()
                }),
        };
        if !signed {
            report.problems.push(Problem {
                table: "accountability_events",
                row: row.clone(),
                reason: if e.event.server.is_some() {
                    "the signature is not a bank server's".into()
                } else {
                    "the signature is not the certificate's".into()
                },
            });
        }
        if e.event.server.is_some()
            && let Err(reason) = check_request(&e.event, key, &mut requests)
        {
            report.problems.push(Problem {
                table: "accountability_events",
                row,
                reason: reason.into(),
            });
        }
        let (kind, payload) = (e.event.kind.as_str(), &e.event.payload);
        if matches!(kind, "transfer.post" | "drawer.open" | "drawer.close") && payload.len() > 8 {
            let (bytes, id) = payload.split_at(payload.len() - 8);
            let id = i64::from_be_bytes(id.try_into().unwrap_or_default());
            acts.transfers.insert((id, bytes.to_vec()));
        }
        if ROW_ACTS.contains(&kind) {
            acts.rows
                .entry((*certificate, kind.to_owned(), payload.clone()))
                .or_default()
                .push(format!("{name} #{}", e.event.seq));
        }
    }
}

/// The requests v2 events kept, by (session, counter, kind): the position of the last
/// event that used it, its payload, and how many events used it.
type SeenRequests = BTreeMap<([u8; 32], u64, String), (u64, Vec<u8>, usize)>;

/// A drawer close chains each transfer it posts (variance, return) as its own event,
/// all keeping the close's one request: at most this many, one after the other on the
/// caller's chain, each with its own payload, under a request signed for the close.
const CLOSE_EVENTS_MAX: usize = 2;

/// A v2 event's request: the device's, signed with the chain certificate's key, and not
/// used before for an event of the same kind (but for the events of one drawer close:
/// see [`CLOSE_EVENTS_MAX`]). A login keeps no request (its payload is the
/// transcript the device signed), nor does an event of the server's own chain (the
/// expiry sweep).
fn check_request(
    event: &pqbank_audit::chain::Event,
    key: Option<&SignerKey>,
    seen: &mut SeenRequests,
) -> Result<(), &'static str> {
    if event.request.is_empty() {
        // A login's payload is the device's signed transcript; on the server's own chain
        // the server is the actor (its jobs).
        return if event.kind == "login" || event.server == Some(event.certificate) {
            Ok(())
        } else {
            Err("a bank server signed it without the device's request")
        };
    }
    let record = pqbank_api::RequestRecord::from_bytes(&event.request)
        .map_err(|_| "the device's request it keeps is malformed")?;
    let digest = pqbank_api::RequestHeader::digest(record.header_bytes);
    if key.is_none_or(|(k, _)| k.verify(&digest, ACT_CONTEXT, record.signature).is_err()) {
        return Err("the request it keeps is not signed by the certificate's device");
    }
    let header = record.header;
    let used = (header.session, header.counter, event.kind.clone());
    let uses = match seen.get(&used) {
        None => 1,
        Some((seq, payload, uses))
            if event.kind == "drawer.close"
                && header.route == pqbank_api::Route::DrawerClose
                && *uses < CLOSE_EVENTS_MAX
                && seq.checked_add(1) == Some(event.seq)
                && *payload != event.payload =>
        {
            uses + 1
        }
        Some(_) => return Err("the device's request was used twice"),
    };
    seen.insert(used, (event.seq, event.payload.clone(), uses));
    Ok(())
}

/// One journal row: its signed bytes are its contents, signed by its maker's certificate,
/// and matched by the act on the maker's chain.
fn check_transfer(
    t: &pqbank_db::TransferRow,
    key: Option<&SignerKey>,
    acts: &mut BTreeSet<(i64, Vec<u8>)>,
    report: &mut LogReport,
) {
    report.transfers += 1;
    let row = format!("#{}", t.id);
    let mut bad = |reason: &str| {
        report.problems.push(Problem {
            table: "transfers",
            row: row.clone(),
            reason: reason.into(),
        })
    };
    let canonical = t.request.canonical_bytes();
    if t.signed_bytes != canonical {
        bad("the signed bytes are not the row's contents");
    }
    match key {
        None => bad("signed by an unknown certificate"),
        Some((key, staff)) => {
            if key
                .verify(&t.signed_bytes, ACT_CONTEXT, &t.signed.signature)
                .is_err()
            {
                bad("the maker's signature does not verify");
            }
            if *staff != Some(t.request.maker) {
                bad("the signing certificate is not the maker's");
            }
        }
    }
    if !acts.remove(&(t.id, canonical)) {
        bad("no matching act on the maker's accountability chain");
    }
}

/// Every approval or revocation logged on a chain whose row is missing or changed.
fn unmatched_row_acts(acts: RowActs, report: &mut LogReport) {
    for ((_, kind, _), rows) in acts {
        for row in rows {
            report.problems.push(Problem {
                table: if kind == "cert.revoke" {
                    "revocations"
                } else {
                    "approvals"
                },
                row,
                reason: "logged on a chain but missing or changed in the table".into(),
            });
        }
    }
}

/// Every transfer or drawer act logged on a chain whose journal row is missing or
/// changed.
fn unmatched_transfer_acts(acts: BTreeSet<(i64, Vec<u8>)>, report: &mut LogReport) {
    for (id, _) in acts {
        report.problems.push(Problem {
            table: "transfers",
            row: format!("#{id}"),
            reason: "logged on a chain but missing or changed in the journal".into(),
        });
    }
}

/// Logs what a verification found: each bad row, and a warning when there is any (one
/// line, so a command that prints the rows itself does not repeat them all on stderr).
fn log_verdict(report: &LogReport) {
    for p in &report.problems {
        tracing::info!(
            table = p.table,
            row = p.row.as_str(),
            reason = p.reason.as_str(),
            "log verification: bad row"
        );
    }
    if report.problems.is_empty() {
        tracing::info!(
            transfers = report.transfers,
            events = report.events,
            "log verified: it proves itself"
        );
    } else {
        tracing::warn!(
            transfers = report.transfers,
            events = report.events,
            problems = report.problems.len(),
            "log verified: bad rows found"
        );
    }
}

/// Event kinds whose act is a signed row of its own table, matched row by row.
const ROW_ACTS: [&str; 3] = ["transfer.approve", "variance.approve", "cert.revoke"];

/// Logged acts by (certificate, kind, payload), each with where it sits on its chain.
type RowActs = BTreeMap<([u8; 32], String, Vec<u8>), Vec<String>>;

/// The act a signed row's signer logged with it (kind and payload), and what to say when
/// it is missing: an approval's event carries its signed bytes; a revocation's, the
/// revoked certificate and the CRL number.
fn row_act(
    table: &str,
    row: &pqbank_db::SignedRow,
) -> Option<((&'static str, Vec<u8>), &'static str)> {
    const APPROVER: &str = "no matching act on the approver's accountability chain";
    match (table, row.decision.as_deref()) {
        ("approvals", Some("post" | "void")) => {
            Some((("transfer.approve", row.signed_bytes.clone()), APPROVER))
        }
        ("approvals", Some("sign_off")) => {
            Some((("variance.approve", row.signed_bytes.clone()), APPROVER))
        }
        ("approvals", _) => Some((("", Vec::new()), APPROVER)),
        ("revocations", _) => {
            let number = row
                .crl_number
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(u64::MAX);
            let target = row.certificate_fingerprint.clone().unwrap_or_default();
            Some((
                (
                    "cert.revoke",
                    [target, number.to_be_bytes().to_vec()].concat(),
                ),
                "no matching act on the revoking manager's accountability chain",
            ))
        }
        _ => None,
    }
}

/// Takes one logged act off the list; false if there is none.
fn take_act(row_acts: &mut RowActs, signer: Option<[u8; 32]>, act: (&str, Vec<u8>)) -> bool {
    let Some(signer) = signer else {
        return false;
    };
    let key = (signer, act.0.to_owned(), act.1);
    let Some(rows) = row_acts.get_mut(&key) else {
        return false;
    };
    rows.pop();
    if rows.is_empty() {
        row_acts.remove(&key);
    }
    true
}

/// A revocation's signed bytes must be the bytes rebuilt from its row: the revoked
/// certificate, the reason, the CRL number and the time.
fn revocation_matches(row: &pqbank_db::SignedRow) -> bool {
    let (Some(target), Some(reason), Some(number), Some(revoked_at)) = (
        row.certificate_fingerprint
            .as_deref()
            .and_then(|t| <[u8; 32]>::try_from(t).ok()),
        row.reason.as_deref(),
        row.crl_number,
        row.created_at,
    ) else {
        return false;
    };
    crate::service::revocation_bytes(
        &pqbank_pki::Fingerprint::from_bytes(target),
        reason,
        number,
        revoked_at,
    ) == row.signed_bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A transfer approval's signed bytes must be the canonical bytes of what its row says:
/// the transfer (and its request hash), the approver, the decision and the time.
fn approval_matches(row: &pqbank_db::SignedRow, transfers: &BTreeMap<i64, [u8; 32]>) -> bool {
    let decision = match row.decision.as_deref() {
        Some("post") => pqbank_ledger::Resolution::Post,
        Some("void") => pqbank_ledger::Resolution::Void,
        Some("sign_off") => {
            let Some(event) = row.drawer_event_id else {
                return false;
            };
            return pqbank_ledger::variance_sign_off_bytes(event, row.staff_id) == row.signed_bytes;
        }
        _ => return false,
    };
    let (Some(transfer_id), Some(created_at)) = (row.transfer_id, row.created_at) else {
        return false;
    };
    let Some(hash) = transfers.get(&transfer_id) else {
        return false;
    };
    let expected = pqbank_db::ApprovalRequest {
        transfer_id,
        transfer_hash: *hash,
        approver: row.staff_id,
        approver_is_manager: true,
        decision,
        created_at,
    };
    expected.canonical_bytes() == row.signed_bytes
}
