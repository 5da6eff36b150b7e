//! Login: a single-use server nonce, a transcript signed by the device key, all seven
//! layers checked, then the nonce consumed exactly once in the same transaction as the
//! session and the signed intent on the certificate's chain.

use pqbank_db::{
    Challenge, IdentityStore, LoggedEvent, RowWrite, SessionRecord, Signer, Stale, Store,
    StoreError,
};
use pqbank_pki::Fingerprint;
use pqbank_pki::bundle::{self, RecipientPublic, SealRandomness};
use pqbank_pki::chain::ValidChain;
use pqbank_pki::composite::CompositeVerifyingKey;
use pqbank_pki::ext::device_id_hash;
use pqbank_pki::transcript::{Expected, SignedTranscript, Transcript};
use zeroize::Zeroizing;

use crate::service::{at, random};
use crate::{Device, Service, ServiceError};

/// A session's bearer token: only its SHA3-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl SessionToken {
    /// The token's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A session the server opened.
#[derive(Debug)]
pub struct ServedLogin {
    /// The session's secret sealed to the device's delivery key: what the server sends.
    pub sealed: Vec<u8>,
    /// The session's bearer token (kept by the server only as its hash).
    pub token: SessionToken,
    /// The staff member.
    pub staff_id: i64,
    /// The role the certificate carries.
    pub role: pqbank_pki::Role,
    /// A session idle longer than this is ended.
    pub idle_timeout_secs: i64,
}

impl<S: Store> Service<S> {
    /// Issues a login challenge for a certificate on a device.
    pub async fn challenge(
        &self,
        certificate: Fingerprint,
        device_id: &[u8],
        origin: &str,
    ) -> Result<[u8; 32], ServiceError> {
        let nonce = random::<32>()?;
        let now = self.now();
        self.store
            .insert_challenge(&Challenge {
                nonce,
                certificate: *certificate.as_bytes(),
                device_id_hash: device_id_hash(device_id),
                origin: origin.to_owned(),
                issued_at: now,
                expires_at: now + self.config.challenge_ttl_secs,
                consumed_at: None,
            })
            .await?;
        tracing::debug!(certificate = %certificate, origin, "login challenge issued");
        Ok(nonce)
    }

    /// The device side: signs the login transcript for a challenge.
    pub fn sign_transcript(
        &self,
        device: &Device,
        nonce: [u8; 32],
        certificate: Fingerprint,
        origin: &str,
    ) -> Result<SignedTranscript, ServiceError> {
        let transcript = Transcript {
            nonce,
            certificate,
            device_id: device.id.clone(),
            time: self.now(),
            origin: origin.to_owned(),
        };
        transcript
            .sign(device.key(), &random()?)
            .map_err(crate::trace::device_failed)
    }

    /// Checks a signed login and opens a session.
    ///
    /// Everything is verified first (the chain with all seven layers, the challenge, the
    /// transcript's signature); only then is the nonce consumed, in the same transaction
    /// as the session and the signed login intent. A refused attempt leaves the nonce to
    /// its device; a valid transcript opens exactly one session, however many times or
    /// however concurrently it is presented.
    pub async fn login(
        &self,
        certificate: Fingerprint,
        device: &Device,
        origin: &str,
        signed: &SignedTranscript,
    ) -> Result<SessionToken, ServiceError> {
        let sign = device.event_signer();
        let opened = self
            .open_session(certificate, &device.id, origin, signed, &sign)
            .await;
        log_login(certificate, origin, &opened);
        opened.map(|(token, _)| token)
    }

    /// A login at the bank's server: the device signed the transcript on its machine,
    /// `origin` is what the server saw (the peer's address, the declared name beside it),
    /// and the server's key signs the login event, whose payload is the device's signed
    /// transcript.
    pub async fn login_at_server(
        &self,
        certificate: Fingerprint,
        device_id: &[u8],
        origin: &str,
        signed: &SignedTranscript,
    ) -> Result<ServedLogin, ServiceError> {
        let key = self.server_key()?;
        // Only a device the bank knows, with its delivery key, of the certificate's own
        // staff member, gets a session here: the secret is sealed to that key.
        let device = self.store.device(&device_id_hash(device_id)).await?;
        // Before the transcript is checked, every miss (unknown certificate, no staff
        // claim, a number the bank does not hold, bytes that are not the certificate)
        // gets the same answer; only the store's own failures differ.
        let staff = match self.certificate(&certificate).await {
            Ok(cert) => match self.staff_of(&cert).await {
                Err(ServiceError::Store(e)) => Err(ServiceError::Store(e)),
                other => Ok(other.ok()),
            },
            Err(ServiceError::Store(e)) => Err(ServiceError::Store(e)),
            Err(_) => Ok(None),
        };
        let recipient = match (&device, staff) {
            (_, Err(e)) => Err(e),
            (Some(d), Ok(Some(staff))) if staff == d.staff_id => {
                RecipientPublic::from_bytes(&d.kem_recipient).map_err(ServiceError::Certificate)
            }
            _ => Err(ServiceError::Enrolment(
                "this device has no delivery key at the bank for this certificate: enrol it",
            )),
        };
        let recipient = match recipient {
            Ok(recipient) => recipient,
            Err(e) => {
                log_refused(certificate, origin, &e);
                return Err(e);
            }
        };
        let sign = crate::server_key::ServerSigner::new(key, Vec::new());
        let opened = self
            .open_session(certificate, device_id, origin, signed, &sign)
            .await;
        log_login(certificate, origin, &opened);
        let (token, staff_id) = opened?;
        let sealed = bundle::seal(
            &recipient,
            pqbank_api::wire::SESSION_PURPOSE,
            token.as_bytes(),
            SealRandomness {
                kem: random()?,
                x25519: random()?,
            },
        )
        .map_err(crate::trace::device_failed)?;
        // The chain validated a moment ago; its leaf's role is what every call checks.
        let role = self.certificate(&certificate).await?.claims().role;
        Ok(ServedLogin {
            sealed,
            token,
            staff_id,
            role: role.unwrap_or(pqbank_pki::Role::Teller),
            idle_timeout_secs: self.config.idle_timeout_secs,
        })
    }

    /// [`Self::login`]'s checks and writes; returns the token and the staff id.
    async fn open_session(
        &self,
        certificate: Fingerprint,
        device_id: &[u8],
        origin: &str,
        signed: &SignedTranscript,
        sign: Signer<'_>,
    ) -> Result<(SessionToken, i64), ServiceError> {
        let (cert, valid) = self
            .validate_chain(&certificate, device_id, None, &Default::default())
            .await?;
        let claimed = Transcript::from_bytes(&signed.transcript).map_err(ServiceError::Login)?;
        let now = self.now();
        let challenge = self
            .store
            .challenge(&claimed.nonce)
            .await?
            .filter(|c| c.consumed_at.is_none() && c.expires_at >= now)
            .ok_or(ServiceError::ChallengeUsed)?;
        check_transcript(
            &cert,
            certificate,
            device_id,
            origin,
            signed,
            &challenge,
            now,
        )?;
        // Who signs in, and under whom, from the validated certificates themselves: the
        // signed StaffId claim and the chain's issuer, never the table's columns.
        let staff_id = self.staff_of(&cert).await?;
        let pinned = valid
            .path
            .get(1)
            .and_then(|i| valid.crl_numbers.get(i).copied())
            .unwrap_or(0);
        let token = SessionToken(Zeroizing::new(random::<32>()?));
        let id = pqbank_api::session_id(token.as_bytes());
        let session = SessionRecord {
            id,
            certificate: *certificate.as_bytes(),
            staff_id,
            pinned_crl_number: i64::try_from(pinned).unwrap_or(i64::MAX),
            created_at: now,
            last_seen_at: now,
            idle_timeout_secs: self.config.idle_timeout_secs,
            ended_at: None,
            end_reason: None,
        };
        let payload = intent(signed, &valid);
        let committed = commit_login(&self.store, &challenge, &session, &payload, sign).await;
        match committed {
            Ok(_) => Ok((token, staff_id)),
            Err(StoreError::Stale(Stale::Challenge)) => Err(ServiceError::ChallengeUsed),
            Err(e) => Err(e.into()),
        }
    }
}

/// The login's own checks, after the chain's: the challenge is this certificate's and this
/// device's, the transcript is signed by the certificate's key over the challenge, in
/// time, and names the origin the call comes from.
fn check_transcript(
    cert: &pqbank_pki::Certificate,
    certificate: Fingerprint,
    device_id: &[u8],
    origin: &str,
    signed: &SignedTranscript,
    challenge: &Challenge,
    now: i64,
) -> Result<(), ServiceError> {
    if challenge.certificate != *certificate.as_bytes() {
        return Err(ServiceError::Login(pqbank_pki::Error::CertificateMismatch));
    }
    if challenge.device_id_hash != device_id_hash(device_id) {
        return Err(ServiceError::Login(
            pqbank_pki::Error::TranscriptDeviceMismatch,
        ));
    }
    let key = CompositeVerifyingKey::from_bytes(cert.public_key()).map_err(ServiceError::Login)?;
    signed
        .verify(
            &key,
            &Expected {
                nonce: &challenge.nonce,
                certificate,
                device_id,
                origin: Some(&challenge.origin),
                issued_at: at(challenge.issued_at),
                expires_at: at(challenge.expires_at),
                now: at(now),
            },
        )
        .map_err(ServiceError::Login)?;
    if origin != challenge.origin {
        return Err(ServiceError::Login(pqbank_pki::Error::OriginMismatch));
    }
    Ok(())
}

/// The login's intent: the signed transcript (certificate, device, time, origin) and the
/// lineage and authority the chain validated with.
fn intent(signed: &SignedTranscript, valid: &ValidChain) -> Vec<u8> {
    let lineage: Vec<u8> = valid
        .path
        .iter()
        .flat_map(|f| f.as_bytes().to_vec())
        .collect();
    [signed.to_bytes(), lineage].concat()
}

/// The nonce is consumed with the session and its signed intent: one commit.
async fn commit_login<S: IdentityStore>(
    store: &S,
    challenge: &Challenge,
    session: &SessionRecord,
    payload: &[u8],
    sign: Signer<'_>,
) -> Result<(), StoreError> {
    let now = session.created_at;
    store
        .commit_logged(
            &[
                RowWrite::ConsumeChallenge {
                    nonce: &challenge.nonce,
                    certificate: &session.certificate,
                    now,
                },
                RowWrite::Session(session),
            ],
            &[LoggedEvent {
                certificate: session.certificate,
                kind: "login",
                payload,
                created_at: now,
                sign,
            }],
        )
        .await
        .map(|_| ())
}

/// Logs a login's outcome (accepted, or refused with its code and layer).
fn log_login<T>(certificate: Fingerprint, origin: &str, opened: &Result<(T, i64), ServiceError>) {
    match opened {
        Ok((_, staff_id)) => tracing::info!(
            certificate = %certificate,
            staff_id,
            origin,
            "login accepted"
        ),
        Err(e) => log_refused(certificate, origin, e),
    }
}

/// Logs a refused login with its code and layer.
fn log_refused(certificate: Fingerprint, origin: &str, e: &ServiceError) {
    let code = e.code();
    tracing::warn!(
        certificate = %certificate,
        origin,
        code = code.as_str(),
        layer = crate::layer_name(&code),
        "login refused: {e}"
    );
}
