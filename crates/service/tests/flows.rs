//! The service end to end on both backends: login with every layer checked, a teller
//! posts, a teller cannot approve, an auditor cannot post, a manager approves a pending
//! transfer made by someone else, a revoked teller is refused at the next call and its
//! session ends, and a nonce is consumed exactly once even by concurrent logins.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use pqbank_db::Store;
use pqbank_ledger::{AccountKind, Currency, Policy, TransferStatus};
use pqbank_pki::{CompositeSigningKey, RevocationReason, Role};
use pqbank_service::{Config, Device, Service, ServiceError};
use pqbank_tests::{Bind, Raw, account, on_every_backend};

mod common;

use common::*;

async fn story<S: Store + 'static>(store: S) {
    let b = bank(store).await;
    let s = &b.service;
    let teller = login(&b, &b.teller).await.unwrap();
    let posted = s
        .post_transfer(&teller, &b.teller.device, deposit(&b, "d1", 5_000))
        .await
        .unwrap();
    assert_eq!(posted.status, TransferStatus::Posted);

    // A teller cannot approve; an auditor cannot post; both refusals are logged.
    let refused = s
        .resolve_transfer(&teller, &b.teller.device, posted.id, [0; 32], true)
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("forbidden.action_not_allowed".to_string())
    );
    let auditor = login(&b, &b.auditor).await.unwrap();
    let mut as_auditor = deposit(&b, "a1", 100);
    as_auditor.maker = b.auditor.staff_id;
    let refused = s
        .post_transfer(&auditor, &b.auditor.device, as_auditor)
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("forbidden.action_not_allowed".to_string())
    );

    // Four eyes: a large deposit waits; the manager (not its maker) posts it.
    let big = deposit(&b, "big", 500_000);
    let hash = big.request_hash();
    let pending = s
        .post_transfer(&teller, &b.teller.device, big)
        .await
        .unwrap();
    assert_eq!(pending.status, TransferStatus::Pending);
    let manager = login(&b, &b.manager).await.unwrap();
    assert_eq!(
        s.resolve_transfer(&manager, &b.manager.device, pending.id, hash, true)
            .await,
        Ok(TransferStatus::Posted)
    );

    // The teller's key on another device is refused.
    let thief = Device::new(b"stolen-laptop", CompositeSigningKey::from_seed(&[3; 64]));
    let refused = s
        .post_transfer(&teller, &thief, deposit(&b, "d2", 100))
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.device_mismatch".to_string())
    );

    // The right device identifier with another key: the per-call signature gives it away.
    let teller = login(&b, &b.teller).await.unwrap();
    let cloned = Device::new(
        &b.teller.device.id,
        CompositeSigningKey::from_seed(&[99; 64]),
    );
    let refused = s.find_customers(&teller, &cloned, "nobody").await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.device_mismatch".to_string())
    );
    let after = s.find_customers(&teller, &b.teller.device, "nobody").await;
    assert_eq!(
        after.map_err(|e| e.code()),
        Err("session_ended".to_string()),
        "the session ended"
    );

    // Revocation: the teller is refused at the very next call, and the session is over.
    let teller = login(&b, &b.teller).await.unwrap();
    b.clock.fetch_add(10, Ordering::SeqCst);
    s.revoke(
        &manager,
        &b.manager.device,
        b.teller.cert.fingerprint(),
        RevocationReason::KeyCompromise,
    )
    .await
    .unwrap();
    let refused = s
        .post_transfer(&teller, &b.teller.device, deposit(&b, "d3", 100))
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.revoked".to_string())
    );
    let again = s
        .post_transfer(&teller, &b.teller.device, deposit(&b, "d4", 100))
        .await;
    assert_eq!(again, Err(ServiceError::SessionEnded));
    assert!(matches!(
        login(&b, &b.teller).await,
        Err(ServiceError::Certificate(_))
    ));

    // Idle sessions end.
    b.clock.fetch_add(16 * 60, Ordering::SeqCst);
    let late = s
        .resolve_transfer(&manager, &b.manager.device, 1, [0; 32], true)
        .await;
    assert_eq!(late, Err(ServiceError::SessionEnded));

    // The teller's chain holds the logins, acts and refusals, linked and signed.
    let chain = s
        .store()
        .events(b.teller.cert.fingerprint().as_bytes())
        .await
        .unwrap();
    let kinds: Vec<&str> = chain.iter().map(|e| e.event.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "login",
            "drawer.open",
            "login",
            "transfer.post",
            "refused",
            "transfer.post",
            "login",
            "login",
            "refused"
        ]
    );
    let pairs: Vec<_> = chain.iter().map(|e| (e.event.clone(), e.hash)).collect();
    pqbank_audit::chain::verify_chain(b.teller.cert.fingerprint().as_bytes(), &pairs).unwrap();
    // Everything the story wrote, refusals included, verifies.
    assert_eq!(s.verify_log(&|_, _| {}).await.unwrap().problems, vec![]);
}

/// A nonce is consumed by exactly one of eight concurrent logins.
async fn one_nonce_one_login<S: Store + 'static>(store: S) {
    let b = Arc::new(bank(store).await);
    let fp = b.teller.cert.fingerprint();
    let nonce = b
        .service
        .challenge(fp, &b.teller.device.id, "127.0.0.1 branch-1")
        .await
        .unwrap();
    let signed = Arc::new(
        b.service
            .sign_transcript(&b.teller.device, nonce, fp, "127.0.0.1 branch-1")
            .unwrap(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (b, signed) = (b.clone(), signed.clone());
            tokio::spawn(async move {
                b.service
                    .login(fp, &b.teller.device, "127.0.0.1 branch-1", &signed)
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e, ServiceError::ChallengeUsed),
        }
    }
    assert_eq!(ok, 1);
}

on_every_backend!(service_story, |db| story(db.store.clone()));

on_every_backend!(one_nonce_one_login, threads = 4, |db| one_nonce_one_login(
    db.store.clone()
));

const FORGED_TRANSFER: &str = "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
     debit_account_id, credit_account_id, amount_minor, currency, memo, status, expires_at, created_at, \
     recorded_at, signed_bytes, signature, signer_fingerprint) \
     VALUES (?, 'forged', ?, 'deposit', ?, ?, 99999, 'EUR', '', 'posted', NULL, 0, 0, ?, ?, ?)";

/// Proves `verify_log` passes a log the service wrote, and names a transfer row that was
/// inserted directly into the database with a made-up signature.
async fn log_verification<S: Store + Raw + Clone + 'static>(store: S) {
    let b = bank(store.clone()).await;
    let teller = login(&b, &b.teller).await.unwrap();
    for n in 0..3 {
        b.service
            .post_transfer(
                &teller,
                &b.teller.device,
                deposit(&b, &format!("v{n}"), 100 + n),
            )
            .await
            .unwrap();
    }
    let seen = std::sync::Mutex::new(Vec::new());
    let report = b
        .service
        .verify_log(&|done, total| seen.lock().unwrap().push((done, total)))
        .await
        .unwrap();
    assert_eq!(report.problems, vec![]);
    // The story's three transfers beside the drawer's float; the teller's opening login
    // and drawer.open beside the story's events, and the bank's making: the root's
    // policy, its version and issuance of the manager, the manager's of the teller and
    // the auditor, and its four accounts.
    assert_eq!((report.transfers, report.events), (4, 17));
    assert_eq!(
        seen.lock().unwrap().last().copied(),
        Some((7, 7)),
        "progress reaches the total (four transfers, three chains)"
    );

    let forged: [Bind; 7] = [
        b.teller.staff_id.into(),
        vec![0u8; 32].into(),
        b.drawer.into(),
        b.customer.into(),
        vec![1u8; 40].into(),
        vec![2u8; 3373].into(),
        b.teller.cert.fingerprint().as_bytes().to_vec().into(),
    ];
    store.run(FORGED_TRANSFER, &forged).await.unwrap();
    let report = b.service.verify_log(&|_, _| {}).await.unwrap();
    let rows: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|p| (p.table, p.reason.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("transfers", "the signed bytes are not the row's contents"),
            (
                "transfers",
                "the request hash is not the hash of the signed bytes"
            ),
            ("transfers", "the maker's signature does not verify"),
            // Made at time 0, long before the teller's certificate.
            ("transfers", "signed outside its certificate's validity"),
            (
                "transfers",
                "no matching act on the maker's accountability chain"
            ),
            // And before the root signed the bank's first policy.
            (
                "transfers",
                "no signed four-eyes policy was in force when it was made"
            ),
        ]
    );
    assert!(
        report.problems.iter().all(|p| p.row == "#5"),
        "the forged row, after the float and three transfers"
    );
}

on_every_backend!(forged_transfer_reported, |db| log_verification(
    db.store.clone()
));

/// Proves enrolment end to end: the device's request and short code, a refused wrong
/// code, a teller refused as approver, the manager's approval, the sealed delivery that
/// only this device opens, and the new teller's first login and act.
async fn enrolment<S: Store + 'static>(store: S) {
    use pqbank_pki::bundle::{RecipientSecret, Suite};
    let b = bank(store).await;
    let s = &b.service;
    let new_staff = hire(&b, "T-NEW").await;
    let device = Device::new(b"device-new", CompositeSigningKey::from_seed(&[7; 64]));
    let recipient = RecipientSecret::from_seeds(Suite::MlKem512X25519, &[8; 64], &[9; 32]);
    let (id, code) = s
        .request_enrolment(&device, &recipient, "T-NEW", Role::Teller)
        .await
        .unwrap();
    assert_eq!(code.len(), 14);
    assert!(
        code.chars()
            .all(|c| c == '-' || "ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(c)),
        "{code}"
    );
    assert!(matches!(
        s.collect_enrolment(id, &device, &recipient).await,
        Err(ServiceError::Enrolment(_))
    ));
    let svg =
        pqbank_service::enrolment_qr_svg(id, &code, &pqbank_pki::Fingerprint::of(b"csr")).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"),
        "a QR code in SVG"
    );

    let teller = login(&b, &b.teller).await.unwrap();
    let refused = s
        .approve_enrolment(&teller, &b.teller.device, id, &code)
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("forbidden.action_not_allowed".to_string())
    );
    let manager = login(&b, &b.manager).await.unwrap();
    let wrong = s
        .approve_enrolment(&manager, &b.manager.device, id, "AAAA-BBBB-CCCC")
        .await;
    assert!(matches!(wrong, Err(ServiceError::Enrolment(_))));
    let typed = code.to_lowercase().replace('-', " ");
    let fp = s
        .approve_enrolment(&manager, &b.manager.device, id, &typed)
        .await
        .unwrap();
    assert!(matches!(
        s.approve_enrolment(&manager, &b.manager.device, id, &code)
            .await,
        Err(ServiceError::Enrolment(_))
    ));

    let stranger = RecipientSecret::from_seeds(Suite::MlKem512X25519, &[1; 64], &[2; 32]);
    assert!(
        s.collect_enrolment(id, &device, &stranger).await.is_err(),
        "only the device opens the bundle"
    );
    let cert = s.collect_enrolment(id, &device, &recipient).await.unwrap();
    assert_eq!(cert.fingerprint(), fp);
    assert_eq!(cert.claims().role, Some(Role::Teller));

    let nonce = s
        .challenge(fp, &device.id, "127.0.0.1 branch-1")
        .await
        .unwrap();
    let signed = s
        .sign_transcript(&device, nonce, fp, "127.0.0.1 branch-1")
        .unwrap();
    let session = s
        .login(fp, &device, "127.0.0.1 branch-1", &signed)
        .await
        .unwrap();
    // The new teller takes the drawer nobody has opened, and deposits through it.
    let own = account(
        s.store(),
        "DRAWER-2",
        None,
        AccountKind::CashDrawer,
        Currency::EUR,
        None,
    )
    .await;
    s.open_drawer(&session, &device, 1, "new-open")
        .await
        .unwrap();
    let mut first = deposit(&b, "new-1", 1_000);
    first.maker = new_staff.id;
    first.debit = own;
    assert_eq!(
        s.post_transfer(&session, &device, first)
            .await
            .map(|o| o.status),
        Ok(TransferStatus::Posted)
    );
}

on_every_backend!(enrolment, |db| enrolment(db.store.clone()));

/// Proves checkpoints: an auditor signs two heads of the sequenced log; a teller's act
/// has an inclusion proof against the later one; the two are consistent; a teller cannot
/// checkpoint; and a forged checkpoint inserted directly is named by `verify_log`.
async fn checkpoints<S: Store + Raw + Clone + 'static>(store: S) {
    use pqbank_audit::merkle::{verify_consistency, verify_inclusion};
    let b = bank(store.clone()).await;
    let s = &b.service;
    let teller = login(&b, &b.teller).await.unwrap();
    s.post_transfer(&teller, &b.teller.device, deposit(&b, "c1", 100))
        .await
        .unwrap();
    let refused = s.checkpoint(&teller, &b.teller.device).await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("forbidden.action_not_allowed".to_string())
    );
    let auditor = login(&b, &b.auditor).await.unwrap();
    let first = s.checkpoint(&auditor, &b.auditor.device).await.unwrap();
    s.post_transfer(&teller, &b.teller.device, deposit(&b, "c2", 200))
        .await
        .unwrap();
    let second = s.checkpoint(&auditor, &b.auditor.device).await.unwrap();
    assert!(second.tree_size > first.tree_size);

    let act = s
        .store()
        .events(b.teller.cert.fingerprint().as_bytes())
        .await
        .unwrap()
        .pop()
        .unwrap();
    let (old, new) = (first.tree_size as u64, second.tree_size as u64);
    let proof = s.inclusion_proof(act.id, new).await.unwrap();
    assert_eq!(proof.root, second.root);
    verify_inclusion(&proof.leaf, proof.index, new, &proof.path, &second.root).unwrap();
    let consistency = s.consistency_proof(old, new).await.unwrap();
    verify_consistency(old, new, &first.root, &second.root, &consistency).unwrap();
    assert!(
        s.inclusion_proof(act.id, old).await.is_err(),
        "the act came after the first checkpoint"
    );
    assert_eq!(s.verify_log(&|_, _| {}).await.unwrap().problems, vec![]);

    let forged: [Bind; 4] = [
        vec![7u8; 32].into(),
        vec![1u8; 10].into(),
        vec![2u8; 3373].into(),
        vec![3u8; 32].into(),
    ];
    store.run(FORGED_CHECKPOINT, &forged).await.unwrap();
    let report = s.verify_log(&|_, _| {}).await.unwrap();
    let reasons: Vec<&str> = report.problems.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "the signature does not verify",
            "the root is not the log's root at this size"
        ]
    );
}

const FORGED_CHECKPOINT: &str = "INSERT INTO checkpoints (tree_size, root_hash, created_at, signed_bytes, \
     signature, signer_fingerprint) VALUES (1, ?, 0, ?, ?, ?)";

on_every_backend!(checkpoints, |db| checkpoints(db.store.clone()));

/// Proves a certificate planted in the database under a root other than the pinned one
/// lends no authority: a transfer it signed is reported as signed by a certificate whose
/// chain does not end at the pinned root.
async fn planted_certificate<S: Store + 'static>(store: S) {
    use pqbank_db::{CertificateRecord, RetryPolicy, SignedBy, SignedTransfer};
    let b = bank(store).await;
    let s = &b.service;
    let fake_root_key = CompositeSigningKey::from_seed(&[66; 64]);
    let fake_root = issue("Root", &fake_root_key, Role::Root, None, b"", 66);
    let fake_key = CompositeSigningKey::from_seed(&[67; 64]);
    let fake = issue(
        "Tom Teller",
        &fake_key,
        Role::Teller,
        Some((&fake_root, &fake_root_key)),
        b"device-3",
        67,
    );
    for (cert, issuer) in [
        (&fake_root, None),
        (&fake, Some(*fake_root.fingerprint().as_bytes())),
    ] {
        s.store()
            .insert_certificate(&CertificateRecord {
                fingerprint: *cert.fingerprint().as_bytes(),
                der: cert.der().to_vec(),
                serial: cert.serial().to_vec(),
                issuer,
                replaces: None,
                staff_id: Some(b.teller.staff_id),
                role: "teller".into(),
                not_before: 0,
                not_after: i64::MAX,
                created_at: 0,
            })
            .await
            .unwrap();
    }
    let request = deposit(&b, "planted", 777);
    let signature = Device::new(b"device-3", fake_key)
        .sign_act(&request.canonical_bytes())
        .unwrap();
    let signed = SignedTransfer {
        request,
        signed: SignedBy {
            signature,
            signer: *fake.fingerprint().as_bytes(),
        },
    };
    let id = pqbank_db::flows::post_transfer(
        s.store(),
        &RetryPolicy::default(),
        &signed,
        &Policy::default(),
        START,
    )
    .await
    .unwrap()
    .id;
    let report = s.verify_log(&|_, _| {}).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.row == format!("#{id}")
            && p.reason == "its certificate chain does not end at the pinned root"),
        "{:?}",
        report.problems
    );
}

on_every_backend!(planted_certificate, |db| planted_certificate(
    db.store.clone()
));

/// Proves the accountability report: auditors only; the teller's metadata, first intent
/// (time and origin), chain with hash commitments, and acts; signed by the auditor.
async fn report<S: Store + 'static>(store: S) {
    let b = bank(store).await;
    let s = &b.service;
    let teller = login(&b, &b.teller).await.unwrap();
    s.post_transfer(&teller, &b.teller.device, deposit(&b, "r1", 1_234))
        .await
        .unwrap();
    let subject = b.teller.cert.fingerprint();
    let refused = s
        .accountability_report(&teller, &b.teller.device, subject)
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("forbidden.action_not_allowed".to_string())
    );
    let auditor = login(&b, &b.auditor).await.unwrap();
    let signed = s
        .accountability_report(&auditor, &b.auditor.device, subject)
        .await
        .unwrap();
    b.auditor
        .device
        .key()
        .verifying_key()
        .verify(&signed.json, pqbank_service::ACT_CONTEXT, &signed.signature)
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&signed.json).unwrap();
    assert_eq!(report["certificate"]["role"], "teller");
    assert_eq!(report["firstIntent"]["origin"], "127.0.0.1 branch-1");
    let kinds: Vec<&str> = report["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["login", "drawer.open", "login", "transfer.post", "refused"]
    );
    assert_eq!(
        report["acts"][0]["amount"], "0.01 EUR",
        "the drawer's float"
    );
    assert_eq!(report["acts"][1]["amount"], "12.34 EUR");
    // The PDF rendering: a well-formed file whose cross-reference table points at every
    // object, carrying the SHA-256 of the signed JSON.
    let pdf = pqbank_service::report_pdf(&signed);
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    // Offsets are byte offsets: read the file as bytes (its second line is binary).
    let ascii = |range: std::ops::Range<usize>| String::from_utf8_lossy(&pdf[range]).into_owned();
    let start = pdf.windows(10).rposition(|w| w == b"startxref\n").unwrap() + 10;
    let xref: usize = ascii(start..pdf.len())
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let table = ascii(xref..start);
    let entries: Vec<&str> = table
        .lines()
        .skip(3)
        .take_while(|l| l.ends_with(" n "))
        .collect();
    assert!(entries.len() >= 5, "{table}");
    for (i, entry) in entries.iter().enumerate() {
        let offset: usize = entry[..10].parse().unwrap();
        assert!(
            ascii(offset..offset + 12).starts_with(&format!("{} 0 obj", i + 1)),
            "object {}",
            i + 1
        );
    }
    let text = String::from_utf8_lossy(&pdf);
    use sha2::Digest as _;
    assert!(text.contains(&hex::encode(sha2::Sha256::digest(&signed.json))));
    assert!(text.contains("Tom Teller"));
    // Producing the report is logged on the auditor's own chain.
    let audit_chain = s
        .store()
        .events(b.auditor.cert.fingerprint().as_bytes())
        .await
        .unwrap();
    assert_eq!(
        audit_chain.last().map(|e| e.event.kind.as_str()),
        Some("audit.report")
    );
}

on_every_backend!(report, |db| report(db.store.clone()));

/// Proves customer searches are permission-checked, escape wildcards, and are logged on
/// the reader's chain (who looked, for what, and which customers were shown).
async fn customer_reads<S: Store + 'static>(store: S) {
    let b = bank(store).await;
    let s = &b.service;
    for (n, name) in ["Alice Archer", "Alan Turing", "Bob 100% Baker"]
        .iter()
        .enumerate()
    {
        pqbank_tests::customer(s.store(), &format!("C-{n}"), name).await;
    }
    let teller = login(&b, &b.teller).await.unwrap();
    let found = s
        .find_customers(&teller, &b.teller.device, "al")
        .await
        .unwrap();
    let names: Vec<&str> = found.iter().map(|(c, _)| c.full_name.as_str()).collect();
    assert_eq!(names, ["Alan Turing", "Alice Archer"]);
    let literal = s
        .find_customers(&teller, &b.teller.device, "0%")
        .await
        .unwrap();
    assert_eq!(literal.len(), 1, "% is searched for, not a wildcard");
    assert!(
        s.find_customers(&teller, &b.teller.device, "a")
            .await
            .is_err(),
        "too short"
    );
    let chain = s
        .store()
        .events(b.teller.cert.fingerprint().as_bytes())
        .await
        .unwrap();
    assert_eq!(
        chain
            .iter()
            .filter(|e| e.event.kind == "customer.read")
            .count(),
        2
    );
    let thief = Device::new(b"stolen-laptop", CompositeSigningKey::from_seed(&[3; 64]));
    assert!(s.find_customers(&teller, &thief, "alice").await.is_err());
}

on_every_backend!(customer_reads, |db| customer_reads(db.store.clone()));

/// Proves renewal: the new certificate names the old one in its lineage, the old one is
/// revoked as superseded and refused at its next call, and the new one logs in on the
/// same device.
async fn renewal<S: Store + 'static>(store: S) {
    let b = bank(store).await;
    let s = &b.service;
    let old_session = login(&b, &b.teller).await.unwrap();
    let manager = login(&b, &b.manager).await.unwrap();
    let old = b.teller.cert.fingerprint();
    let renewed = s.renew(&manager, &b.manager.device, old).await.unwrap();
    assert_eq!(renewed.claims().lineage.and_then(|l| l.replaces), Some(old));
    assert_eq!(renewed.public_key(), b.teller.cert.public_key());
    let refused = s
        .post_transfer(&old_session, &b.teller.device, deposit(&b, "old", 100))
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.revoked".to_string())
    );
    let fp = renewed.fingerprint();
    let nonce = s
        .challenge(fp, &b.teller.device.id, "127.0.0.1 branch-1")
        .await
        .unwrap();
    let signed = s
        .sign_transcript(&b.teller.device, nonce, fp, "127.0.0.1 branch-1")
        .unwrap();
    let session = s
        .login(fp, &b.teller.device, "127.0.0.1 branch-1", &signed)
        .await
        .unwrap();
    assert!(
        s.post_transfer(&session, &b.teller.device, deposit(&b, "new", 100))
            .await
            .is_ok()
    );
    let teller = login(&b, &b.teller).await;
    assert!(
        teller.is_err(),
        "the replaced certificate no longer logs in"
    );
    // The renewal, the revocation and their CRL were one act on the manager's chain.
    let kinds: Vec<String> = s
        .store()
        .events(b.manager.cert.fingerprint().as_bytes())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.kind)
        .collect();
    // After the bank's making (staff, certificates and accounts).
    assert_eq!(
        kinds[kinds.len() - 3..],
        ["login", "cert.revoke", "cert.renew"]
    );
    assert!(
        s.renew(&session, &b.teller.device, fp).await.is_err(),
        "a teller cannot renew"
    );
}

on_every_backend!(renewal, |db| renewal(db.store.clone()));

/// Proves a device that cannot sign the act's event writes nothing: the call fails with
/// a device error, and neither the transfer nor an event (empty-signed or otherwise) is
/// stored.
async fn failing_event_signer<S: Store + 'static>(store: S) {
    use pqbank_db::{SignError, SignedBy, SignedTransfer};
    let b = bank(store).await;
    let s = &b.service;
    let teller = login(&b, &b.teller).await.unwrap();
    let request = deposit(&b, "unsigned-event", 700);
    let signed = SignedTransfer {
        signed: SignedBy {
            signature: b
                .teller
                .device
                .sign_act(&request.canonical_bytes())
                .unwrap(),
            signer: *b.teller.cert.fingerprint().as_bytes(),
        },
        request,
    };
    let chain_before = s
        .store()
        .events(b.teller.cert.fingerprint().as_bytes())
        .await
        .unwrap();
    let broken = |_: &[u8; 32]| Err(SignError("the keyring is locked".into()));
    let refused = s
        .post_presigned_transfer(&teller, &b.teller.device, &signed, &broken)
        .await;
    assert_eq!(refused.map_err(|e| e.code()), Err("device".to_string()));
    assert_eq!(posted(s).await, vec![]);
    assert_eq!(
        s.store()
            .events(b.teller.cert.fingerprint().as_bytes())
            .await
            .unwrap(),
        chain_before
    );
    assert_eq!(s.verify_log(&|_, _| {}).await.unwrap().problems, vec![]);
}

on_every_backend!(failing_event_signer, |db| failing_event_signer(
    db.store.clone()
));

/// Proves every act commits whole with its event: a renewal whose revocation cannot be
/// written leaves no new certificate, CRL or event; an enrolment approval and a
/// checkpoint whose event cannot be written leave no certificate, decision or
/// checkpoint behind.
async fn acts_commit_whole<S: Store + Raw + 'static>(store: S) {
    use pqbank_pki::bundle::{RecipientSecret, Suite};
    let b = bank(store).await;
    let s = &b.service;
    let db = s.store();
    let manager = login(&b, &b.manager).await.unwrap();
    let auditor = login(&b, &b.auditor).await.unwrap();
    let _new_staff = hire(&b, "T-ATOM").await;
    let device = Device::new(b"device-atom", CompositeSigningKey::from_seed(&[17; 64]));
    let recipient = RecipientSecret::from_seeds(Suite::MlKem512X25519, &[18; 64], &[19; 32]);
    let (request, code) = s
        .request_enrolment(&device, &recipient, "T-ATOM", Role::Teller)
        .await
        .unwrap();
    let mgr_fp = *b.manager.cert.fingerprint().as_bytes();
    let mgr_chain = db.events(&mgr_fp).await.unwrap();
    let tables = ["certificates", "crls", "revocations", "checkpoints"];
    let mut before = Vec::new();
    for t in tables {
        before.push(db.count(t).await);
    }

    db.exec(&S::fault("revocations")).await;
    let renewed = s
        .renew(&manager, &b.manager.device, b.teller.cert.fingerprint())
        .await;
    assert!(
        matches!(renewed, Err(ServiceError::Store(_))),
        "the revocation part failed: {renewed:?}"
    );

    db.exec(&S::fault("accountability_events")).await;
    assert!(matches!(
        s.approve_enrolment(&manager, &b.manager.device, request, &code)
            .await,
        Err(ServiceError::Store(_))
    ));
    assert!(matches!(
        s.checkpoint(&auditor, &b.auditor.device).await,
        Err(ServiceError::Store(_))
    ));

    let mut after = Vec::new();
    for t in tables {
        after.push(db.count(t).await);
    }
    assert_eq!(after, before, "{tables:?}");
    assert_eq!(db.events(&mgr_fp).await.unwrap(), mgr_chain);
    let pending = db.enrolment(request).await.unwrap().unwrap();
    assert_eq!(
        (pending.status.as_str(), pending.certificate),
        ("pending", None)
    );
    db.exec("DROP TRIGGER fault_revocations").await;
    db.exec("DROP TRIGGER fault_accountability_events").await;
    assert!(
        login(&b, &b.teller).await.is_ok(),
        "the failed renewal revoked nothing"
    );
    assert_eq!(s.verify_log(&|_, _| {}).await.unwrap().problems, vec![]);
}

on_every_backend!(acts_commit_whole, |db| acts_commit_whole(db.store.clone()));

/// Proves the nonce is consumed only by a login that passed every check: an impostor's
/// transcript (right device identifier, wrong key), a tampered signature and a valid
/// transcript presented from another origin are refused without burning the device's
/// nonce and without an event; the device's own login then succeeds, once.
async fn refused_login_keeps_nonce<S: Store + 'static>(store: S) {
    let b = bank(store).await;
    let s = &b.service;
    let fp = b.teller.cert.fingerprint();
    let origin = "127.0.0.1 branch-1";
    let nonce = s.challenge(fp, &b.teller.device.id, origin).await.unwrap();
    let opened = s.store().events(fp.as_bytes()).await.unwrap();

    let impostor = Device::new(
        &b.teller.device.id,
        CompositeSigningKey::from_seed(&[98; 64]),
    );
    let forged = s.sign_transcript(&impostor, nonce, fp, origin).unwrap();
    let refused = s.login(fp, &impostor, origin, &forged).await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("login.bad_signature".to_string())
    );
    let mut signed = s
        .sign_transcript(&b.teller.device, nonce, fp, origin)
        .unwrap();
    let mut tampered = signed.clone();
    tampered.signature[7] ^= 1;
    let refused = s.login(fp, &b.teller.device, origin, &tampered).await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("login.bad_signature".to_string())
    );
    let refused = s
        .login(fp, &b.teller.device, "10.9.9.9 elsewhere", &signed)
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("login.origin_mismatch".to_string())
    );
    let challenge = s.store().challenge(&nonce).await.unwrap().unwrap();
    assert_eq!(challenge.consumed_at, None, "no refusal burnt the nonce");
    assert_eq!(s.store().events(fp.as_bytes()).await.unwrap(), opened);

    let session = s.login(fp, &b.teller.device, origin, &signed).await;
    assert!(session.is_ok(), "{session:?}");
    let replay = s.login(fp, &b.teller.device, origin, &signed).await;
    assert_eq!(replay, Err(ServiceError::ChallengeUsed));
    signed.signature = s
        .sign_transcript(&b.teller.device, nonce, fp, origin)
        .unwrap()
        .signature;
    let resigned = s.login(fp, &b.teller.device, origin, &signed).await;
    assert_eq!(
        resigned,
        Err(ServiceError::ChallengeUsed),
        "a fresh signature over a used nonce"
    );
    let kinds: Vec<String> = s
        .store()
        .events(fp.as_bytes())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.kind)
        .collect();
    assert_eq!(kinds, ["login", "drawer.open", "login"]);
}

on_every_backend!(refused_login_keeps_nonce, |db| refused_login_keeps_nonce(
    db.store.clone()
));

/// A fresh folder for an installation's files, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let dir = std::env::temp_dir().join(format!("pqbank-test-{}", hex::encode(random)));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Proves the installation's CRL pin, kept outside the database: a teller is revoked,
/// then someone with database access drops the append-only trigger and deletes the
/// newest CRL row. The teller's open session and a fresh login are refused as a CRL
/// rollback, also by a service started afresh on the same installation; the manager
/// cannot reissue the deleted CRL's number.
async fn crl_rollback_refused<S: Store + Raw + Clone + 'static>(store: S) {
    use pqbank_service::FileCrlPins;
    let dir = TempDir::new();
    let mut b = bank(store.clone()).await;
    b.service = b
        .service
        .with_crl_pins(Arc::new(FileCrlPins::open(&dir.0).unwrap()));
    let s = &b.service;
    let teller = login(&b, &b.teller).await.unwrap();
    let manager = login(&b, &b.manager).await.unwrap();
    let mgr_fp = b.manager.cert.fingerprint();
    b.clock.fetch_add(10, Ordering::SeqCst);
    let number = revoke_teller(&b, &manager).await.unwrap();
    assert_eq!(number, 2);

    store.exec("DROP TRIGGER crls_append_only_d").await;
    store.exec("DELETE FROM crls WHERE crl_number = 2").await;
    assert_eq!(
        store
            .latest_crl(mgr_fp.as_bytes())
            .await
            .unwrap()
            .map(|c| c.number),
        Some(1),
        "the database now serves the CRL before the revocation"
    );

    let refused = s
        .post_transfer(&teller, &b.teller.device, deposit(&b, "rolled-back", 100))
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.crl_rollback".to_string())
    );
    assert_eq!(
        login(&b, &b.teller).await.map_err(|e| e.code()),
        Err("certificate.crl_rollback".to_string())
    );
    let reissue = s
        .revoke(
            &manager,
            &b.manager.device,
            b.auditor.cert.fingerprint(),
            RevocationReason::KeyCompromise,
        )
        .await;
    assert_eq!(
        reissue.map_err(|e| e.code()),
        Err("certificate.crl_rollback".to_string())
    );
    assert_eq!(posted(s).await, vec![]);

    // The pin survives a restart: it is the installation's, not the process's.
    let root = b.manager.cert.claims().lineage.unwrap().issuer;
    let clock = b.clock.clone();
    let restarted = Service::new(store, Config::new(root))
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)))
        .with_crl_pins(Arc::new(FileCrlPins::open(&dir.0).unwrap()));
    let nonce = restarted
        .challenge(
            b.teller.cert.fingerprint(),
            &b.teller.device.id,
            "127.0.0.1 branch-1",
        )
        .await
        .unwrap();
    let signed = restarted
        .sign_transcript(
            &b.teller.device,
            nonce,
            b.teller.cert.fingerprint(),
            "127.0.0.1 branch-1",
        )
        .unwrap();
    let again = restarted
        .login(
            b.teller.cert.fingerprint(),
            &b.teller.device,
            "127.0.0.1 branch-1",
            &signed,
        )
        .await;
    assert_eq!(
        again.map_err(|e| e.code()),
        Err("certificate.crl_rollback".to_string())
    );
}

on_every_backend!(crl_rollback_refused, |db| crl_rollback_refused(
    db.store.clone()
));

/// Proves log verification rebuilds a revocation's signed bytes from its columns and
/// matches every approval and revocation to the act its signer logged: with the
/// append-only triggers dropped, a revocation's reason edited in place is named, and
/// so are an approval and a revocation whose events were deleted from the head of the
/// manager's chain (where the hash chain alone cannot see a deletion).
async fn edited_signed_rows<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let s = &b.service;
    let db = s.store();
    let teller = login(&b, &b.teller).await.unwrap();
    let big = deposit(&b, "big", 500_000);
    let hash = big.request_hash();
    let pending = s
        .post_transfer(&teller, &b.teller.device, big)
        .await
        .unwrap();
    let manager = login(&b, &b.manager).await.unwrap();
    s.revoke(
        &manager,
        &b.manager.device,
        b.teller.cert.fingerprint(),
        RevocationReason::KeyCompromise,
    )
    .await
    .unwrap();
    s.resolve_transfer(&manager, &b.manager.device, pending.id, hash, true)
        .await
        .unwrap();
    assert_eq!(s.verify_log(&|_, _| {}).await.unwrap().problems, vec![]);
    let approval = db.signed_rows("approvals").await.unwrap()[0].id;
    let revocation = db.signed_rows("revocations").await.unwrap()[0].id;
    let named = |report: pqbank_service::LogReport| {
        report
            .problems
            .into_iter()
            .map(|p| (p.table, p.row, p.reason))
            .collect::<Vec<_>>()
    };

    db.exec("DROP TRIGGER revocations_append_only_u").await;
    db.exec("UPDATE revocations SET reason = 'affiliationChanged'")
        .await;
    let edited = (
        "revocations",
        format!("#{revocation}"),
        "the signed bytes are not the row's contents".to_string(),
    );
    assert_eq!(
        named(s.verify_log(&|_, _| {}).await.unwrap()),
        std::slice::from_ref(&edited)
    );

    db.exec("DROP TRIGGER accountability_events_append_only_d")
        .await;
    let mgr_fp = *b.manager.cert.fingerprint().as_bytes();
    let chain = db.events(&mgr_fp).await.unwrap();
    let kinds: Vec<&str> = chain.iter().map(|e| e.event.kind.as_str()).collect();
    // The bank's making (staff, certificates and accounts) comes first.
    assert_eq!(
        kinds[kinds.len() - 3..],
        ["login", "cert.revoke", "transfer.approve"]
    );
    db.exec(&format!(
        "DELETE FROM accountability_events WHERE id = {}",
        chain[chain.len() - 1].id
    ))
    .await;
    let unmatched_approval = (
        "approvals",
        format!("#{approval}"),
        "no matching act on the approver's accountability chain".to_string(),
    );
    assert_eq!(
        named(s.verify_log(&|_, _| {}).await.unwrap()),
        [unmatched_approval.clone(), edited.clone()]
    );
    db.exec(&format!(
        "DELETE FROM accountability_events WHERE id = {}",
        chain[chain.len() - 2].id
    ))
    .await;
    assert_eq!(
        named(s.verify_log(&|_, _| {}).await.unwrap()),
        [
            unmatched_approval,
            edited,
            (
                "revocations",
                format!("#{revocation}"),
                "no matching act on the revoking manager's accountability chain".to_string(),
            ),
        ]
    );
}

on_every_backend!(edited_signed_rows, |db| edited_signed_rows(
    db.store.clone()
));
