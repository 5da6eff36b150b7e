//! Routes to service calls: each body parsed into its wire type (refused as
//! `request.malformed` if it is not), the call made, the answer written as JSON.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::StatusCode;
use pqbank_api::wire::{
    AccountView, ChallengeAnswer, ChallengeBody, CustomerHit, DECLARED_NAME_LEN_MAX, DrawerAnswer,
    Empty, LoginAnswer, LoginBody, PendingAnswer, PendingItem, PostAnswer, PostBody, ResolveAnswer,
    ResolveBody, SearchAnswer, SearchBody, StatusAnswer,
};
use pqbank_api::{Request, RequestCode, Route};
use pqbank_db::{AccountRow, Store};
use pqbank_pki::Fingerprint;
use pqbank_pki::transcript::SignedTranscript;
use pqbank_service::SignedDecision;
use serde::de::DeserializeOwned;

use crate::App;
use crate::answer::{Answer, Refusal, json};

/// A route that needs no session: the status, the login challenge and the login.
pub(crate) async fn open<S: Store>(
    app: &App<S>,
    route: Route,
    peer: SocketAddr,
    body: &[u8],
) -> Result<Answer, Refusal> {
    let service = &app.service;
    match route {
        Route::Status => {
            let _: Empty = parse(body)?;
            Ok(ok(&StatusAnswer {
                root: app.root.to_hex(),
                server_time: service.now(),
            }))
        }
        Route::LoginChallenge => {
            let asked: ChallengeBody = parse(body)?;
            let certificate = fingerprint(&asked.certificate)?;
            let device_id = base64(&asked.device_id, pqbank_api::DEVICE_ID_LEN_MAX)?;
            let origin = origin(peer, &asked.declared_name)?;
            let nonce = service.challenge(certificate, &device_id, &origin).await?;
            Ok(ok(&ChallengeAnswer {
                nonce: STANDARD.encode(nonce),
                origin,
            }))
        }
        Route::Login => {
            let login: LoginBody = parse(body)?;
            let certificate = fingerprint(&login.certificate)?;
            let device_id = base64(&login.device_id, pqbank_api::DEVICE_ID_LEN_MAX)?;
            let origin = origin(peer, &login.declared_name)?;
            let transcript = base64(&login.transcript, TRANSCRIPT_LEN_MAX)?;
            let signed = SignedTranscript::from_bytes(&transcript)
                .map_err(|_| Refusal::malformed("a signed login transcript"))?;
            let opened = service
                .login_at_server(certificate, &device_id, &origin, &signed)
                .await?;
            Ok(ok(&LoginAnswer {
                sealed_session: STANDARD.encode(&opened.sealed),
                staff_id: opened.staff_id,
                role: opened.role.as_str().to_owned(),
                idle_timeout_secs: opened.idle_timeout_secs,
            }))
        }
        _ => Err(not_served()),
    }
}

/// A route of a session: the request passed [`pqbank_api::decode`]; the service checks
/// its signature, chain and counter before acting.
pub(crate) async fn signed<S: Store>(
    app: &App<S>,
    route: Route,
    request: &Request<'_>,
) -> Result<Answer, Refusal> {
    let service = &app.service;
    let body = request.body();
    match route {
        Route::Logout => {
            let _: Empty = parse(body)?;
            service.serve_logout(request).await?;
            Ok(ok(&Empty {}))
        }
        Route::CustomersSearch => {
            let search: SearchBody = parse(body)?;
            let found = service.serve_find_customers(request, &search.query).await?;
            Ok(ok(&SearchAnswer {
                customers: found
                    .into_iter()
                    .map(|(c, accounts)| CustomerHit {
                        id: c.id,
                        number: c.number,
                        full_name: c.full_name,
                        accounts: accounts.iter().map(account).collect(),
                    })
                    .collect(),
            }))
        }
        Route::Drawer => {
            let _: Empty = parse(body)?;
            let state = service.serve_drawer(request).await?;
            Ok(ok(&DrawerAnswer {
                drawer: state.drawer.as_ref().map(account),
                open: state.open,
                vault: state.vault.as_ref().map(account),
                variance: state.variance.as_ref().map(account),
            }))
        }
        Route::TransferPost => {
            let post: PostBody = parse(body)?;
            let signature = base64(&post.signature, pqbank_api::SIGNATURE_LEN)?;
            let outcome = service
                .serve_post_transfer(request, post.transfer, signature)
                .await?;
            Ok(ok(&PostAnswer {
                id: outcome.id,
                status: outcome.status,
                expires_at: outcome.expires_at,
                replayed: outcome.replayed,
            }))
        }
        Route::TransfersPending => {
            let _: Empty = parse(body)?;
            let rows = service.serve_pending_transfers(request).await?;
            Ok(ok(&PendingAnswer {
                transfers: rows
                    .into_iter()
                    .map(|t| PendingItem {
                        id: t.id,
                        request_hash: hex::encode(t.request_hash),
                        transfer: t.request,
                        expires_at: t.expires_at,
                    })
                    .collect(),
            }))
        }
        Route::TransferResolve => {
            let resolve: ResolveBody = parse(body)?;
            let transfer_hash = hex::decode(&resolve.transfer_hash)
                .ok()
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
                .ok_or_else(|| Refusal::malformed("a transfer hash"))?;
            let status = service
                .serve_resolve_transfer(
                    request,
                    SignedDecision {
                        transfer_id: resolve.transfer_id,
                        transfer_hash,
                        post: resolve.post,
                        created_at: resolve.created_at,
                        signature: base64(&resolve.signature, pqbank_api::SIGNATURE_LEN)?,
                    },
                )
                .await?;
            Ok(ok(&ResolveAnswer { status }))
        }
        _ => Err(not_served()),
    }
}

/// Longest signed login transcript read.
const TRANSCRIPT_LEN_MAX: usize = 8 * 1024;

fn ok<T: serde::Serialize>(body: &T) -> Answer {
    json(StatusCode::OK, body)
}

fn not_served() -> Refusal {
    Refusal {
        code: RequestCode::RouteUnknown.to_string(),
        message: "this server does not serve that route yet".into(),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|_| Refusal::malformed("the JSON this route takes"))
}

fn base64(text: &str, max: usize) -> Result<Vec<u8>, Refusal> {
    Ok(pqbank_api::from_text(text, max)?)
}

fn fingerprint(text: &str) -> Result<Fingerprint, Refusal> {
    Fingerprint::from_hex(text).map_err(|_| Refusal::malformed("a certificate fingerprint"))
}

/// The login origin: the address the server saw, with the name the workstation declared
/// beside it, marked as declared (only the address is the server's own observation).
fn origin(peer: SocketAddr, declared: &str) -> Result<String, Refusal> {
    let printable = declared
        .chars()
        .all(|c| !c.is_control() && c != '(' && c != ')');
    if declared.is_empty() || declared.len() > DECLARED_NAME_LEN_MAX || !printable {
        return Err(Refusal {
            code: RequestCode::Malformed.to_string(),
            message: format!(
                "the declared workstation name must be 1 to {DECLARED_NAME_LEN_MAX} printable \
                 bytes without parentheses"
            ),
        });
    }
    Ok(format!("{} (declared: {declared})", peer.ip()))
}

fn account(a: &AccountRow) -> AccountView {
    AccountView {
        id: a.id,
        number: a.number.clone(),
        kind: a.kind,
        currency: a.currency,
        closed: a.closed,
    }
}
