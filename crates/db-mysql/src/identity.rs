//! The identity tables on MySQL / MariaDB.

use pqbank_audit::Hash;
use pqbank_audit::chain::Event;
use pqbank_db::flows::with_retry;
use pqbank_db::{
    CertificateRecord, Challenge, CheckpointRecord, CrlRecord, EnrolmentDecision, EnrolmentRecord,
    EventRecord, IdentityStore, LoggedEvent, RawCertificate, RawChallenge, RawCheckpoint, RawCrl,
    RawEnrolment, RawEvent, RawSession, Result, RetryPolicy, RevocationRecord, RowWrite,
    SessionRecord, SignedRow, Signer, Stale, StoreError, hashes,
};

use crate::{MySqlStore, map_err};

impl IdentityStore for MySqlStore {
    async fn insert_certificate(&self, r: &CertificateRecord) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_certificate_in(&mut conn, r).await
    }

    async fn certificate(&self, fingerprint: &Hash) -> Result<Option<CertificateRecord>> {
        let raw: Option<RawCertificate> = sqlx::query_as(
            "SELECT fingerprint, der, serial, issuer_fingerprint, replaces_fingerprint, staff_id, \
             role, not_before, not_after, created_at FROM certificates WHERE fingerprint = ?",
        )
        .bind(&fingerprint[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        raw.map(RawCertificate::decode).transpose()
    }

    async fn insert_crl(&self, r: &CrlRecord) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_crl_in(&mut conn, r).await
    }

    async fn latest_crl(&self, issuer: &Hash) -> Result<Option<CrlRecord>> {
        let raw: Option<RawCrl> = sqlx::query_as(
            "SELECT issuer_fingerprint, crl_number, fingerprint, der, this_update, next_update, \
             created_at FROM crls WHERE issuer_fingerprint = ? ORDER BY crl_number DESC LIMIT 1",
        )
        .bind(&issuer[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        raw.map(RawCrl::decode).transpose()
    }

    async fn insert_challenge(&self, c: &Challenge) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_challenges (nonce, certificate_fingerprint, device_id_hash, origin, \
             issued_at, expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
        )
        .bind(&c.nonce[..])
        .bind(&c.certificate[..])
        .bind(&c.device_id_hash[..])
        .bind(&c.origin)
        .bind(c.issued_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn challenge(&self, nonce: &Hash) -> Result<Option<Challenge>> {
        let raw: Option<RawChallenge> = sqlx::query_as(
            "SELECT nonce, certificate_fingerprint, device_id_hash, origin, issued_at, expires_at, \
             consumed_at FROM login_challenges WHERE nonce = ?",
        )
        .bind(&nonce[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        raw.map(RawChallenge::decode).transpose()
    }

    async fn consume_challenge(&self, nonce: &Hash, now: i64) -> Result<Option<Challenge>> {
        // One conditional UPDATE: the database lets exactly one caller flip consumed_at.
        let won = sqlx::query(
            "UPDATE login_challenges SET consumed_at = ? \
             WHERE nonce = ? AND consumed_at IS NULL AND expires_at >= ?",
        )
        .bind(now)
        .bind(&nonce[..])
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        if !won {
            return Ok(None);
        }
        let raw: RawChallenge = sqlx::query_as(
            "SELECT nonce, certificate_fingerprint, device_id_hash, origin, issued_at, expires_at, \
             consumed_at FROM login_challenges WHERE nonce = ?",
        )
        .bind(&nonce[..])
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        raw.decode().map(Some)
    }

    async fn insert_session(&self, s: &SessionRecord) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_session_in(&mut conn, s).await
    }

    async fn session(&self, id: &Hash) -> Result<Option<SessionRecord>> {
        let raw: Option<RawSession> = sqlx::query_as(
            "SELECT id, certificate_fingerprint, staff_id, pinned_crl_number, created_at, \
             last_seen_at, idle_timeout_secs, ended_at, end_reason FROM sessions WHERE id = ?",
        )
        .bind(&id[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        raw.map(RawSession::decode).transpose()
    }

    async fn touch_session(&self, id: &Hash, now: i64) -> Result<bool> {
        let n =
            sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL")
                .bind(now)
                .bind(&id[..])
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
        Ok(n == 1)
    }

    async fn end_session(&self, id: &Hash, now: i64, reason: &str) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(&id[..])
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn append_event(
        &self,
        certificate: &Hash,
        kind: &str,
        payload: &[u8],
        created_at: i64,
        sign: Signer<'_>,
    ) -> Result<EventRecord> {
        with_retry(&RetryPolicy::default(), || async {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let record =
                append_event_in(&mut tx, certificate, kind, payload, created_at, sign).await?;
            tx.commit().await.map_err(map_err)?;
            Ok(record)
        })
        .await
    }

    async fn events(&self, certificate: &Hash) -> Result<Vec<EventRecord>> {
        let raw: Vec<RawEvent> = sqlx::query_as(
            "SELECT id, certificate_fingerprint, seq, prev_hash, event_hash, kind, payload, \
             created_at, signature FROM accountability_events WHERE certificate_fingerprint = ? \
             ORDER BY seq",
        )
        .bind(&certificate[..])
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        raw.into_iter().map(RawEvent::decode).collect()
    }

    async fn insert_enrolment(&self, r: &EnrolmentRecord) -> Result<i64> {
        sqlx::query(
            "INSERT INTO enrolment_requests (csr_fingerprint, csr_der, kem_recipient, short_code, \
             staff_id, requested_role, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
        )
        .bind(&r.csr_fingerprint[..])
        .bind(&r.csr_der)
        .bind(&r.kem_recipient)
        .bind(&r.short_code)
        .bind(r.staff_id)
        .bind(&r.requested_role)
        .bind(r.created_at)
        .execute(&self.pool)
        .await
        .map(|r| r.last_insert_id() as i64)
        .map_err(map_err)
    }

    async fn enrolment(&self, id: i64) -> Result<Option<EnrolmentRecord>> {
        let raw: Option<RawEnrolment> = sqlx::query_as(
            "SELECT id, csr_fingerprint, csr_der, kem_recipient, short_code, staff_id, requested_role, \
             status, decided_by, decided_at, certificate_fingerprint, bundle, created_at \
             FROM enrolment_requests WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        raw.map(RawEnrolment::decode).transpose()
    }

    async fn sequence_events(&self) -> Result<u64> {
        with_retry(&RetryPolicy::default(), || async {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let size: i64 = sqlx::query_scalar("SELECT size FROM log_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
            let pending: Vec<i64> = sqlx::query_scalar(
                "SELECT e.id FROM accountability_events e LEFT JOIN log_entries l ON l.event_id = e.id \
                 WHERE l.event_id IS NULL ORDER BY e.id",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            for (i, event) in pending.iter().enumerate() {
                sqlx::query("INSERT INTO log_entries (log_index, event_id) VALUES (?, ?)")
                    .bind(size + i as i64)
                    .bind(event)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            let new_size = size + pending.len() as i64;
            sqlx::query("UPDATE log_head SET size = ? WHERE id = 1")
                .bind(new_size)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(u64::try_from(new_size).unwrap_or(0))
        })
        .await
    }

    async fn log_leaves(&self, size: u64) -> Result<Vec<Hash>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT e.event_hash FROM log_entries l JOIN accountability_events e ON e.id = l.event_id \
             WHERE l.log_index < ? ORDER BY l.log_index",
        )
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        hashes(&rows)
    }

    async fn log_index(&self, event_id: i64) -> Result<Option<u64>> {
        let index: Option<i64> =
            sqlx::query_scalar("SELECT log_index FROM log_entries WHERE event_id = ?")
                .bind(event_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(index.and_then(|i| u64::try_from(i).ok()))
    }

    async fn commit_logged(
        &self,
        writes: &[RowWrite<'_>],
        events: &[LoggedEvent<'_>],
    ) -> Result<Vec<EventRecord>> {
        with_retry(&RetryPolicy::default(), || async {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            for write in writes {
                write_row_in(&mut tx, write).await?;
            }
            let mut logged = Vec::with_capacity(events.len());
            for e in events {
                logged.push(
                    append_event_in(
                        &mut tx,
                        &e.certificate,
                        e.kind,
                        e.payload,
                        e.created_at,
                        e.sign,
                    )
                    .await?,
                );
            }
            tx.commit().await.map_err(map_err)?;
            Ok(logged)
        })
        .await
    }

    async fn signed_rows(&self, table: &'static str) -> Result<Vec<SignedRow>> {
        let query = match table {
            "approvals" => {
                "SELECT id, COALESCE(approver_staff_id, 0) AS staff_id, transfer_id, drawer_event_id, decision, \
                 created_at, COALESCE(signed_bytes, X'') AS signed_bytes, COALESCE(signature, X'') AS signature, \
                 COALESCE(signer_fingerprint, X'') AS signer_fingerprint FROM approvals ORDER BY id"
            }
            "drawer_events" => {
                "SELECT id, teller_staff_id AS staff_id, signed_bytes, signature, signer_fingerprint \
                 FROM drawer_events ORDER BY id"
            }
            "revocations" => {
                "SELECT id, revoked_by AS staff_id, certificate_fingerprint, reason, crl_number, \
                 revoked_at AS created_at, signed_bytes, signature, signer_fingerprint \
                 FROM revocations ORDER BY id"
            }
            _ => return Err(pqbank_db::StoreError::NotFound("signed table")),
        };
        sqlx::query_as(query)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn checkpoints(&self) -> Result<Vec<CheckpointRecord>> {
        let raw: Vec<RawCheckpoint> = sqlx::query_as(
            "SELECT tree_size, root_hash, created_at, signed_bytes, signature, signer_fingerprint \
             FROM checkpoints ORDER BY tree_size",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        raw.into_iter().map(RawCheckpoint::decode).collect()
    }

    async fn event_certificates(&self) -> Result<Vec<Hash>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT DISTINCT certificate_fingerprint FROM accountability_events ORDER BY certificate_fingerprint",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|h| {
                h.as_slice()
                    .try_into()
                    .map_err(|_| pqbank_db::StoreError::Database("fingerprint length".into()))
            })
            .collect()
    }

    async fn event_hashes(&self) -> Result<Vec<Hash>> {
        let rows: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT event_hash FROM accountability_events ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|h| {
                h.as_slice()
                    .try_into()
                    .map_err(|_| pqbank_db::StoreError::Database("event hash length".into()))
            })
            .collect()
    }
}

/// Appends the next event of a certificate's chain inside an open transaction: reads the
/// head (locking it where the backend locks rows), builds and signs the next event,
/// writes it.
pub(crate) async fn append_event_in(
    conn: &mut sqlx::MySqlConnection,
    certificate: &Hash,
    kind: &str,
    payload: &[u8],
    created_at: i64,
    sign: Signer<'_>,
) -> Result<EventRecord> {
    let head: Option<RawEvent> = sqlx::query_as(
        "SELECT id, certificate_fingerprint, seq, prev_hash, event_hash, kind, payload, \
             created_at, signature FROM accountability_events WHERE certificate_fingerprint = ? \
             ORDER BY seq DESC LIMIT 1 FOR UPDATE",
    )
    .bind(&certificate[..])
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    let head = head.map(RawEvent::decode).transpose()?;
    let event = Event::next(
        *certificate,
        head.as_ref().map(|h| (&h.event, &h.hash)),
        kind,
        payload.to_vec(),
        created_at,
    );
    let hash = event.hash();
    let signature = pqbank_db::sign_event(sign, &hash)?;
    let id = sqlx::query(
        "INSERT INTO accountability_events (certificate_fingerprint, seq, prev_hash, event_hash, \
             kind, payload, created_at, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&certificate[..])
    .bind(i64::try_from(event.seq).unwrap_or(i64::MAX))
    .bind(&event.prev_hash[..])
    .bind(&hash[..])
    .bind(kind)
    .bind(payload)
    .bind(created_at)
    .bind(&signature)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .last_insert_id() as i64;
    Ok(EventRecord {
        id,
        event,
        hash,
        signature,
    })
}

/// Inserts a session row on an open connection or transaction.
async fn insert_session_in(conn: &mut sqlx::MySqlConnection, s: &SessionRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, certificate_fingerprint, staff_id, pinned_crl_number, \
         created_at, last_seen_at, idle_timeout_secs, ended_at, end_reason) \
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
    )
    .bind(&s.id[..])
    .bind(&s.certificate[..])
    .bind(s.staff_id)
    .bind(s.pinned_crl_number)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.idle_timeout_secs)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// `insert_crl` on an open connection or transaction.
async fn insert_crl_in(conn: &mut sqlx::MySqlConnection, r: &CrlRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO crls (issuer_fingerprint, crl_number, fingerprint, der, this_update, \
         next_update, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.issuer[..])
    .bind(r.number)
    .bind(&r.fingerprint[..])
    .bind(&r.der)
    .bind(r.this_update)
    .bind(r.next_update)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// `insert_revocation` on an open connection or transaction.
async fn insert_revocation_in(
    conn: &mut sqlx::MySqlConnection,
    r: &RevocationRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO revocations (certificate_fingerprint, reason, revoked_at, crl_number, revoked_by, \
         signed_bytes, signature, signer_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.certificate[..])
    .bind(&r.reason)
    .bind(r.revoked_at)
    .bind(r.crl_number)
    .bind(r.revoked_by)
    .bind(&r.signed_bytes)
    .bind(&r.signature)
    .bind(&r.signer[..])
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// One of an act's rows, on an open transaction.
async fn write_row_in(conn: &mut sqlx::MySqlConnection, write: &RowWrite<'_>) -> Result<()> {
    match write {
        RowWrite::Certificate(r) => insert_certificate_in(conn, r).await,
        RowWrite::Crl(r) => insert_crl_in(conn, r).await,
        RowWrite::Revocation(r) => insert_revocation_in(conn, r).await,
        RowWrite::Checkpoint(c) => insert_checkpoint_in(conn, c).await,
        RowWrite::EnrolmentDecision(d) => decide_enrolment_in(conn, d).await,
        RowWrite::ConsumeChallenge {
            nonce,
            certificate,
            now,
        } => consume_challenge_in(conn, nonce, certificate, *now).await,
        RowWrite::Session(s) => insert_session_in(conn, s).await,
    }
}

/// Consumes a challenge on an open transaction: one conditional UPDATE, so the database
/// lets exactly one act flip `consumed_at`; the loser's transaction rolls back.
async fn consume_challenge_in(
    conn: &mut sqlx::MySqlConnection,
    nonce: &Hash,
    certificate: &Hash,
    now: i64,
) -> Result<()> {
    let n = sqlx::query(
        "UPDATE login_challenges SET consumed_at = ? WHERE nonce = ? \
         AND certificate_fingerprint = ? AND consumed_at IS NULL AND expires_at >= ?",
    )
    .bind(now)
    .bind(&nonce[..])
    .bind(&certificate[..])
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale(Stale::Challenge))
    }
}

/// `insert_certificate` on an open connection or transaction.
async fn insert_certificate_in(
    conn: &mut sqlx::MySqlConnection,
    r: &CertificateRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO certificates (fingerprint, der, serial, issuer_fingerprint, \
         replaces_fingerprint, staff_id, role, not_before, not_after, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.fingerprint[..])
    .bind(&r.der)
    .bind(&r.serial)
    .bind(r.issuer.map(|h| h.to_vec()))
    .bind(r.replaces.map(|h| h.to_vec()))
    .bind(r.staff_id)
    .bind(&r.role)
    .bind(r.not_before)
    .bind(r.not_after)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Stores a checkpoint on an open transaction.
async fn insert_checkpoint_in(
    conn: &mut sqlx::MySqlConnection,
    c: &CheckpointRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO checkpoints (tree_size, root_hash, created_at, signed_bytes, signature, \
         signer_fingerprint) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(c.tree_size)
    .bind(&c.root[..])
    .bind(c.created_at)
    .bind(&c.signed_bytes)
    .bind(&c.signature)
    .bind(&c.signer[..])
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Decides a pending enrolment request on an open transaction: exactly once.
async fn decide_enrolment_in(
    conn: &mut sqlx::MySqlConnection,
    d: &EnrolmentDecision,
) -> Result<()> {
    let n = sqlx::query(
        "UPDATE enrolment_requests SET status = ?, decided_by = ?, decided_at = ?, \
         certificate_fingerprint = ?, bundle = ? WHERE id = ? AND status = 'pending'",
    )
    .bind(&d.status)
    .bind(d.decided_by)
    .bind(d.decided_at)
    .bind(d.certificate.map(|h| h.to_vec()))
    .bind(d.bundle.as_deref())
    .bind(d.id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale(Stale::Enrolment))
    }
}
