//! The identity tables' statements: certificates, CRLs, login challenges, sessions,
//! enrolment requests, the accountability chains and the sequenced log.

/// The rows an act writes, on an open connection or transaction of the database `$db`:
/// the module `identity_rows` in the invoking crate. `$for_update` locks a chain's head
/// while the next event is appended.
#[doc(hidden)]
#[macro_export]
macro_rules! identity_rows {
    ($db:ty, $for_update:literal) => {
        mod identity_rows {
            use super::{inserted_id, map_err};

            type Conn = <$db as sqlx::Database>::Connection;

            /// Runs one of an act's writes; returns the number of rows it changed.
            async fn execute_in(
                conn: &mut Conn,
                query: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> $crate::Result<u64> {
                query
                    .execute(conn)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err(map_err)
            }

            /// Joins a row's first version to its maker's chain ([`crate::master`]); without
            /// a maker, the row is made unsigned (a benchmark's, or a test's of the ledger
            /// alone) and log verification names it.
            pub(crate) async fn first_version_in(
                conn: &mut Conn,
                kind: &str,
                id: i64,
                contents: &[u8],
                created_at: i64,
                maker: Option<$crate::master::Maker<'_>>,
            ) -> $crate::Result<()> {
                let Some(maker) = maker else {
                    return Ok(());
                };
                let of = $crate::master::VersionOf { id, version: 1 };
                let payload = $crate::master::version_payload(of, contents);
                append_event_in(conn, &maker.certificate, kind, &payload, created_at, maker.sign)
                    .await
                    .map(drop)
            }

            /// Appends the next event of a certificate's chain inside an open transaction:
            /// reads the head (locking it where the backend locks rows), builds and signs
            /// the next event, writes it.
            pub(crate) async fn append_event_in(
                conn: &mut Conn,
                certificate: &$crate::sql::Hash,
                kind: &str,
                payload: &[u8],
                created_at: i64,
                sign: $crate::Signer<'_>,
            ) -> $crate::Result<$crate::EventRecord> {
                let head: Option<$crate::RawEvent> = sqlx::query_as($crate::select_events!(
                    "WHERE certificate_fingerprint = ? ORDER BY seq DESC LIMIT 1",
                    $for_update
                ))
                .bind(&certificate[..])
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
                let head = head.map($crate::RawEvent::decode).transpose()?;
                let mut event = $crate::sql::Event::next(
                    *certificate,
                    head.as_ref().map(|h| (&h.event, &h.hash)),
                    kind,
                    payload.to_vec(),
                    created_at,
                );
                event.server = sign.server();
                if event.server.is_some() {
                    event.request = sign.request().to_vec();
                }
                let hash = event.hash();
                let signature = $crate::sign_event(sign, &hash)?;
                let done = sqlx::query(
                    "INSERT INTO accountability_events (certificate_fingerprint, seq, prev_hash, \
                     event_hash, kind, payload, created_at, signature, server_fingerprint, \
                     request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&certificate[..])
                .bind(i64::try_from(event.seq).unwrap_or(i64::MAX))
                .bind(&event.prev_hash[..])
                .bind(&hash[..])
                .bind(kind)
                .bind(payload)
                .bind(created_at)
                .bind(&signature)
                .bind(event.server.as_ref().map(|s| &s[..]))
                .bind(event.server.is_some().then_some(&event.request[..]))
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok($crate::EventRecord {
                    id: inserted_id(&done),
                    event,
                    hash,
                    signature,
                })
            }

            /// One of an act's rows, on an open transaction.
            pub(crate) async fn write_row_in(
                conn: &mut Conn,
                write: &$crate::RowWrite<'_>,
            ) -> $crate::Result<()> {
                match write {
                    $crate::RowWrite::Certificate(r) => insert_certificate_in(conn, r).await,
                    $crate::RowWrite::Crl(r) => insert_crl_in(conn, r).await,
                    $crate::RowWrite::Revocation(r) => insert_revocation_in(conn, r).await,
                    $crate::RowWrite::Checkpoint(c) => insert_checkpoint_in(conn, c).await,
                    $crate::RowWrite::EnrolmentDecision(d) => decide_enrolment_in(conn, d).await,
                    $crate::RowWrite::ConsumeChallenge {
                        nonce,
                        certificate,
                        now,
                    } => consume_challenge_in(conn, nonce, certificate, *now).await,
                    $crate::RowWrite::Session(s) => insert_session_in(conn, s).await,
                    $crate::RowWrite::Device(d) => insert_device_in(conn, d).await,
                }
            }

            /// Inserts a device row on an open connection or transaction.
            pub(crate) async fn insert_device_in(
                conn: &mut Conn,
                d: &$crate::DeviceRecord,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "INSERT INTO devices (device_id_hash, staff_id, label, kem_recipient, \
                     created_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&d.device_id_hash[..])
                .bind(d.staff_id)
                .bind(&d.label)
                .bind(&d.kem_recipient)
                .bind(d.created_at);
                execute_in(conn, query).await.map(drop)
            }

            /// Inserts a session row on an open connection or transaction.
            pub(crate) async fn insert_session_in(
                conn: &mut Conn,
                s: &$crate::SessionRecord,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "INSERT INTO sessions (id, certificate_fingerprint, staff_id, \
                     pinned_crl_number, created_at, last_seen_at, idle_timeout_secs, ended_at, \
                     end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                )
                .bind(&s.id[..])
                .bind(&s.certificate[..])
                .bind(s.staff_id)
                .bind(s.pinned_crl_number)
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.idle_timeout_secs);
                execute_in(conn, query).await.map(drop)
            }

            /// `insert_crl` on an open connection or transaction.
            pub(crate) async fn insert_crl_in(
                conn: &mut Conn,
                r: &$crate::CrlRecord,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "INSERT INTO crls (issuer_fingerprint, crl_number, fingerprint, der, \
                     this_update, next_update, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&r.issuer[..])
                .bind(r.number)
                .bind(&r.fingerprint[..])
                .bind(&r.der)
                .bind(r.this_update)
                .bind(r.next_update)
                .bind(r.created_at);
                execute_in(conn, query).await.map(drop)
            }

            /// `insert_revocation` on an open connection or transaction.
            async fn insert_revocation_in(
                conn: &mut Conn,
                r: &$crate::RevocationRecord,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "INSERT INTO revocations (certificate_fingerprint, reason, revoked_at, \
                     crl_number, revoked_by, signed_bytes, signature, signer_fingerprint) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&r.certificate[..])
                .bind(&r.reason)
                .bind(r.revoked_at)
                .bind(r.crl_number)
                .bind(r.revoked_by)
                .bind(&r.signed_bytes)
                .bind(&r.signature)
                .bind(&r.signer[..]);
                execute_in(conn, query).await.map(drop)
            }

            /// Consumes a challenge on an open transaction: one conditional UPDATE, so the
            /// database lets exactly one act flip `consumed_at`; the loser's transaction
            /// rolls back.
            async fn consume_challenge_in(
                conn: &mut Conn,
                nonce: &$crate::sql::Hash,
                certificate: &$crate::sql::Hash,
                now: i64,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "UPDATE login_challenges SET consumed_at = ? WHERE nonce = ? \
                     AND certificate_fingerprint = ? AND consumed_at IS NULL AND expires_at >= ?",
                )
                .bind(now)
                .bind(&nonce[..])
                .bind(&certificate[..])
                .bind(now);
                let n = execute_in(conn, query).await?;
                if n == 1 {
                    Ok(())
                } else {
                    Err($crate::StoreError::Stale($crate::Stale::Challenge))
                }
            }

            /// `insert_certificate` on an open connection or transaction.
            pub(crate) async fn insert_certificate_in(
                conn: &mut Conn,
                r: &$crate::CertificateRecord,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
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
                .bind(r.created_at);
                execute_in(conn, query).await.map(drop)
            }

            /// Stores a checkpoint on an open transaction.
            async fn insert_checkpoint_in(
                conn: &mut Conn,
                c: &$crate::CheckpointRecord,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "INSERT INTO checkpoints (tree_size, root_hash, created_at, signed_bytes, \
                     signature, signer_fingerprint) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(c.tree_size)
                .bind(&c.root[..])
                .bind(c.created_at)
                .bind(&c.signed_bytes)
                .bind(&c.signature)
                .bind(&c.signer[..]);
                execute_in(conn, query).await.map(drop)
            }

            /// Decides a pending enrolment request on an open transaction: exactly once.
            async fn decide_enrolment_in(
                conn: &mut Conn,
                d: &$crate::EnrolmentDecision,
            ) -> $crate::Result<()> {
                let query = sqlx::query(
                    "UPDATE enrolment_requests SET status = ?, decided_by = ?, decided_at = ?, \
                     certificate_fingerprint = ?, bundle = ? WHERE id = ? AND status = 'pending'",
                )
                .bind(&d.status)
                .bind(d.decided_by)
                .bind(d.decided_at)
                .bind(d.certificate.map(|h| h.to_vec()))
                .bind(d.bundle.as_deref())
                .bind(d.id);
                let n = execute_in(conn, query).await?;
                if n == 1 {
                    Ok(())
                } else {
                    Err($crate::StoreError::Stale($crate::Stale::Enrolment))
                }
            }

            /// Gives every committed, unsequenced event the next log index under the log
            /// head's lock (where the backend locks rows); returns the new log size.
            pub(crate) async fn sequence_events_in(conn: &mut Conn) -> $crate::Result<u64> {
                let head = concat!("SELECT size FROM log_head WHERE id = 1", $for_update);
                let size: i64 = sqlx::query_scalar(head)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)?;
                let pending: Vec<i64> = sqlx::query_scalar(
                    "SELECT e.id FROM accountability_events e \
                     LEFT JOIN log_entries l ON l.event_id = e.id \
                     WHERE l.event_id IS NULL ORDER BY e.id",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
                for (i, event) in pending.iter().enumerate() {
                    sqlx::query("INSERT INTO log_entries (log_index, event_id) VALUES (?, ?)")
                        .bind(size + i as i64)
                        .bind(event)
                        .execute(&mut *conn)
                        .await
                        .map_err(map_err)?;
                }
                let new_size = size + pending.len() as i64;
                sqlx::query("UPDATE log_head SET size = ? WHERE id = 1")
                    .bind(new_size)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                Ok(u64::try_from(new_size).unwrap_or(0))
            }
        }
    };
}

/// Implements [`IdentityStore`](crate::IdentityStore) for `$store` (a struct with a
/// `pool` field), over the module `identity_rows`.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_identity_store {
    ($store:ty) => {
        impl $crate::IdentityStore for $store {
            async fn insert_certificate(
                &self,
                r: &$crate::CertificateRecord,
            ) -> $crate::Result<()> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                identity_rows::insert_certificate_in(&mut conn, r).await
            }

            async fn certificate(
                &self,
                fingerprint: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::CertificateRecord>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::certificate_in(&mut conn, fingerprint).await
            }

            async fn insert_crl(&self, r: &$crate::CrlRecord) -> $crate::Result<()> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                identity_rows::insert_crl_in(&mut conn, r).await
            }

            async fn latest_crl(
                &self,
                issuer: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::CrlRecord>> {
                let raw: Option<$crate::RawCrl> = sqlx::query_as(
                    "SELECT issuer_fingerprint, crl_number, fingerprint, der, this_update, \
                     next_update, created_at FROM crls WHERE issuer_fingerprint = ? \
                     ORDER BY crl_number DESC LIMIT 1",
                )
                .bind(&issuer[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                raw.map($crate::RawCrl::decode).transpose()
            }

            async fn insert_challenge(&self, c: &$crate::Challenge) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO login_challenges (nonce, certificate_fingerprint, \
                     device_id_hash, origin, issued_at, expires_at, consumed_at) \
                     VALUES (?, ?, ?, ?, ?, ?, NULL)",
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

            async fn challenge(
                &self,
                nonce: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::Challenge>> {
                let raw: Option<$crate::RawChallenge> =
                    sqlx::query_as($crate::sql::CHALLENGE_BY_NONCE)
                        .bind(&nonce[..])
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                raw.map($crate::RawChallenge::decode).transpose()
            }

            async fn consume_challenge(
                &self,
                nonce: &$crate::sql::Hash,
                now: i64,
            ) -> $crate::Result<Option<$crate::Challenge>> {
                // One conditional UPDATE: the database lets exactly one caller flip
                // consumed_at.
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
                let raw: $crate::RawChallenge = sqlx::query_as($crate::sql::CHALLENGE_BY_NONCE)
                    .bind(&nonce[..])
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                raw.decode().map(Some)
            }

            async fn insert_session(&self, s: &$crate::SessionRecord) -> $crate::Result<()> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                identity_rows::insert_session_in(&mut conn, s).await
            }

            async fn session(
                &self,
                id: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::SessionRecord>> {
                let raw: Option<$crate::RawSession> = sqlx::query_as(
                    "SELECT id, certificate_fingerprint, staff_id, pinned_crl_number, created_at, \
                     last_seen_at, idle_timeout_secs, ended_at, end_reason FROM sessions \
                     WHERE id = ?",
                )
                .bind(&id[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                raw.map($crate::RawSession::decode).transpose()
            }

            async fn touch_session(
                &self,
                id: &$crate::sql::Hash,
                now: i64,
            ) -> $crate::Result<bool> {
                let n = sqlx::query(
                    "UPDATE sessions SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL",
                )
                .bind(now)
                .bind(&id[..])
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
                Ok(n == 1)
            }

            async fn claim_counter(
                &self,
                id: &$crate::sql::Hash,
                now: i64,
                counter: i64,
            ) -> $crate::Result<bool> {
                let n = sqlx::query(
                    "UPDATE sessions SET last_seen_at = ?, last_counter = ? \
                     WHERE id = ? AND ended_at IS NULL AND last_counter < ?",
                )
                .bind(now)
                .bind(counter)
                .bind(&id[..])
                .bind(counter)
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
                Ok(n == 1)
            }

            async fn end_session(
                &self,
                id: &$crate::sql::Hash,
                now: i64,
                reason: &str,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE sessions SET ended_at = ?, end_reason = ? \
                     WHERE id = ? AND ended_at IS NULL",
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
                certificate: &$crate::sql::Hash,
                kind: &str,
                payload: &[u8],
                created_at: i64,
                sign: $crate::Signer<'_>,
            ) -> $crate::Result<$crate::EventRecord> {
                $crate::in_write_tx!(self, |tx| identity_rows::append_event_in(
                    tx,
                    certificate,
                    kind,
                    payload,
                    created_at,
                    sign
                )
                .await)
            }

            async fn events(
                &self,
                certificate: &$crate::sql::Hash,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::events_in(&mut conn, certificate).await
            }

            async fn insert_device(&self, d: &$crate::DeviceRecord) -> $crate::Result<()> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                identity_rows::insert_device_in(&mut conn, d).await
            }

            async fn device(
                &self,
                device_id_hash: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::DeviceRecord>> {
                let row: Option<(Vec<u8>, i64, String, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT device_id_hash, staff_id, label, kem_recipient, created_at \
                     FROM devices WHERE device_id_hash = ?",
                )
                .bind(&device_id_hash[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.map(|(hash, staff_id, label, kem_recipient, created_at)| {
                    Ok($crate::DeviceRecord {
                        device_id_hash: <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| {
                            $crate::StoreError::Database("a device id hash is not 32 bytes".into())
                        })?,
                        staff_id,
                        label,
                        kem_recipient,
                        created_at,
                    })
                })
                .transpose()
            }

            async fn insert_enrolment(&self, r: &$crate::EnrolmentRecord) -> $crate::Result<i64> {
                sqlx::query(
                    "INSERT INTO enrolment_requests (csr_fingerprint, csr_der, kem_recipient, \
                     short_code, staff_id, requested_role, status, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
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
                .map(|done| inserted_id(&done))
                .map_err(map_err)
            }

            async fn enrolment(&self, id: i64) -> $crate::Result<Option<$crate::EnrolmentRecord>> {
                let raw: Option<$crate::RawEnrolment> =
                    sqlx::query_as($crate::select_enrolments!("WHERE id = ?"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                raw.map($crate::RawEnrolment::decode).transpose()
            }

            async fn sequence_events(&self) -> $crate::Result<u64> {
                $crate::in_write_tx!(self, |tx| identity_rows::sequence_events_in(tx).await)
            }

            async fn log_leaves(&self, size: u64) -> $crate::Result<Vec<$crate::sql::Hash>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::log_leaves_in(&mut conn, size).await
            }

            async fn log_index(&self, event_id: i64) -> $crate::Result<Option<u64>> {
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
                writes: &[$crate::RowWrite<'_>],
                events: &[$crate::LoggedEvent<'_>],
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                $crate::in_write_tx!(self, |tx| {
                    for write in writes {
                        identity_rows::write_row_in(tx, write).await?;
                    }
                    let mut logged = Vec::with_capacity(events.len());
                    for e in events {
                        logged.push(
                            identity_rows::append_event_in(
                                tx,
                                &e.certificate,
                                e.kind,
                                e.payload,
                                e.created_at,
                                e.sign,
                            )
                            .await?,
                        );
                    }
                    Ok::<_, $crate::StoreError>(logged)
                })
            }

            async fn signed_rows(
                &self,
                table: &'static str,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::signed_rows_in(&mut conn, table).await
            }

            async fn checkpoints(&self) -> $crate::Result<Vec<$crate::CheckpointRecord>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::checkpoints_in(&mut conn).await
            }

            async fn event_certificates(&self) -> $crate::Result<Vec<$crate::sql::Hash>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::event_certificates_in(&mut conn).await
            }

            async fn event_hashes(&self) -> $crate::Result<Vec<$crate::sql::Hash>> {
                let rows: Vec<Vec<u8>> =
                    sqlx::query_scalar("SELECT event_hash FROM accountability_events ORDER BY id")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                $crate::sql::fixed_hashes(&rows, "event hash length")
            }
        }
    };
}

/// Runs `$body` (which has the open transaction's connection as `$tx`) in a write
/// transaction of `$store`, commits, and retries the whole of it on a transient conflict.
#[doc(hidden)]
#[macro_export]
macro_rules! in_write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $crate::flows::with_retry(&$crate::RetryPolicy::default(), || async {
            let mut open = begin_write(&$store.pool).await?;
            let $tx = &mut *open;
            let out = $body?;
            open.commit().await.map_err(map_err)?;
            Ok(out)
        })
        .await
    };
}
