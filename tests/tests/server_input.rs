//! Bad input at pqbank-server, sent as raw bytes over its real TLS: a wrong method, an
//! unknown route, a wrong content type, bodies over the limit (declared or streamed),
//! malformed and truncated bodies, header fields over their limit, signed routes before
//! login, and clients that never finish. Each gets its code (or the connection closed
//! within its timeout) and nothing is written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is a test failure"
)]

use std::time::{Duration, Instant};

use pqbank_api::wire::{ErrorBody, HEADER_FIELD, SIGNATURE_FIELD};
use pqbank_api::{BODY_LEN_MAX, RequestHeader, Route, body_hash};
use pqbank_net::VouchedKey;
use pqbank_server::limits::{HEADER_BYTES_MAX, HEADER_READ_TIMEOUT};
use pqbank_tests::server::{Served, serve};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Sends `head` (request line and fields, without the blank line) and `body` on a new
/// connection, with `Connection: close`; returns the status and the error code.
async fn send(served: &Served, head: &str, body: &[u8]) -> (u16, String) {
    let verifier = VouchedKey::new(served.bank.root.fingerprint());
    let mut tls = pqbank_net::connect(served.addr, &verifier).await.unwrap();
    let request = format!("{head}\r\nHost: bank\r\nConnection: close\r\n\r\n");
    // The server may answer and close before a refused body is all sent.
    if tls.write_all(request.as_bytes()).await.is_ok() && tls.write_all(body).await.is_ok() {
        let _ = tls.flush().await;
    }
    read_answer(&mut tls).await
}

async fn read_answer<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> (u16, String) {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let code = text
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str::<ErrorBody>(b).ok())
        .map(|e| e.code)
        .unwrap_or_default();
    (status, code)
}

fn post(path: &str, content_type: &str, length: usize) -> String {
    format!("POST {path} HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_code_and_write_nothing() {
    let served = serve(None).await;
    let before = served.written().await;
    let json = "application/json";

    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "a GET",
            "GET /v1/status HTTP/1.1".into(),
            vec![],
            405,
            "request.method",
        ),
        (
            "an unknown route",
            post("/v1/vault/open", json, 2),
            b"{}".to_vec(),
            404,
            "request.route_unknown",
        ),
        (
            "a path outside the API",
            post("/admin", json, 2),
            b"{}".to_vec(),
            404,
            "request.route_unknown",
        ),
        (
            "a form body",
            post("/v1/status", "application/x-www-form-urlencoded", 3),
            b"a=b".to_vec(),
            415,
            "request.content_type",
        ),
        (
            "no content type",
            "POST /v1/status HTTP/1.1\r\nContent-Length: 2".into(),
            b"{}".to_vec(),
            415,
            "request.content_type",
        ),
        (
            "a declared body over the limit",
            post("/v1/login", json, BODY_LEN_MAX + 1),
            vec![],
            413,
            "request.too_large",
        ),
        (
            "a streamed body over the limit",
            format!(
                "POST /v1/login HTTP/1.1\r\nContent-Type: {json}\r\nTransfer-Encoding: chunked"
            ),
            chunked(BODY_LEN_MAX + 4096),
            413,
            "request.too_large",
        ),
        (
            "JSON that is not a login",
            post("/v1/login", json, 13),
            b"{\"user\":\"x\"}\n".to_vec(),
            400,
            "request.malformed",
        ),
        (
            "not JSON",
            post("/v1/login/challenge", json, 5),
            b"\xff\xfe{[\x00".to_vec(),
            400,
            "request.malformed",
        ),
        (
            "a declared name with a control character",
            post("/v1/login/challenge", json, challenge("desk\u{7}").len()),
            challenge("desk\u{7}").into_bytes(),
            400,
            "request.malformed",
        ),
        (
            "a signed route without a signed header",
            post("/v1/drawer", json, 2),
            b"{}".to_vec(),
            401,
            "request.unsigned",
        ),
        (
            "a signed header field that is not base64",
            format!(
                "{}\r\n{HEADER_FIELD}: ***\r\n{SIGNATURE_FIELD}: ***",
                post("/v1/drawer", json, 2)
            ),
            b"{}".to_vec(),
            400,
            "request.malformed",
        ),
        (
            "a signed header field over its size",
            format!(
                "{}\r\n{HEADER_FIELD}: {}\r\n{SIGNATURE_FIELD}: AAAA",
                post("/v1/drawer", json, 2),
                "A".repeat(4096)
            ),
            b"{}".to_vec(),
            413,
            "request.too_large",
        ),
        (
            "header fields over their limit",
            format!(
                "{}\r\nX-Padding: {}",
                post("/v1/status", json, 2),
                "p".repeat(HEADER_BYTES_MAX)
            ),
            b"{}".to_vec(),
            431,
            "",
        ),
    ];
    for (what, head, body, status, code) in cases {
        assert_eq!(
            send(&served, &head, &body).await,
            (status, code.to_owned()),
            "{what}"
        );
    }

    // A well-formed signed request before any login: no such session.
    let body = b"{}";
    let header = RequestHeader {
        route: Route::Drawer,
        session: [9; 32],
        device_id: served.bank.tellers[0].device.id.clone(),
        counter: 1,
        client_time: time::OffsetDateTime::now_utc().unix_timestamp(),
        body_hash: body_hash(body),
    };
    let (bytes, signature) = header
        .sign(served.bank.tellers[0].device.key(), &[1; 32])
        .unwrap();
    let head = format!(
        "{}\r\n{HEADER_FIELD}: {}\r\n{SIGNATURE_FIELD}: {}",
        post("/v1/drawer", json, body.len()),
        pqbank_api::to_text(&bytes),
        pqbank_api::to_text(&signature)
    );
    assert_eq!(
        send(&served, &head, body).await,
        (401, "session_ended".into())
    );

    assert_eq!(
        served.written().await,
        before,
        "a bad request wrote something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_finish_are_dropped() {
    let served = serve(None).await;
    let before = served.written().await;

    let verifier = VouchedKey::new(served.bank.root.fingerprint());
    let (header, body, verify_body, handshake) = tokio::join!(
        never_finished_header(&served, &verifier),
        truncated_body(&served, &verifier, "/v1/login", ""),
        // The log's verification may take VERIFY_TIMEOUT, its body no longer than others.
        truncated_body(
            &served,
            &verifier,
            "/v1/audit/verify",
            "\r\npqbank-request: AAAA\r\npqbank-signature: AAAA",
        ),
        never_began_tls(&served),
    );
    assert!(
        header.is_ok(),
        "a client that never finished its header fields was kept"
    );
    assert!(header.unwrap() >= HEADER_READ_TIMEOUT - Duration::from_secs(1));
    assert_eq!(
        body.expect("a truncated body held the connection past the request timeout"),
        (408, "request.timeout".into())
    );
    assert_eq!(
        verify_body
            .expect("a truncated body to audit/verify was waited for past the request timeout"),
        (408, "request.timeout".into())
    );
    assert!(
        handshake.is_ok(),
        "a connection that never began TLS was kept"
    );

    assert_eq!(served.written().await, before);
}

/// Header fields begun and never finished: how long until the server closed.
async fn never_finished_header(
    served: &Served,
    verifier: &VouchedKey,
) -> Result<Duration, tokio::time::error::Elapsed> {
    let mut slow = pqbank_net::connect(served.addr, verifier).await.unwrap();
    slow.write_all(b"POST /v1/status HTTP/1.1\r\nContent-Type: app")
        .await
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let bound = HEADER_READ_TIMEOUT + Duration::from_secs(10);
    let _ = tokio::time::timeout(bound, slow.read_to_end(&mut rest)).await?;
    Ok(started.elapsed())
}

/// A body shorter than declared to `path` (with `fields` after the content length), the
/// client then silent: the answer.
async fn truncated_body(
    served: &Served,
    verifier: &VouchedKey,
    path: &str,
    fields: &str,
) -> Result<(u16, String), tokio::time::error::Elapsed> {
    let mut short = pqbank_net::connect(served.addr, verifier).await.unwrap();
    let head = post(path, "application/json", 100);
    short
        .write_all(format!("{head}{fields}\r\nHost: bank\r\n\r\n{{\"a\"").as_bytes())
        .await
        .unwrap();
    let bound = pqbank_server::limits::REQUEST_TIMEOUT + Duration::from_secs(10);
    tokio::time::timeout(bound, read_answer(&mut short)).await
}

/// TCP opened and no TLS handshake ever begun: whether the server closed it in time.
async fn never_began_tls(served: &Served) -> Result<(), tokio::time::error::Elapsed> {
    let mut silent = tokio::net::TcpStream::connect(served.addr).await.unwrap();
    let mut nothing = Vec::new();
    let bound = Duration::from_millis(pqbank_net::HANDSHAKE_TIMEOUT_MS) + Duration::from_secs(10);
    tokio::time::timeout(bound, silent.read_to_end(&mut nothing))
        .await
        .map(|_| ())
}

/// A chunked body of `len` bytes of JSON-ish filler, in 8 KiB chunks, with its end.
fn chunked(len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let chunk = vec![b' '; 8192];
    let mut sent = 0;
    while sent < len {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(b"\r\n");
        sent += chunk.len();
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn challenge(name: &str) -> String {
    serde_json::json!({
        "certificate": "00".repeat(32),
        "device_id": "ZGV2aWNl",
        "declared_name": name,
    })
    .to_string()
}
