//! The identity tables on every backend: certificates and CRLs, login challenges that are
//! consumed exactly once even by concurrent logins, sessions that end, and per-certificate
//! event chains that stay linked under concurrent appends and fold into a Merkle tree.

use std::sync::Arc;

use pqbank_audit::chain::verify_chain;
use pqbank_audit::merkle::{inclusion_proof, leaf_hash, root, verify_inclusion};
use pqbank_db::flows::{Act, post_transfer_logged};
use pqbank_db::{
    Backend, CertificateRecord, Challenge, CrlRecord, EnrolmentDecision, EnrolmentRecord,
    IdentityStore, LoggedEvent, RetryPolicy, RowWrite, SessionRecord, SignError, Stale, StoreError,
};
use pqbank_ledger::{AccountKind, Currency, Policy, TransferKind};
use pqbank_pki::CompositeSigningKey;
use pqbank_tests::{account, minor, on_every_backend, staff};

async fn stories<B: Backend + IdentityStore + 'static>(db: Arc<B>) {
    certificates_and_crls(&*db).await;
    challenges(db.clone()).await;
    sessions(&*db).await;
    failing_signer(&*db).await;
    events(db.clone()).await;
    // After `events`, which counts every event stored.
    acts_commit_whole(&*db).await;
}

fn cert(fp: u8, staff_id: Option<i64>) -> CertificateRecord {
    CertificateRecord {
        fingerprint: [fp; 32],
        der: vec![0x30, fp],
        serial: vec![fp],
        issuer: Some([9; 32]),
        replaces: None,
        staff_id,
        role: "teller".into(),
        not_before: 0,
        not_after: 100,
        created_at: 0,
    }
}

/// Certificates round-trip and are never stored twice; the latest CRL is the highest number.
async fn certificates_and_crls<B: Backend + IdentityStore>(db: &B) {
    let t = staff(db, "T-9", "teller", 9).await;
    db.insert_certificate(&cert(1, Some(t.id))).await.unwrap();
    assert_eq!(
        db.certificate(&[1; 32]).await.unwrap(),
        Some(cert(1, Some(t.id)))
    );
    assert!(db.insert_certificate(&cert(1, Some(t.id))).await.is_err());
    assert_eq!(db.certificate(&[2; 32]).await.unwrap(), None);
    for number in [1, 3, 2] {
        let crl = CrlRecord {
            issuer: [9; 32],
            number,
            fingerprint: [number as u8; 32],
            der: vec![0x30],
            this_update: number,
            next_update: number + 10,
            created_at: 0,
        };
        db.insert_crl(&crl).await.unwrap();
    }
    assert_eq!(
        db.latest_crl(&[9; 32]).await.unwrap().map(|c| c.number),
        Some(3)
    );
    assert_eq!(db.latest_crl(&[8; 32]).await.unwrap(), None);
}

/// Eight concurrent logins with one nonce: exactly one consumes it; an expired or
/// unknown nonce is never consumed.
async fn challenges<B: Backend + IdentityStore + 'static>(db: Arc<B>) {
    let challenge = |nonce: u8, expires_at: i64| Challenge {
        nonce: [nonce; 32],
        certificate: [1; 32],
        device_id_hash: [4; 32],
        origin: "127.0.0.1 teller-01".into(),
        issued_at: 10,
        expires_at,
        consumed_at: None,
    };
    db.insert_challenge(&challenge(7, 60)).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.consume_challenge(&[7; 32], 20).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            assert_eq!(c.consumed_at, Some(20));
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one login consumes the nonce");
    db.insert_challenge(&challenge(8, 15)).await.unwrap();
    assert_eq!(
        db.consume_challenge(&[8; 32], 16).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        db.consume_challenge(&[6; 32], 16).await.unwrap(),
        None,
        "unknown"
    );
}

/// A session is touched while alive, ends with a reason, and is dead afterwards.
async fn sessions<B: Backend + IdentityStore>(db: &B) {
    let t = staff(db, "T-10", "teller", 10).await;
    db.insert_certificate(&cert(3, Some(t.id))).await.unwrap();
    let s = SessionRecord {
        id: [5; 32],
        certificate: [3; 32],
        staff_id: t.id,
        pinned_crl_number: 3,
        created_at: 10,
        last_seen_at: 10,
        idle_timeout_secs: 300,
        ended_at: None,
        end_reason: None,
    };
    db.insert_session(&s).await.unwrap();
    assert!(db.touch_session(&[5; 32], 20).await.unwrap());
    db.end_session(&[5; 32], 30, "revoked").await.unwrap();
    assert!(!db.touch_session(&[5; 32], 40).await.unwrap());
    let ended = db.session(&[5; 32]).await.unwrap().unwrap();
    assert_eq!(
        (
            ended.last_seen_at,
            ended.ended_at,
            ended.end_reason.as_deref()
        ),
        (20, Some(30), Some("revoked"))
    );
}

/// A device that cannot sign, or hands back an empty signature, writes nothing: no
/// event, and no act that would have carried it (the transaction rolls back).
async fn failing_signer<B: Backend + IdentityStore>(db: &B) {
    let certificate = [0xcc; 32];
    let broken = |_: &[u8; 32]| Err(SignError("the keyring is locked".into()));
    let empty = |_: &[u8; 32]| Ok(Vec::new());
    for sign in [&broken as pqbank_db::Signer<'_>, &empty] {
        let err = db
            .append_event(&certificate, "customer.read", b"x", 1, sign)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Signing(_)), "{err:?}");
        assert_eq!(err.code(), "signing");
    }
    assert_eq!(db.events(&certificate).await.unwrap(), vec![]);

    let teller = staff(db, "T-SIGN", "teller", 21).await;
    let drawer = account(
        db,
        "DRAWER-SIGN",
        None,
        AccountKind::CashDrawer,
        Currency::EUR,
        Some(0),
    )
    .await;
    let customer = account(
        db,
        "CUST-SIGN",
        None,
        AccountKind::Customer,
        Currency::EUR,
        Some(0),
    )
    .await;
    let transfer = teller.transfer(
        "sign-1",
        TransferKind::Deposit,
        drawer,
        customer,
        minor(500, Currency::EUR),
        1,
    );
    let before = db.transfers().await.unwrap().len();
    let act = Act {
        certificate,
        kind: "transfer.post",
        sign: &broken,
    };
    let err = post_transfer_logged(
        db,
        &RetryPolicy::default(),
        &transfer,
        &Policy::default(),
        1,
        Some(&act),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Signing(_)), "{err:?}");
    assert_eq!(db.transfers().await.unwrap().len(), before, "no transfer");
    assert_eq!(db.account(customer).await.unwrap().unwrap().balance(), 0);
    assert_eq!(db.events(&certificate).await.unwrap(), vec![]);
}

/// An act's rows and its events commit whole: a decision on a request that is no longer
/// pending, or a signer that fails, leaves neither the certificate nor the CRL nor any
/// event behind; a good act writes them all.
async fn acts_commit_whole<B: Backend + IdentityStore>(db: &B) {
    let manager = [0xdd; 32];
    let nina = staff(db, "T-ENROL", "teller", 22).await;
    let request = db
        .insert_enrolment(&EnrolmentRecord {
            id: 0,
            csr_fingerprint: [0x51; 32],
            csr_der: vec![0x30],
            kem_recipient: vec![1],
            short_code: "ABCD-EFGH-JKMN".into(),
            staff_id: nina.id,
            requested_role: "teller".into(),
            status: "pending".into(),
            decided_by: None,
            decided_at: None,
            certificate: None,
            bundle: None,
            created_at: 1,
        })
        .await
        .unwrap();
    let decision = |fp: u8| EnrolmentDecision {
        id: request,
        status: "approved".into(),
        decided_by: nina.id,
        decided_at: 2,
        certificate: Some([fp; 32]),
        bundle: Some(vec![fp]),
    };
    let key = CompositeSigningKey::from_seed(&[23; 64]);
    let sign = |h: &[u8; 32]| {
        Ok(key
            .sign(h, b"pqbank/act/v1", &[0; 32])
            .unwrap()
            .into_bytes())
    };
    let broken = |_: &[u8; 32]| Err(SignError("no key".into()));
    let issue = |sign| LoggedEvent {
        certificate: manager,
        kind: "cert.issue",
        payload: b"issued",
        created_at: 2,
        sign,
    };
    let crl = CrlRecord {
        issuer: manager,
        number: 1,
        fingerprint: [0x52; 32],
        der: vec![0x30],
        this_update: 2,
        next_update: 20,
        created_at: 2,
    };

    // A failing signer: nothing of the act is written.
    let first = decision(0x41);
    let err = db
        .commit_logged(
            &[
                RowWrite::Certificate(&cert(0x41, Some(nina.id))),
                RowWrite::Crl(&crl),
                RowWrite::EnrolmentDecision(&first),
            ],
            &[issue(&sign), issue(&broken)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Signing(_)), "{err:?}");
    assert_eq!(db.certificate(&[0x41; 32]).await.unwrap(), None);
    assert_eq!(db.latest_crl(&manager).await.unwrap(), None);
    assert_eq!(db.events(&manager).await.unwrap(), vec![]);
    assert_eq!(
        db.enrolment(request).await.unwrap().unwrap().status,
        "pending"
    );

    // The act whole: every row and both events.
    let logged = db
        .commit_logged(
            &[
                RowWrite::Certificate(&cert(0x41, Some(nina.id))),
                RowWrite::Crl(&crl),
                RowWrite::EnrolmentDecision(&first),
            ],
            &[issue(&sign), issue(&sign)],
        )
        .await
        .unwrap();
    assert_eq!(logged.len(), 2);
    assert_eq!(db.events(&manager).await.unwrap(), logged);
    assert!(db.certificate(&[0x41; 32]).await.unwrap().is_some());
    assert_eq!(db.latest_crl(&manager).await.unwrap(), Some(crl.clone()));
    let decided = db.enrolment(request).await.unwrap().unwrap();
    assert_eq!(
        (decided.status.as_str(), decided.certificate),
        ("approved", Some([0x41; 32]))
    );

    // Deciding again: the request is no longer pending, so the second certificate and
    // its event are not written either.
    let second = decision(0x42);
    let err = db
        .commit_logged(
            &[
                RowWrite::Certificate(&cert(0x42, Some(nina.id))),
                RowWrite::EnrolmentDecision(&second),
            ],
            &[issue(&sign)],
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Stale(Stale::Enrolment));
    assert_eq!(err.code(), "stale");
    assert_eq!(db.certificate(&[0x42; 32]).await.unwrap(), None);
    assert_eq!(db.events(&manager).await.unwrap(), logged);
    assert_eq!(
        db.enrolment(request).await.unwrap().unwrap().certificate,
        Some([0x41; 32])
    );
}

/// Two chains appended concurrently stay linked and signed; the global log folds into a
/// Merkle tree with a verifying inclusion proof for every event.
async fn events<B: Backend + IdentityStore + 'static>(db: Arc<B>) {
    let key = Arc::new(CompositeSigningKey::from_seed(&[3; 64]));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (db, key) = (db.clone(), key.clone());
            tokio::spawn(async move {
                let certificate = [if i % 2 == 0 { 0xaa } else { 0xbb }; 32];
                for n in 0..5 {
                    let sign = |h: &[u8; 32]| {
                        Ok(key
                            .sign(h, b"pqbank/event/v1", &[0; 32])
                            .unwrap()
                            .into_bytes())
                    };
                    db.append_event(&certificate, "transfer.post", &[i, n], i64::from(n), &sign)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for certificate in [[0xaa; 32], [0xbb; 32]] {
        let chain = db.events(&certificate).await.unwrap();
        assert_eq!(chain.len(), 20);
        let pairs: Vec<_> = chain.iter().map(|r| (r.event.clone(), r.hash)).collect();
        verify_chain(&certificate, &pairs).unwrap();
        for r in &chain {
            key.verifying_key()
                .verify(&r.hash, b"pqbank/event/v1", &r.signature)
                .unwrap();
        }
    }
    let leaves: Vec<_> = db
        .event_hashes()
        .await
        .unwrap()
        .iter()
        .map(|h| leaf_hash(h))
        .collect();
    assert_eq!(leaves.len(), 40);
    let head = root(&leaves);
    for i in 0..leaves.len() {
        let proof = inclusion_proof(&leaves, i).unwrap();
        verify_inclusion(&leaves[i], i as u64, leaves.len() as u64, &proof, &head).unwrap();
    }
}

on_every_backend!(identity, threads = 4, |db| stories(Arc::new(
    db.store.clone()
)));
