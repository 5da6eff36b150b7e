//! Signed requests, the server's gate (`Service::authorise_request`), on both backends:
//! a good request passes once; a replayed, reordered, altered, unsigned, wrongly signed
//! or stale one, or one of another device, is refused with its code and writes nothing;
//! a revoked certificate's next request ends its session.

use pqbank_api::{Request, RequestHeader, Route, body_hash, decode};
use pqbank_pki::{RevocationReason, Role};
use pqbank_service::demo::{self, DemoPerson};
use pqbank_service::{CLOCK_SKEW_MAX_SECS, Caller, Service, ServiceError, SessionToken};
use pqbank_tests::{Raw, on_every_backend};
use sha3::{Digest as _, Sha3_256};

/// A header for `who`'s session, signed by `signer`'s device.
struct Signed {
    header: Vec<u8>,
    signature: Vec<u8>,
    body: Vec<u8>,
    route: Route,
}

impl Signed {
    fn new(
        signer: &DemoPerson,
        device_id: &[u8],
        token: &SessionToken,
        route: Route,
        counter: u64,
        client_time: i64,
    ) -> Self {
        let body = format!("{{\"counter\":{counter}}}").into_bytes();
        let header = RequestHeader {
            route,
            session: Sha3_256::digest(token.as_bytes()).into(),
            device_id: device_id.to_vec(),
            counter,
            client_time,
            body_hash: body_hash(&body),
        }
        .to_bytes()
        .unwrap();
        let signature = signer
            .device
            .sign_act(&RequestHeader::digest(&header))
            .unwrap();
        Self {
            header,
            signature,
            body,
            route,
        }
    }

    fn request(&self) -> Request<'_> {
        decode(self.route, &self.header, &self.signature, &self.body).unwrap()
    }
}

/// What a refused request must leave as it was: events, transfers, the sessions' ends,
/// and their counters (none above 5, the counter of the one request that passed).
async fn written<S: Raw>(store: &S) -> (i64, i64, i64, i64) {
    (
        store.count("accountability_events").await,
        store.count("transfers").await,
        store.count("sessions WHERE ended_at IS NOT NULL").await,
        store.count("sessions WHERE last_counter > 5").await,
    )
}

async fn passes<S: pqbank_db::Store>(service: &Service<S>, s: &Signed) -> Caller {
    service.authorise_request(&s.request()).await.unwrap()
}

async fn refused<S: pqbank_db::Store>(service: &Service<S>, s: &Signed) -> String {
    service
        .authorise_request(&s.request())
        .await
        .map(|_| ())
        .unwrap_err()
        .code()
}

async fn signed_requests<S: pqbank_db::Store + Raw + Clone>(store: S) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store.clone(), [9; 32], 3, 0, now)
        .await
        .unwrap();
    let (tom, tara) = (&bank.tellers[0], &bank.tellers[1]);
    let token = demo::login(&service, tom).await.unwrap();
    let at = |counter| {
        Signed::new(
            tom,
            &tom.device.id,
            &token,
            Route::TransferPost,
            counter,
            now,
        )
    };

    // A good request passes, as the certificate's role.
    let first = at(5);
    let caller = passes(&service, &first).await;
    assert_eq!((caller.staff_id, caller.role), (tom.staff_id, Role::Teller));
    let before = written(&store).await;

    // The same request again, and an older counter, are refused and change nothing.
    assert_eq!(refused(&service, &first).await, "request.replayed");
    assert_eq!(refused(&service, &at(4)).await, "request.replayed");
    assert_eq!(refused(&service, &at(5)).await, "request.replayed");

    // Tara's key over Tom's session, Tom's header signed by Tara, a signature of the
    // right size that is not one: refused as not the certificate's device.
    let hers = Signed::new(tara, &tara.device.id, &token, Route::TransferPost, 6, now);
    assert_eq!(
        refused(&service, &hers).await,
        "certificate.device_mismatch"
    );
    let mut forged = at(6);
    forged.signature =
        Signed::new(tara, &tom.device.id, &token, Route::TransferPost, 6, now).signature;
    assert_eq!(
        refused(&service, &forged).await,
        "certificate.device_mismatch"
    );
    forged.signature = vec![0; pqbank_api::SIGNATURE_LEN];
    assert_eq!(
        refused(&service, &forged).await,
        "certificate.device_mismatch"
    );

    // A clock too far off either way.
    let late = Signed::new(
        tom,
        &tom.device.id,
        &token,
        Route::TransferPost,
        7,
        now - CLOCK_SKEW_MAX_SECS - 5,
    );
    assert_eq!(refused(&service, &late).await, "request.stale");
    let early = Signed::new(
        tom,
        &tom.device.id,
        &token,
        Route::TransferPost,
        7,
        now + CLOCK_SKEW_MAX_SECS + 5,
    );
    assert_eq!(refused(&service, &early).await, "request.stale");

    // A teller's request for a manager's route: refused by the role.
    let approve = Signed::new(tom, &tom.device.id, &token, Route::TransferResolve, 7, now);
    assert_eq!(
        refused(&service, &approve).await,
        "forbidden.action_not_allowed"
    );
    // Before any signature is checked: an altered body, a missing signature, a header
    // for another route.
    // The next counter after the one that passed: no refusal claimed it.
    let good = at(6);
    let mut body = good.body.clone();
    body.push(b' ');
    let code = |r: Result<Request<'_>, pqbank_api::RequestError>| r.unwrap_err().code.to_string();
    assert_eq!(
        code(decode(good.route, &good.header, &good.signature, &body)),
        "request.body_altered"
    );
    assert_eq!(
        code(decode(good.route, &good.header, &[], &good.body)),
        "request.unsigned"
    );
    assert_eq!(
        code(decode(
            Route::Drawer,
            &good.header,
            &good.signature,
            &good.body
        )),
        "request.route_mismatch"
    );
    assert_eq!(written(&store).await, before, "refusals wrote nothing");

    // The session survived every refusal: the next counter passes.
    passes(&service, &good).await;

    // Tom signing as another device: the certificate is not bound to it; the session ends.
    let elsewhere = Signed::new(tom, b"another-device", &token, Route::TransferPost, 9, now);
    assert_eq!(
        refused(&service, &elsewhere).await,
        "certificate.device_mismatch"
    );
    assert_eq!(refused(&service, &at(10)).await, "session_ended");

    // Revoked mid-session: the next request is refused and ends the session.
    let token = demo::login(&service, tom).await.unwrap();
    let again = |counter| Signed::new(tom, &tom.device.id, &token, Route::Drawer, counter, now);
    passes(&service, &again(1)).await;
    let manager = &bank.managers[0];
    let m = demo::login(&service, manager).await.unwrap();
    service
        .revoke(
            &m,
            &manager.device,
            tom.cert.fingerprint(),
            RevocationReason::KeyCompromise,
        )
        .await
        .unwrap();
    assert_eq!(refused(&service, &again(2)).await, "certificate.revoked");
    assert_eq!(refused(&service, &again(3)).await, "session_ended");
    assert!(matches!(
        service.authorise_request(&again(4).request()).await,
        Err(ServiceError::SessionEnded)
    ));
}

on_every_backend!(signed_requests, |db| signed_requests(db.store.clone()));
