//! Verification of the whole log: every transfer's stored signature against the journal
//! row it sits on and the certificate that signed it; every certificate's event chain,
//! link by link, with every event signature; every transfer matched by the act on its
//! maker's chain, every approval by the act on its approver's, every revocation by the
//! act on its manager's, every expiry by a bank server's or a manager's; every signed
//! row's bytes rebuilt from its columns. Beyond who signed, what they were allowed to
//! ([`crate::authority`]): each signer's chain validated as of each act's time, its
//! actions and role, its staff member from the signed claim, revocations as of their
//! time, four eyes re-checked after the fact (never the maker, only a pending transfer,
//! pending exactly when the signed policy in force at the act said so, [`crate::policy`];
//! the recorded time the act's signed time), every account's cached totals recomputed
//! from the signed journal, every staff, customer and account row held to its newest
//! signed version (`pqbank_db::master`), and every stored certificate matched to its
//! issuer's logged issuance. Any row edited, inserted or removed directly in the
//! database is named.
//!
//! A clean run leaves a [`VerifiedLog`]; a run from it ([`Service::verify_log_from`])
//! reads only the events above each verified chain head, the rows above each table's
//! mark (and in its holes), the earlier rows a new approval names, and the log's leaves
//! from the verified frontier, gives them every check above, and holds what it does not
//! read again to the state's heads, counts and frontier. A full run is the same run from
//! the empty state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pqbank_audit::chain::{GENESIS, verify_chain_from};
use pqbank_db::reads::{ChainHead, LogReads, Since};
use pqbank_db::{SignedRow, Store, TransferRow};
use pqbank_ledger::{Balances, DrawerEventKind, DrawerEventRequest, TransferStatus};
use pqbank_pki::{Action, Certificate};

use crate::authority::{Revoked, Signer, event_action, transfer_action};
use crate::device::ACT_CONTEXT;
use crate::server_key::SERVER_EVENT_CONTEXT;
use crate::{Service, ServiceError};

mod master;

use pqbank_audit::verified as state;
pub use pqbank_audit::verified::{
    ChainState, CheckpointState, Hex, HexBytes, LATE_COMMIT_WINDOW, Marks, VERIFIED_FORMAT,
    VerifiedLog, VersionState,
};

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
    /// True if it started from an earlier verification's state and read only what came
    /// after (`transfers` and `events` count the new rows).
    pub incremental: bool,
}

impl LogReport {
    fn push(&mut self, table: &'static str, row: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem {
            table,
            row: row.into(),
            reason: reason.into(),
        });
    }
}

/// A stored certificate proven as a signer, or why it signs nothing.
type Proven = Result<Arc<Signer>, Arc<str>>;

/// The acts found on the chains, each to be matched by its row: transfers and drawer
/// events by (transfer id, signed bytes), with the time the act was signed; approvals
/// and revocations by [`RowActs`]; expiries by transfer id, with the time they were
/// logged, from chains whose actor may expire a transfer (a bank server, or a manager
/// whose approval came too late); the bank's policy versions from the root's chain.
#[derive(Default)]
struct LoggedActs {
    transfers: BTreeMap<(i64, Vec<u8>), i64>,
    rows: RowActs,
    expiries: BTreeMap<i64, i64>,
    versions: master::Versions,
    issued: BTreeSet<([u8; 32], [u8; 32])>,
    policies: crate::policy::Policies,
    policy_payloads: Vec<(i64, Vec<u8>)>,
}

/// What a journal row was when it was made, as the signed policy in force then made
/// it: its status (or why none can be said) and, if pending, when it may be expired
/// (its act's time plus the policy's lifetime).
type Made = Result<(TransferStatus, i64), &'static str>;

/// One reading's state: the snapshot it reads, the signers proven so far, the staff
/// numbers, the revocations that verified, what was found, and what is proven (the
/// state it started from, brought up to this snapshot as it goes).
struct Verifier<'a, S, R> {
    service: &'a Service<S>,
    reads: &'a mut R,
    staff_rows: Vec<pqbank_db::views::StaffRow>,
    staff: BTreeMap<String, i64>,
    signers: BTreeMap<[u8; 32], Proven>,
    revoked: Revoked,
    acts: LoggedActs,
    made: BTreeMap<i64, Made>,
    report: LogReport,
    state: VerifiedLog,
    /// The newest act time the state it started from proved.
    prior_through: i64,
    /// Why this run cannot stand for a full one, if it cannot.
    full_needed: Option<&'static str>,
}

/// The resolution [`Verifier::check_approvals`] starts from for a transfer an earlier
/// verification saw resolved.
const RESOLVED_BEFORE: &str = "resolved before";

/// How an earlier row a new one names is named when it no longer holds.
const CHANGED_SINCE: &str =
    "changed since it was verified: its signed bytes or its signature no longer hold";

impl<S: Store> Service<S> {
    /// Verifies the whole log, read in one snapshot ([`pqbank_db::reads`]): an act is
    /// in it whole or not at all, so a row is named only if it is bad. `progress` is
    /// told (done, total) as it goes.
    pub async fn verify_log(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<LogReport, ServiceError> {
        Ok(self.verify_log_from(None, progress).await?.0)
    }

    /// Verifies the log from the state an earlier clean verification left
    /// ([`VerifiedLog`]): the new rows' signatures and authority, and the rest held to
    /// what was proven (or, from `None`, every row, as [`Self::verify_log`]). Returns
    /// what was found and, if it named no row, the state to start the next run from.
    ///
    /// # Errors
    /// [`ServiceError::Audit`] if the state is another root's or is not one a
    /// verification leaves; the store's.
    pub async fn verify_log_from(
        &self,
        from: Option<&VerifiedLog>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(LogReport, Option<VerifiedLog>), ServiceError> {
        let root = *self.config.pinned_root.as_bytes();
        let start = match from {
            None => VerifiedLog::empty(root),
            Some(state) if state.root.0 != root => {
                return Err(ServiceError::Audit(
                    "the verified state is another root's log",
                ));
            }
            Some(state) if state.format != VERIFIED_FORMAT || state.frontier().is_none() => {
                return Err(ServiceError::Audit(
                    "the verified state is not one a verification leaves",
                ));
            }
            Some(state) => state.clone(),
        };
        let (mut report, mut state, full_needed) = self.run_from(start, progress).await?;
        report.incremental = from.is_some();
        if let Some(why) = full_needed.filter(|_| from.is_some()) {
            tracing::info!(reason = why, "log verification: a full run is needed");
            (report, state, _) = self.run_from(VerifiedLog::empty(root), progress).await?;
        }
        log_verdict(&report);
        if !report.problems.is_empty() {
            return Ok((report, None));
        }
        state.verified_at = self.now();
        state.transfers = state.transfers.saturating_add(report.transfers as u64);
        state.events = state.events.saturating_add(report.events as u64);
        Ok((report, Some(state)))
    }

    /// One run from `start` in one snapshot: what it found, the state it proved, and why
    /// it cannot stand for a full run, if it cannot.
    async fn run_from(
        &self,
        start: VerifiedLog,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(LogReport, VerifiedLog, Option<&'static str>), ServiceError> {
        let mut reads = self.store.snapshot().await?;
        let mut v = self.verifier(&mut reads, start).await?;
        v.run(progress).await?;
        let found = (v.report, v.state, v.full_needed);
        reads.finish().await?;
        Ok(found)
    }

    /// Each account's newest signed version, as its contents: the versions on every
    /// chain whose signature holds and whose signer was allowed to make them, numbered
    /// from 1 without a gap or a twin. What a bank server seals an account's row for.
    pub(crate) async fn signed_account_versions(
        &self,
    ) -> Result<BTreeMap<i64, Vec<u8>>, ServiceError> {
        let mut reads = self.store.snapshot().await?;
        let root = *self.config.pinned_root.as_bytes();
        let mut v = self.verifier(&mut reads, VerifiedLog::empty(root)).await?;
        let revocations = v.reads.signed_rows("revocations").await?;
        v.prove_revocations(&revocations).await?;
        for certificate in v.reads.event_certificates().await? {
            v.check_chain(&certificate).await?;
        }
        let newest = v.acts.versions.newest("accounts");
        reads.finish().await?;
        Ok(newest)
    }

    /// A verifier of the snapshot `reads` from the proven `state`: the issuances, policy
    /// versions and master versions it proved taken as logged.
    async fn verifier<'a, R: LogReads>(
        &'a self,
        reads: &'a mut R,
        state: VerifiedLog,
    ) -> Result<Verifier<'a, S, R>, ServiceError> {
        let staff_rows = reads.staff().await?;
        let staff = staff_rows
            .iter()
            .map(|s| (s.number.clone(), s.id))
            .collect();
        let mut acts = LoggedActs {
            issued: state.issued.iter().map(|(a, b)| (a.0, b.0)).collect(),
            versions: master::Versions::from_state(&state.versions),
            ..LoggedActs::default()
        };
        for (at, payload) in &state.policies {
            acts.policies.add(&payload.0, *at).map_err(|_| {
                ServiceError::Audit("the verified state's policy versions are not the bank's")
            })?;
            acts.policy_payloads.push((*at, payload.0.clone()));
        }
        Ok(Verifier {
            service: self,
            reads,
            staff_rows,
            staff,
            signers: BTreeMap::new(),
            revoked: Revoked::new(),
            acts,
            made: BTreeMap::new(),
            report: LogReport::default(),
            prior_through: state.through,
            full_needed: None,
            state,
        })
    }
}

impl<S: Store, R: LogReads> Verifier<'_, S, R> {
    async fn run(&mut self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<(), ServiceError> {
        let heads = self.reads.chain_heads().await?;
        let chains = self.chain_work(&heads);
        let since_transfers = self.since("transfers");
        let since_approvals = self.since("approvals");
        let since_drawers = self.since("drawer_events");
        let since_revocations = self.since("revocations");
        let store = &mut *self.reads;
        let mut transfers = store.transfers_since(&since_transfers).await?;
        // The journal is read joined with its resolutions: a transfer resolved twice
        // (which the schema refuses) is one row here, its resolutions checked below.
        transfers.dedup_by_key(|t| t.id);
        let approvals = store
            .signed_rows_since("approvals", &since_approvals)
            .await?;
        let drawer_events = store
            .signed_rows_since("drawer_events", &since_drawers)
            .await?;
        let revocations = store
            .signed_rows_since("revocations", &since_revocations)
            .await?;
        // Every revocation, old and new, says as of when a certificate signs nothing.
        let all_revocations = store.signed_rows("revocations").await?;
        self.prove_revocations(&all_revocations).await?;
        // A new revocation in force before acts the state proved would change their
        // verdict: those acts are not read again, so the run must be full.
        for row in &revocations {
            let target = row
                .certificate_fingerprint
                .as_deref()
                .and_then(|t| <[u8; 32]>::try_from(t).ok());
            if let (Some(target), Some(at)) = (target, row.created_at)
                && self.revoked.get(&target) == Some(&at)
                && at < self.prior_through
            {
                self.full_needed = Some("a revocation in force before acts it proved");
            }
        }
        let total = transfers.len() + chains.len();
        for (done, chain) in chains.into_iter().enumerate() {
            self.check_chain_from(chain).await?;
            progress(done + 1, total);
        }
        let mut journal = Vec::with_capacity(transfers.len());
        for (done, t) in transfers.iter().enumerate() {
            journal.push((self.check_transfer(t).await?, t));
            progress(total - transfers.len() + done + 1, total);
        }
        // What new approvals resolve or sign off but an earlier run verified.
        let mut by_id: BTreeMap<i64, &TransferRow> = transfers.iter().map(|t| (t.id, t)).collect();
        let earlier_ids = unread(approvals.iter().filter_map(|a| a.transfer_id), |id| {
            by_id.contains_key(id)
        });
        let mut earlier = self.reads.transfers_by_ids(&earlier_ids).await?;
        earlier.dedup_by_key(|t| t.id);
        for t in &earlier {
            let holds = t.signed_bytes == t.request.canonical_bytes()
                && t.request_hash == t.request.request_hash()
                && self
                    .still_signed(
                        &t.signed.signer,
                        &t.signed_bytes,
                        &t.signed.signature,
                        t.request.maker,
                    )
                    .await?;
            if !holds {
                self.report
                    .push("transfers", format!("#{}", t.id), CHANGED_SINCE);
            }
            let made = expected_status(self.acts.policies.at(t.recorded_at), t)
                .map(|(status, ttl)| (status, t.recorded_at.saturating_add(ttl)));
            self.made.entry(t.id).or_insert(made);
        }
        by_id.extend(earlier.iter().map(|t| (t.id, t)));
        let known: BTreeSet<i64> = drawer_events.iter().map(|d| d.id).collect();
        let closes = unread(approvals.iter().filter_map(|a| a.drawer_event_id), |id| {
            known.contains(id)
        });
        let mut drawers = self
            .reads
            .signed_rows_by_ids("drawer_events", &closes)
            .await?;
        for d in &drawers {
            let signer = <[u8; 32]>::try_from(d.signer_fingerprint.as_slice()).unwrap_or_default();
            let holds = drawer_event_matches(d)
                && self
                    .still_signed(&signer, &d.signed_bytes, &d.signature, d.staff_id)
                    .await?;
            if !holds {
                self.report
                    .push("drawer_events", format!("#{}", d.id), CHANGED_SINCE);
            }
        }
        drawers.extend(drawer_events.iter().cloned());
        let resolved = self.check_approvals(&approvals, &by_id, &drawers).await?;
        self.check_drawer_events(&drawer_events).await?;
        self.check_revocations(&revocations).await?;
        unmatched_row_acts(std::mem::take(&mut self.acts.rows), &mut self.report);
        self.check_balances(&journal, &resolved, &by_id).await?;
        self.check_checkpoints().await?;
        self.check_master().await?;
        self.check_issuance().await?;
        unmatched_transfer_acts(std::mem::take(&mut self.acts.transfers), &mut self.report);
        let ids = |rows: &[SignedRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let counted = [
            (
                "transfers",
                since_transfers,
                transfers.iter().map(|t| t.id).collect(),
            ),
            ("approvals", since_approvals, ids(&approvals)),
            ("drawer_events", since_drawers, ids(&drawer_events)),
            ("revocations", since_revocations, ids(&revocations)),
        ];
        for (table, since, read) in counted {
            self.check_count(table, &since, &read).await?;
        }
        self.state.issued = self
            .acts
            .issued
            .iter()
            .map(|(a, b)| (Hex(*a), Hex(*b)))
            .collect();
        self.state.policies = self
            .acts
            .policy_payloads
            .iter()
            .map(|(at, p)| (*at, HexBytes(p.clone())))
            .collect();
        Ok(())
    }

    /// True if `bytes` are still signed by the certificate `signer` of staff member
    /// `staff` (an earlier row a new one names, read again).
    async fn still_signed(
        &mut self,
        signer: &[u8; 32],
        bytes: &[u8],
        signature: &[u8],
        staff: i64,
    ) -> Result<bool, ServiceError> {
        Ok(self.signer(signer).await?.is_ok_and(|s| {
            s.staff == Some(staff) && s.key.verify(bytes, ACT_CONTEXT, signature).is_ok()
        }))
    }

    /// The rows of `table` not read by the run the state comes from: every row when it
    /// read none.
    fn since(&self, table: &str) -> Since {
        self.state
            .tables
            .get(table)
            .map_or(Since::all(), |m| Since {
                mark: m.mark,
                holes: m.holes.clone(),
            })
    }

    /// Holds the rows of `table` at or below the proven mark to the proven count (with
    /// the late commits this run `read` in its holes), and moves the marks on.
    async fn check_count(
        &mut self,
        table: &'static str,
        since: &Since,
        read: &[i64],
    ) -> Result<(), ServiceError> {
        let before = self.state.tables.get(table).cloned();
        let mut verified: BTreeSet<i64> = read.iter().copied().collect();
        if let Some(marks) = &before {
            // The ids at or below the mark but those this run read (late commits in its
            // holes) must be the ids verified: same set, not only same count.
            let stored = self.reads.ids_through(table, since.mark).await?;
            let earlier: Vec<i64> = stored
                .iter()
                .copied()
                .filter(|id| !verified.contains(id))
                .collect();
            if state::ids_digest(&earlier) != marks.digest.0 {
                let late = read.iter().filter(|id| **id <= marks.mark).count();
                let expected = marks
                    .count
                    .saturating_add(i64::try_from(late).unwrap_or(i64::MAX));
                self.report.push(
                    table,
                    format!("ids up to #{}", marks.mark),
                    format!(
                        "the rows at or below the verified mark are not those verified ({} \
                         where {expected} were): rows were inserted or removed (a full \
                         verification names them)",
                        stored.len()
                    ),
                );
            }
            verified.extend(earlier);
        }
        let mut marks = state::advance(&before.unwrap_or_default(), read);
        let verified: Vec<i64> = verified.into_iter().collect();
        marks.digest = Hex(state::ids_digest(&verified));
        self.state.tables.insert(table.to_owned(), marks);
        Ok(())
    }

    /// The chains to read, each from where it was verified: (certificate, position,
    /// head hash, the requests its events used). Names every verified chain that is
    /// gone, shorter than verified, or whose count of events below its head changed.
    fn chain_work(&mut self, heads: &[ChainHead]) -> Vec<ChainWork> {
        let present: BTreeSet<[u8; 32]> = heads.iter().map(|h| h.certificate).collect();
        for certificate in self.state.chains.keys() {
            if !present.contains(&certificate.0) {
                self.report.push(
                    "accountability_events",
                    hex(&certificate.0),
                    "its verified events were removed",
                );
            }
        }
        let mut work = Vec::new();
        for head in heads {
            let (next, hash, requests) = match self.state.chains.get(&Hex(head.certificate)) {
                None => (0, GENESIS, SeenRequests::new()),
                Some(c) => (c.next, c.head.0, seen_requests(c)),
            };
            let length = u64::try_from(head.max_seq.saturating_add(1)).unwrap_or(0);
            if head.min_seq < 0 {
                // Never read (positions count from 0): named here, in a full run too.
                self.report.push(
                    "accountability_events",
                    hex(&head.certificate),
                    "its chain has events at negative positions",
                );
            }
            if next > 0 && (head.events != head.max_seq.saturating_add(1) || head.min_seq != 0) {
                self.report.push(
                    "accountability_events",
                    hex(&head.certificate),
                    "events below its verified head were removed or inserted",
                );
            }
            if length < next {
                self.report.push(
                    "accountability_events",
                    hex(&head.certificate),
                    "its chain is shorter than verified: its newest events were removed",
                );
            } else if length > next {
                work.push(ChainWork {
                    certificate: head.certificate,
                    next,
                    head: hash,
                    requests,
                });
            }
        }
        work
    }

    /// The stored certificate `fingerprint` as a signer, its chain walked through the
    /// stored issuers and validated once (cached).
    async fn signer(&mut self, fingerprint: &[u8; 32]) -> Result<Proven, ServiceError> {
        if let Some(hit) = self.signers.get(fingerprint) {
            return Ok(hit.clone());
        }
        let proven = match self.path(fingerprint).await? {
            Ok(path) => Signer::prove(&path, self.service.config.pinned_root, &self.staff)
                .map(Arc::new)
                .map_err(Arc::from),
            Err(reason) => Err(Arc::from(reason)),
        };
        self.signers.insert(*fingerprint, proven.clone());
        Ok(proven)
    }

    /// The stored path from `fingerprint` up to a self-issued root, leaf first, each
    /// certificate's DER matching its stored fingerprint.
    async fn path(
        &mut self,
        fingerprint: &[u8; 32],
    ) -> Result<Result<Vec<Certificate>, &'static str>, ServiceError> {
        let mut path = Vec::new();
        let mut next = Some(*fingerprint);
        while let Some(fp) = next {
            if path.len() == pqbank_pki::chain::CHAIN_LEN_MAX {
                return Ok(Err(
                    "its certificate chain is longer than any the bank issues",
                ));
            }
            let Some(record) = self.reads.certificate(&fp).await? else {
                return Ok(Err(if path.is_empty() {
                    "signed by an unknown certificate"
                } else {
                    "its certificate's issuer is not stored"
                }));
            };
            let Ok(cert) = Certificate::from_der(&record.der) else {
                return Ok(Err("its certificate does not decode"));
            };
            if cert.fingerprint().as_bytes() != &record.fingerprint {
                return Ok(Err("its certificate is not the one its fingerprint names"));
            }
            next = record.issuer;
            path.push(cert);
        }
        if path
            .last()
            .is_none_or(|root| root.fingerprint() != self.service.config.pinned_root)
        {
            return Ok(Err("its certificate chain does not end at the pinned root"));
        }
        Ok(Ok(path))
    }

    /// Every revocation whose bytes are its columns, signed by a certificate allowed to
    /// revoke at the time: the time each certificate was revoked, for every act after.
    async fn prove_revocations(&mut self, rows: &[SignedRow]) -> Result<(), ServiceError> {
        for row in rows {
            let (Some(target), Some(at)) = (
                row.certificate_fingerprint
                    .as_deref()
                    .and_then(|t| <[u8; 32]>::try_from(t).ok()),
                row.created_at,
            ) else {
                continue;
            };
            let Ok(signer) = <[u8; 32]>::try_from(row.signer_fingerprint.as_slice()) else {
                continue;
            };
            let proven = self.signer(&signer).await?;
            let valid = revocation_matches(row)
                && proven.is_ok_and(|s| {
                    s.key
                        .verify(&row.signed_bytes, ACT_CONTEXT, &row.signature)
                        .is_ok()
                        && s.may(Action::CertRevoke, at, &Revoked::new()).is_ok()
                });
            if valid {
                let when = self.revoked.entry(target).or_insert(at);
                *when = (*when).min(at);
            }
        }
        Ok(())
    }

    /// One certificate's chain: its links, every event's signature (by the certificate's
    /// key, or for a v2 event by a bank server's over the device's request, which must be
    /// signed by the certificate's key and used once), every act's authority at its
    /// time, and the acts it logged, kept to be matched by their rows.
    async fn check_chain(&mut self, certificate: &[u8; 32]) -> Result<(), ServiceError> {
        self.check_chain_from(ChainWork {
            certificate: *certificate,
            next: 0,
            head: GENESIS,
            requests: SeenRequests::new(),
        })
        .await
    }

    /// One chain from where it was verified (see [`Self::check_chain`]); what it proves
    /// kept in the state.
    async fn check_chain_from(&mut self, work: ChainWork) -> Result<(), ServiceError> {
        let ChainWork {
            certificate,
            next,
            head,
            mut requests,
        } = work;
        let certificate = &certificate;
        let events = self.reads.events_from(certificate, next).await?;
        let actor = self.signer(certificate).await?;
        let mut servers: BTreeMap<[u8; 32], Option<Arc<Signer>>> = BTreeMap::new();
        for server in events.iter().filter_map(|e| e.event.server) {
            if let std::collections::btree_map::Entry::Vacant(slot) = servers.entry(server) {
                let proven = self.signer(&server).await?;
                slot.insert(proven.ok().filter(|s| s.server));
            }
        }
        let key = actor.as_ref().ok().map(|s| &**s);
        self.report.events += events.len();
        let name = hex(certificate);
        if let Err(reason) = &actor {
            self.report.push(
                "accountability_events",
                name.clone(),
                format!("the chain's certificate signs nothing: {reason}"),
            );
        }
        let pairs: Vec<_> = events.iter().map(|e| (e.event.clone(), e.hash)).collect();
        let head = verify_chain_from(certificate, next, head, &pairs).unwrap_or_else(|e| {
            self.report
                .push("accountability_events", name.clone(), e.to_string());
            head
        });
        for e in &events {
            let row = format!("{name} #{}", e.event.seq);
            let signed = match &e.event.server {
                None => {
                    key.is_some_and(|s| s.key.verify(&e.hash, ACT_CONTEXT, &e.signature).is_ok())
                }
                Some(server) => servers
                    .get(server)
                    .and_then(Option::as_ref)
                    .is_some_and(|s| {
                        s.key
                            .verify(&e.hash, SERVER_EVENT_CONTEXT, &e.signature)
                            .is_ok()
                    }),
            };
            if !signed && key.is_some() {
                self.report.push(
                    "accountability_events",
                    row.clone(),
                    if e.event.server.is_some() {
                        "the signature is not a bank server's"
                    } else {
                        "the signature is not the certificate's"
                    },
                );
            }
            if e.event.server.is_some()
                && let Err(reason) = check_request(&e.event, key, &mut requests)
            {
                self.report
                    .push("accountability_events", row.clone(), reason);
            }
            let (kind, payload, at) = (e.event.kind.as_str(), &e.event.payload, e.event.created_at);
            // A bank server's own chain holds its jobs (expiries, checkpoints) and nothing
            // else; a staff member's, acts their certificate allowed when they took them.
            let allowed = match key {
                Some(actor) if actor.server => {
                    if matches!(kind, "transfer.expire" | "checkpoint") {
                        actor.in_force(at, &self.revoked)
                    } else {
                        Err("a bank server's chain logs an act that is not a server's job".into())
                    }
                }
                Some(actor) => {
                    event_action(kind).map_or(Ok(()), |a| actor.may(a, at, &self.revoked))
                }
                None => Ok(()),
            };
            let authorised = allowed.is_ok();
            if let Err(reason) = allowed {
                self.report
                    .push("accountability_events", row.clone(), reason);
            }
            // An issuance counts only if its issuer was allowed to issue: (issuer, the
            // certificate issued, which a renewal's payload names after the old one).
            if matches!(kind, "cert.issue" | "cert.renew")
                && signed
                && authorised
                && let Some(issued) = payload
                    .len()
                    .checked_sub(32)
                    .and_then(|at| <[u8; 32]>::try_from(&payload[at..]).ok())
            {
                self.acts.issued.insert((*certificate, issued));
            }
            // A version of master data counts only if its signer was allowed to make it.
            if let Some(table) = master::table_of(kind)
                && signed
                && authorised
                && key.is_some()
                && !self.acts.versions.add(table, payload, row.clone(), at)
            {
                self.report.push(
                    "accountability_events",
                    row.clone(),
                    "the version's payload is not a version",
                );
            }
            // The bank's policy is the root's to sign, on the root's own chain, each
            // version numbered one above the last.
            if kind == pqbank_db::master::POLICY_VERSION && signed && authorised && key.is_some() {
                let added = if e.event.server.is_some() {
                    Err("a policy version a bank server relayed, not the root's own")
                } else if certificate == self.service.config.pinned_root.as_bytes() {
                    let added = self.acts.policies.add(payload, at);
                    if added.is_ok() {
                        self.acts.policy_payloads.push((at, payload.clone()));
                        if at <= self.prior_through {
                            self.full_needed =
                                Some("a policy version signed before acts it proved");
                        }
                    }
                    added
                } else {
                    Err("a policy version off the root's chain")
                };
                if let Err(reason) = added {
                    self.report
                        .push("accountability_events", row.clone(), reason);
                }
            }
            // An expiry is logged by a bank server's sweep, or on the chain of a manager
            // whose approval came after the transfer's time ran out.
            if kind == "transfer.expire"
                && signed
                && payload.len() % 8 == 0
                && key.is_some_and(|s| {
                    s.server || s.may(Action::TransferApprove, at, &self.revoked).is_ok()
                })
            {
                for id in payload.chunks_exact(8) {
                    let id = i64::from_be_bytes(id.try_into().unwrap_or_default());
                    let when = self.acts.expiries.entry(id).or_insert(at);
                    *when = (*when).min(at);
                }
            }
            if matches!(kind, "transfer.post" | "drawer.open" | "drawer.close") && payload.len() > 8
            {
                let (bytes, id) = payload.split_at(payload.len() - 8);
                let id = i64::from_be_bytes(id.try_into().unwrap_or_default());
                let when = self
                    .acts
                    .transfers
                    .entry((id, bytes.to_vec()))
                    .or_insert(at);
                *when = (*when).min(at);
            }
            if ROW_ACTS.contains(&kind) {
                self.acts
                    .rows
                    .entry((*certificate, kind.to_owned(), payload.clone()))
                    .or_default()
                    .push(row);
            }
        }
        if let Some(newest) = events.iter().map(|e| e.event.created_at).max() {
            self.state.through = self.state.through.max(newest);
        }
        let length = next.saturating_add(events.len() as u64);
        self.state
            .chains
            .insert(Hex(*certificate), chain_state(length, head, &requests));
        Ok(())
    }

    /// Every stored certificate: its columns are its DER's (serial, issuer, lineage, role,
    /// validity, and the staff member its signed claim names); and, but the pinned root,
    /// issued by the certificate its row names as issuer, as that issuer's `cert.issue`
    /// or `cert.renew` event logs, signed and allowed.
    async fn check_issuance(&mut self) -> Result<(), ServiceError> {
        let root = *self.service.config.pinned_root.as_bytes();
        for record in self.reads.all_certificates().await? {
            if let Some(reason) = certificate_columns_differ(&record, &self.staff) {
                self.report
                    .push("certificates", hex(&record.fingerprint), reason);
            }
            if record.fingerprint == root {
                continue;
            }
            let logged = record
                .issuer
                .is_some_and(|issuer| self.acts.issued.contains(&(issuer, record.fingerprint)));
            if !logged {
                self.report.push(
                    "certificates",
                    hex(&record.fingerprint),
                    "no issuance of it is logged on its issuer's chain",
                );
            }
        }
        Ok(())
    }

    /// Every staff member, customer and account: the newest of its signed versions,
    /// made when its first version was signed.
    async fn check_master(&mut self) -> Result<(), ServiceError> {
        let customers = self.reads.customers().await?;
        let accounts = self.reads.accounts().await?;
        let mut created = BTreeMap::new();
        for table in ["staff", "customers", "accounts"] {
            let times: BTreeMap<i64, i64> =
                self.reads.created_times(table).await?.into_iter().collect();
            created.insert(table, times);
        }
        let versions = &mut self.acts.versions;
        let staff = self.staff_rows.iter().map(|s| {
            let contents = pqbank_db::master::staff_row_contents(&s.number, &s.name, &s.role);
            (s.id, contents)
        });
        let staff = versions.check_table("staff", staff, &created["staff"], &mut self.report);
        let customers = customers
            .iter()
            .map(|c| (c.id, pqbank_db::master::customer_row_contents(c)));
        let customers = versions.check_table(
            "customers",
            customers,
            &created["customers"],
            &mut self.report,
        );
        let accounts = accounts
            .iter()
            .map(|a| (a.id, pqbank_db::master::account_row_contents(a)));
        let accounts =
            versions.check_table("accounts", accounts, &created["accounts"], &mut self.report);
        self.state.versions = [
            ("staff".to_owned(), staff),
            ("customers".to_owned(), customers),
            ("accounts".to_owned(), accounts),
        ]
        .into_iter()
        .collect();
        Ok(())
    }

    /// One journal row: its signed bytes are its contents, signed by its maker's
    /// certificate, which allowed the act when it was signed; matched by the act on the
    /// maker's chain, whose signed time is its recorded time; pending exactly when the
    /// signed policy in force at that time said so. True if the row is the
    /// signed journal's (its bytes and signature hold), whatever else is wrong.
    async fn check_transfer(&mut self, t: &TransferRow) -> Result<bool, ServiceError> {
        self.report.transfers += 1;
        let row = format!("#{}", t.id);
        let mut problems = Vec::new();
        let canonical = t.request.canonical_bytes();
        let contents = t.signed_bytes == canonical;
        if !contents {
            problems.push("the signed bytes are not the row's contents".to_string());
        }
        if t.request_hash != t.request.request_hash() {
            problems.push("the request hash is not the hash of the signed bytes".into());
        }
        let mut signed = false;
        match self.signer(&t.signed.signer).await? {
            Err(reason) => problems.push(reason.to_string()),
            Ok(s) => {
                signed = s
                    .key
                    .verify(&t.signed_bytes, ACT_CONTEXT, &t.signed.signature)
                    .is_ok();
                if !signed {
                    problems.push("the maker's signature does not verify".into());
                }
                if s.staff != Some(t.request.maker) {
                    problems.push("the signing certificate is not the maker's".into());
                }
                let action = transfer_action(t.request.kind);
                if let Err(reason) = s.may(action, t.request.created_at, &self.revoked) {
                    problems.push(reason);
                }
            }
        }
        // When it was made is its act's signed time; the recorded time must be it.
        let act = self.acts.transfers.remove(&(t.id, canonical));
        match act {
            None => problems.push("no matching act on the maker's accountability chain".into()),
            Some(at) if at != t.recorded_at => {
                problems.push("its recorded time is not its act's".into());
            }
            Some(_) => {}
        }
        let made_at = act.unwrap_or(t.recorded_at);
        let made = expected_status(self.acts.policies.at(made_at), t)
            .map(|(status, ttl)| (status, made_at.saturating_add(ttl)));
        match made {
            Err(reason) => problems.push(reason.into()),
            Ok((expected, _)) if t.created_status != expected => {
                problems.push(match expected {
                    TransferStatus::Pending => {
                        "recorded as posted above the approval threshold".into()
                    }
                    _ => "recorded as pending at or below the approval threshold".into(),
                });
            }
            Ok((expected, deadline)) => {
                let expiry = (expected == TransferStatus::Pending).then_some(deadline);
                if t.expires_at != expiry {
                    problems.push("its expiry is not the policy's".into());
                }
            }
        }
        self.made.insert(t.id, made);
        for reason in problems {
            self.report.push("transfers", row.clone(), reason);
        }
        Ok(contents && signed)
    }

    /// A signed row's signer: a certificate that signs, of the staff member the row
    /// names, whose signature verifies over the row's signed bytes, allowed `action` at
    /// `at`. Every failure is named; true if the signature holds.
    async fn check_signer(
        &mut self,
        table: &'static str,
        row: &SignedRow,
        action: Action,
        at: i64,
    ) -> Result<bool, ServiceError> {
        let name = format!("#{}", row.id);
        let Ok(signer) = <[u8; 32]>::try_from(row.signer_fingerprint.as_slice()) else {
            self.report.push(table, name, "the signer is malformed");
            return Ok(false);
        };
        let s = match self.signer(&signer).await? {
            Err(reason) => {
                self.report.push(table, name, reason.to_string());
                return Ok(false);
            }
            Ok(s) => s,
        };
        if s.staff != Some(row.staff_id) {
            self.report.push(
                table,
                name.clone(),
                "the signing certificate is not the staff member's",
            );
        }
        let signed = s
            .key
            .verify(&row.signed_bytes, ACT_CONTEXT, &row.signature)
            .is_ok();
        if !signed {
            self.report
                .push(table, name.clone(), "the signature does not verify");
        }
        if let Err(reason) = s.may(action, at, &self.revoked) {
            self.report.push(table, name, reason);
        }
        Ok(signed)
    }

    /// Every approval: its bytes rebuilt from its columns, its signer allowed to approve
    /// when it signed, never the maker (or the drawer's teller), only of a transfer that
    /// was pending, once per transfer, and matched by the act its signer logged. An
    /// expiry is unsigned: it must be logged by a bank server or a manager after the
    /// transfer's time ran out. The resolutions that hold, by transfer.
    async fn check_approvals(
        &mut self,
        rows: &[SignedRow],
        transfers: &BTreeMap<i64, &TransferRow>,
        drawer_events: &[SignedRow],
    ) -> Result<BTreeMap<i64, String>, ServiceError> {
        const TABLE: &str = "approvals";
        let tellers: BTreeMap<i64, i64> =
            drawer_events.iter().map(|d| (d.id, d.staff_id)).collect();
        let hashes: BTreeMap<i64, [u8; 32]> = transfers
            .iter()
            .map(|(id, t)| (*id, t.request.request_hash()))
            .collect();
        let mut resolved: BTreeMap<i64, String> = self
            .state
            .resolved
            .iter()
            .map(|id| (*id, RESOLVED_BEFORE.to_owned()))
            .collect();
        for row in rows {
            let name = format!("#{}", row.id);
            let decision = row.decision.as_deref().unwrap_or_default();
            let transfer = row.transfer_id.and_then(|id| transfers.get(&id).copied());
            if let Some(id) = row.transfer_id
                && resolved.contains_key(&id)
            {
                self.report
                    .push(TABLE, name.clone(), "a second resolution of one transfer");
            }
            let made = transfer.and_then(|t| self.made.get(&t.id)?.ok());
            if made.is_some_and(|(status, _)| status != TransferStatus::Pending) {
                self.report.push(
                    TABLE,
                    name.clone(),
                    "resolves a transfer that was never pending",
                );
            }
            if decision == "expire" && row.signature.is_empty() {
                let logged = row
                    .transfer_id
                    .and_then(|id| self.acts.expiries.get(&id).copied());
                let holds = match (transfer, logged) {
                    (None, _) => {
                        self.report.push(
                            TABLE,
                            name,
                            "expires a transfer that is not in the journal",
                        );
                        false
                    }
                    (Some(_), None) => {
                        self.report
                            .push(TABLE, name, "an expiry no bank server or manager logged");
                        false
                    }
                    (Some(_), Some(at)) if at < made.map_or(i64::MAX, |(_, deadline)| deadline) => {
                        self.report.push(TABLE, name, "expired before its time");
                        false
                    }
                    _ => true,
                };
                if holds && let Some(id) = row.transfer_id {
                    resolved.entry(id).or_insert_with(|| decision.to_owned());
                }
                continue;
            }
            if !approval_matches(row, &hashes) {
                self.report.push(
                    TABLE,
                    name.clone(),
                    "the signed bytes are not the row's contents",
                );
            }
            let at = row.created_at.unwrap_or(i64::MIN);
            let action = if decision == "sign_off" {
                Action::VarianceApprove
            } else {
                Action::TransferApprove
            };
            let signed = self.check_signer(TABLE, row, action, at).await?;
            if transfer.is_some_and(|t| t.request.maker == row.staff_id) {
                self.report
                    .push(TABLE, name.clone(), "approved by its own maker");
            }
            if decision == "sign_off"
                && row.drawer_event_id.and_then(|d| tellers.get(&d)) == Some(&row.staff_id)
            {
                self.report.push(
                    TABLE,
                    name.clone(),
                    "signed off by the teller whose drawer it is",
                );
            }
            if let Some((act, reason)) = row_act(TABLE, row) {
                let signer = row.signer_fingerprint.as_slice().try_into().ok();
                if !take_act(&mut self.acts.rows, signer, act) {
                    self.report.push(TABLE, name, reason);
                }
            }
            if signed && let Some(id) = row.transfer_id {
                resolved.entry(id).or_insert_with(|| decision.to_owned());
            }
        }
        Ok(resolved)
    }

    /// Every drawer event: its bytes rebuilt from its columns, signed by its teller,
    /// who was allowed to run a drawer when they signed.
    async fn check_drawer_events(&mut self, rows: &[SignedRow]) -> Result<(), ServiceError> {
        for row in rows {
            if !drawer_event_matches(row) {
                self.report.push(
                    "drawer_events",
                    format!("#{}", row.id),
                    "the signed bytes are not the row's contents",
                );
            }
            let at = row.created_at.unwrap_or(i64::MIN);
            self.check_signer("drawer_events", row, Action::DrawerOperate, at)
                .await?;
        }
        Ok(())
    }

    /// Every revocation: its bytes rebuilt from its columns, signed by a manager allowed
    /// to revoke when she signed, and matched by the act she logged.
    async fn check_revocations(&mut self, rows: &[SignedRow]) -> Result<(), ServiceError> {
        const TABLE: &str = "revocations";
        for row in rows {
            let name = format!("#{}", row.id);
            if !revocation_matches(row) {
                self.report.push(
                    TABLE,
                    name.clone(),
                    "the signed bytes are not the row's contents",
                );
            }
            let at = row.created_at.unwrap_or(i64::MIN);
            self.check_signer(TABLE, row, Action::CertRevoke, at)
                .await?;
            if let Some((act, reason)) = row_act(TABLE, row) {
                let signer = row.signer_fingerprint.as_slice().try_into().ok();
                if !take_act(&mut self.acts.rows, signer, act) {
                    self.report.push(TABLE, name, reason);
                }
            }
        }
        Ok(())
    }

    /// Every account's cached totals against those of the signed journal: the totals
    /// proven before, with the new transfers whose bytes and signatures hold, posted or
    /// pending as the policy makes them, and the resolutions that hold (of new transfers,
    /// or of earlier pending ones, found in `by_id`).
    async fn check_balances(
        &mut self,
        transfers: &[(bool, &TransferRow)],
        resolved: &BTreeMap<i64, String>,
        by_id: &BTreeMap<i64, &TransferRow>,
    ) -> Result<(), ServiceError> {
        let mut journal: BTreeMap<i64, Balances> = self
            .state
            .totals
            .iter()
            .map(|(id, [dp, cp, dq, cq])| {
                let totals = Balances {
                    debits_posted: *dp,
                    credits_posted: *cp,
                    debits_pending: *dq,
                    credits_pending: *cq,
                };
                (*id, totals)
            })
            .collect();
        for (signed, t) in transfers {
            // A row no signed policy can say what it was moves nothing.
            let Some(Ok((status, _))) = self.made.get(&t.id).copied() else {
                continue;
            };
            if !signed {
                continue;
            }
            let resolution = resolved.get(&t.id).map(String::as_str);
            if status == TransferStatus::Pending && resolution.is_some() {
                self.state.resolved.insert(t.id);
            }
            let pending = match (status, resolution) {
                (TransferStatus::Pending, None) => {
                    self.state.pending.insert(t.id);
                    true
                }
                (TransferStatus::Pending, Some("post")) | (_, None) => false,
                (TransferStatus::Pending, Some(_)) => continue,
                (_, Some(_)) => false,
            };
            add(&mut journal, t, pending, 1);
        }
        // Earlier pending transfers resolved now (a new one still pending has no
        // resolution): their pending amounts leave, and a posting adds them as posted.
        for (id, decision) in resolved {
            if decision == RESOLVED_BEFORE || !self.state.pending.contains(id) {
                continue;
            }
            let Some(t) = by_id.get(id) else {
                continue;
            };
            add(&mut journal, t, true, -1);
            if decision == "post" {
                add(&mut journal, t, false, 1);
            }
            self.state.pending.remove(id);
            self.state.resolved.insert(*id);
        }
        for account in self.reads.accounts().await? {
            if journal.get(&account.id).copied().unwrap_or_default() != account.balances {
                self.report.push(
                    "account_balances",
                    format!("#{}", account.id),
                    "the cached totals are not those of the signed journal",
                );
            }
        }
        // An account whose transfers cancel out (a pending one voided) keeps no totals,
        // as a full run's journal never gives it any.
        self.state.totals = journal
            .into_iter()
            .filter(|(_, b)| *b != Balances::default())
            .map(|(id, b)| {
                let totals = [
                    b.debits_posted,
                    b.credits_posted,
                    b.debits_pending,
                    b.credits_pending,
                ];
                (id, totals)
            })
            .collect();
        Ok(())
    }

    /// Every checkpoint: signed by a certificate allowed to verify the log when it
    /// signed (an auditor's, or a bank server's in force), and its root the root of the sequenced log at its size (which also makes
    /// every pair of checkpoints consistent).
    ///
    /// Only the checkpoints not verified before are checked, from the proven frontier
    /// (from the first leaf when one is smaller than it); a verified checkpoint removed,
    /// or a log position below the frontier, is named.
    async fn check_checkpoints(&mut self) -> Result<(), ServiceError> {
        let store = &mut *self.reads;
        let checkpoints = store.checkpoints().await?;
        let present: BTreeSet<i64> = checkpoints.iter().map(|c| c.tree_size).collect();
        for size in self.state.checkpoints.sizes.difference(&present) {
            self.report.push(
                "checkpoints",
                format!("size {size}"),
                "a verified checkpoint was removed",
            );
        }
        let fresh: Vec<_> = checkpoints
            .iter()
            .filter(|c| !self.state.checkpoints.sizes.contains(&c.tree_size))
            .collect();
        let frontier = self.state.frontier().unwrap_or_default();
        let proven_size = frontier.size();
        let proven = i64::try_from(proven_size).unwrap_or(i64::MAX);
        if proven_size > 0 && store.log_positions_below(proven_size).await? != proven {
            self.report.push(
                "log_entries",
                format!("positions below {proven}"),
                "log positions below the verified checkpoint were removed",
            );
        }
        // A new checkpoint below the frontier (one that committed late) is checked from
        // the first leaf, and the log rebuilt past the frontier is held to its root: the
        // frontier never moves back.
        let restart = fresh.iter().any(|c| c.tree_size < proven);
        let mut tree = if restart {
            pqbank_audit::merkle::Frontier::new()
        } else {
            frontier.clone()
        };
        let largest = fresh.iter().map(|c| c.tree_size).max().unwrap_or(0);
        let target = u64::try_from(largest).unwrap_or(0).max(proven_size);
        let hashes = store.log_leaves_between(tree.size(), target).await?;
        // One pass over the log gives the root at every checkpoint's size (they come in
        // size order), not one tree per checkpoint.
        let mut leaves = hashes.iter();
        let mut grow = |tree: &mut pqbank_audit::merkle::Frontier, size: u64| {
            while tree.size() < size
                && let Some(hash) = leaves.next()
            {
                tree.push(&pqbank_audit::merkle::leaf_hash(hash));
            }
        };
        let mut frontier_held = !restart;
        for c in fresh {
            let row = format!("size {}", c.tree_size);
            let Ok(size) = u64::try_from(c.tree_size) else {
                self.report
                    .push("checkpoints", row, "its size is not a log size");
                continue;
            };
            if !frontier_held && size >= proven_size {
                grow(&mut tree, proven_size);
                if tree.root() != frontier.root() {
                    self.report.push(
                        "log_entries",
                        format!("positions below {proven}"),
                        "the log below the verified checkpoint changed",
                    );
                }
                frontier_held = true;
            }
            let expected_bytes = crate::checkpoint_bytes(size, &c.root, c.created_at);
            let signer = self.signer(&c.signer).await?;
            let signed = signer.as_ref().is_ok_and(|k| {
                c.signed_bytes == expected_bytes
                    && k.key
                        .verify(&c.signed_bytes, ACT_CONTEXT, &c.signature)
                        .is_ok()
            });
            if !signed {
                self.report
                    .push("checkpoints", row.clone(), "the signature does not verify");
            } else if let Ok(s) = &signer {
                // An auditor's, or a bank server's own (its checkpoint job).
                let allowed = if s.server {
                    s.in_force(c.created_at, &self.revoked)
                } else {
                    s.may(Action::AuditVerify, c.created_at, &self.revoked)
                };
                if let Err(reason) = allowed {
                    self.report.push("checkpoints", row.clone(), reason);
                }
            }
            grow(&mut tree, size);
            let recomputed = (tree.size() == size).then(|| tree.root());
            if recomputed != Some(c.root) {
                self.report.push(
                    "checkpoints",
                    row,
                    "the root is not the log's root at this size",
                );
            }
            self.state.checkpoints.sizes.insert(c.tree_size);
        }
        if !frontier_held {
            grow(&mut tree, proven_size);
            if tree.size() != proven_size || tree.root() != frontier.root() {
                self.report.push(
                    "log_entries",
                    format!("positions below {proven}"),
                    "the log below the verified checkpoint changed",
                );
            }
        }
        self.state.checkpoints.size = tree.size();
        self.state.checkpoints.frontier = tree.nodes().iter().map(|n| Hex(*n)).collect();
        Ok(())
    }
}

/// The ids `named`, but those `read` already, each once and in order.
fn unread(named: impl Iterator<Item = i64>, read: impl Fn(&i64) -> bool) -> Vec<i64> {
    let ids: BTreeSet<i64> = named.filter(|id| !read(id)).collect();
    ids.into_iter().collect()
}

/// Adds (`sign` 1) or takes away (-1) a transfer's amount on both its accounts, as
/// pending or posted.
fn add(journal: &mut BTreeMap<i64, Balances>, t: &TransferRow, pending: bool, sign: i64) {
    let amount = t.request.amount.minor().saturating_mul(sign);
    let debit = journal.entry(t.request.debit).or_default();
    if pending {
        debit.debits_pending = debit.debits_pending.saturating_add(amount);
    } else {
        debit.debits_posted = debit.debits_posted.saturating_add(amount);
    }
    let credit = journal.entry(t.request.credit).or_default();
    if pending {
        credit.credits_pending = credit.credits_pending.saturating_add(amount);
    } else {
        credit.credits_posted = credit.credits_posted.saturating_add(amount);
    }
}

/// What the policy in force when a transfer is made makes it: pending above the
/// threshold, posted otherwise, with the policy's pending lifetime. A drawer's own
/// transfers are never pending; a customer's need a signed policy.
fn expected_status(policy: Option<pqbank_ledger::Policy>, t: &TransferRow) -> Made {
    if !t.request.kind.is_customer_facing() {
        return Ok((TransferStatus::Posted, 0));
    }
    let policy = policy.ok_or("no signed four-eyes policy was in force when it was made")?;
    let status = if policy.requires_approval(t.request.kind, t.request.amount) {
        TransferStatus::Pending
    } else {
        TransferStatus::Posted
    };
    Ok((status, policy.pending_ttl_secs))
}

/// A drawer event's signed bytes must be the bytes rebuilt from its row (the teller,
/// drawer, kind, count, key and time), with the vault and variance accounts its teller
/// signed (columns the row does not keep).
fn drawer_event_matches(row: &SignedRow) -> bool {
    let label = pqbank_ledger::DRAWER_LABEL.len();
    let id_at = |n: usize| {
        row.signed_bytes
            .get(label + 8 * n..label + 8 * (n + 1))
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(i64::from_be_bytes)
    };
    let kind = match row.kind.as_deref() {
        Some("open") => DrawerEventKind::Open,
        Some("close") => DrawerEventKind::Close,
        _ => return false,
    };
    let (
        Some(vault),
        Some(variance_account),
        Some(drawer),
        Some(counted_minor),
        Some(key),
        Some(created_at),
    ) = (
        id_at(2),
        id_at(3),
        row.drawer_account_id,
        row.counted_minor,
        row.idempotency_key.clone(),
        row.created_at,
    )
    else {
        return false;
    };
    DrawerEventRequest {
        teller: row.staff_id,
        drawer,
        vault,
        variance_account,
        kind,
        counted_minor,
        idempotency_key: key,
        created_at,
    }
    .canonical_bytes()
        == row.signed_bytes
}

/// The requests v2 events kept, by a digest of (session, counter, kind): the position
/// of the last event that used it, the digest of its payload, and how many events used
/// it.
type SeenRequests = BTreeMap<[u8; 16], (u64, [u8; 32], usize)>;

/// A chain to read from where it was verified.
struct ChainWork {
    certificate: [u8; 32],
    next: u64,
    head: [u8; 32],
    requests: SeenRequests,
}

/// The key of a request's use in [`SeenRequests`].
fn request_use(session: &[u8; 32], counter: u64, kind: &str) -> [u8; 16] {
    use sha3::Digest;
    let mut h = sha3::Sha3_256::new();
    h.update(b"pqbank/request-use/v1");
    h.update(session);
    h.update(counter.to_be_bytes());
    h.update(kind.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

fn payload_digest(payload: &[u8]) -> [u8; 32] {
    use sha3::Digest;
    sha3::Sha3_256::digest(payload).into()
}

/// The requests a verified chain's events used: any of them used again is a replay,
/// but the last one's, which a drawer close's next event may share.
fn seen_requests(chain: &ChainState) -> SeenRequests {
    let mut seen: SeenRequests = chain
        .requests
        .iter()
        .map(|key| (key.0, (u64::MAX, [0; 32], usize::MAX)))
        .collect();
    if let Some((key, payload, uses)) = &chain.last {
        let seq = chain.next.saturating_sub(1);
        seen.insert(
            key.0,
            (seq, payload.0, usize::try_from(*uses).unwrap_or(usize::MAX)),
        );
    }
    seen
}

/// A chain of `length` events with head hash `head`, as proven.
fn chain_state(length: u64, head: [u8; 32], requests: &SeenRequests) -> ChainState {
    let last_seq = length.checked_sub(1);
    let last = requests.iter().find_map(|(key, (seq, payload, uses))| {
        (Some(*seq) == last_seq).then(|| {
            (
                Hex(*key),
                Hex(*payload),
                u32::try_from(*uses).unwrap_or(u32::MAX),
            )
        })
    });
    ChainState {
        next: length,
        head: Hex(head),
        requests: requests.keys().map(|k| Hex(*k)).collect(),
        last,
    }
}

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
    key: Option<&Signer>,
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
    if key.is_none_or(|s| {
        s.key
            .verify(&digest, ACT_CONTEXT, record.signature)
            .is_err()
    }) {
        return Err("the request it keeps is not signed by the certificate's device");
    }
    let header = record.header;
    let used = request_use(&header.session, header.counter, &event.kind);
    let payload = payload_digest(&event.payload);
    let uses = match seen.get(&used) {
        None => 1,
        Some((seq, previous, uses))
            if event.kind == "drawer.close"
                && header.route == pqbank_api::Route::DrawerClose
                && *uses < CLOSE_EVENTS_MAX
                && seq.checked_add(1) == Some(event.seq)
                && *previous != payload =>
        {
            uses + 1
        }
        Some(_) => return Err("the device's request was used twice"),
    };
    seen.insert(used, (event.seq, payload, uses));
    Ok(())
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
fn unmatched_transfer_acts(acts: BTreeMap<(i64, Vec<u8>), i64>, report: &mut LogReport) {
    for (id, _) in acts.into_keys() {
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

/// Why a certificate row is not the row its DER makes (with the staff member its signed
/// StaffId claim names, by number), if it is not.
fn certificate_columns_differ(
    record: &pqbank_db::CertificateRecord,
    staff: &BTreeMap<String, i64>,
) -> Option<&'static str> {
    let Ok(cert) = Certificate::from_der(&record.der) else {
        return Some("its certificate does not decode");
    };
    let staff_id = cert
        .claims()
        .staff_id
        .as_ref()
        .and_then(|n| staff.get(n).copied());
    let rebuilt = crate::service::certificate_columns(&cert, staff_id, record.created_at);
    if rebuilt.fingerprint != record.fingerprint {
        Some("its bytes are not the certificate its fingerprint names")
    } else if rebuilt != *record {
        Some("its columns are not its certificate's")
    } else {
        None
    }
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
