//! Where this workstation's bank is, and the signed-in staff member's [`Bank`] on it:
//! the embedded bank (the service in this process, on this machine's SQLite file) or a
//! branch's pqbank-server over TLS, its key vouched for under the pinned root. The
//! workstation never holds the credentials of a shared database: a branch reaches its
//! bank only through the server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pqbank_api::wire::{
    ActivityAnswer, ApproveAnswer, ChainAnswer, CheckpointAnswer, CrlsAnswer, DrawerAnswer,
    DrawerEventView, EnrolmentStatusAnswer, EnrolmentsAnswer, ErrorBody, OpenAnswer, PendingAnswer,
    PostAnswer, ProofAnswer, RenewAnswer, ResolveAnswer, RevokeAnswer, SearchAnswer, StaffAnswer,
    VariancesAnswer, VerifyAnswer,
};
use pqbank_api::{Bank, BankResult, SignedReport};
use pqbank_client::{DeviceKey, Remote, ServerBank};
use pqbank_db_sqlite::SqliteStore;
use pqbank_ledger::TransferRequest;
use pqbank_net::VouchedKey;
use pqbank_pki::{Fingerprint, RevocationReason, Role};
use pqbank_service::{CrlPins, Device, FileLogPin, InProcess, Service};

use crate::{UiError, WorkstationErrorCode as Own};

/// The bank this workstation works with.
pub(crate) enum Link {
    /// The embedded bank: the service in process on this machine's SQLite file.
    Embedded(Arc<Service<SqliteStore>>),
    /// A branch: pqbank-server at `url`.
    Server {
        /// As configured (`https://host:port`).
        url: String,
        /// Where it listens.
        addr: SocketAddr,
        /// The root its TLS key must be vouched for under.
        pin: Fingerprint,
        /// The one verifier of this installation's connections (its clones share the
        /// newest root CRL number it accepted, so an older one is refused).
        verifier: VouchedKey,
        /// Where that number is kept across starts (this machine's data folder).
        crl_pins: Arc<dyn CrlPins>,
        /// The highest log size this machine has seen at the server and its root (its
        /// data folder), which every sign-in holds the server's log to; `None` for a
        /// link made only to check a server.
        log_pin: Option<Arc<FileLogPin>>,
        /// The connection for calls before anyone signs in (boxed: the embedded link is a
        /// pointer).
        remote: Box<Remote>,
    },
}

/// A signed-in staff member's bank, over whichever link.
pub(crate) enum Signed {
    /// In process.
    Embedded(InProcess<SqliteStore>),
    /// Through pqbank-server.
    Server(ServerBank),
}

/// The server address a URL names: `https://host:port` (the port is required: the
/// server's is the installation's choice), resolved once.
pub fn server_addr(url: &str) -> Result<SocketAddr, UiError> {
    let bad = || {
        UiError::new(
            Own::InputServer,
            "a server is https://host:port, for example https://10.0.7.2:8443",
        )
    };
    let rest = url.trim().strip_prefix("https://").ok_or_else(bad)?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains('/') || authority.contains('@') {
        return Err(bad());
    }
    std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

/// Opens and migrates the embedded database at a `sqlite://PATH` URL or a plain path.
pub(crate) async fn open_embedded(url: &str) -> Result<SqliteStore, UiError> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = Path::new(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| UiError::io(parent, &e))?;
    }
    let store = SqliteStore::open(path).await?;
    pqbank_db::Backend::migrate(&store).await?;
    Ok(store)
}

impl Link {
    /// A branch's link to the server at `url` under `pin` (nothing is sent yet): the
    /// server must present a root CRL no older than the newest `crl_pins` holds for the
    /// root, and at every sign-in a log that extends the one `log_pin` holds.
    pub(crate) fn server(
        url: &str,
        pin: Fingerprint,
        crl_pins: Arc<dyn CrlPins>,
        log_pin: Option<Arc<FileLogPin>>,
    ) -> Result<Self, UiError> {
        let addr = server_addr(url)?;
        let seen = crl_pins.pinned(&pin)?.unwrap_or(0);
        let verifier = VouchedKey::new(pin).with_crl_pin(seen);
        Ok(Self::Server {
            url: url.trim().trim_end_matches('/').to_owned(),
            addr,
            pin,
            remote: Box::new(Remote::new(addr, verifier.clone())),
            verifier,
            crl_pins,
            log_pin,
        })
    }

    /// Keeps the newest root CRL number the server's handshakes showed, so a server
    /// presenting an older one is refused after a restart too.
    fn keep_crl_pin(&self) -> Result<(), UiError> {
        if let Self::Server {
            pin,
            verifier,
            crl_pins,
            ..
        } = self
        {
            let seen = verifier.crl_pin();
            if seen > 0 {
                crl_pins.raise(pin, seen)?;
            }
        }
        Ok(())
    }

    /// Where the bank is, for the status line and the settings screen.
    pub(crate) fn location(&self, embedded_url: &str) -> String {
        match self {
            Self::Embedded(_) => embedded_url.to_owned(),
            Self::Server { url, .. } => url.clone(),
        }
    }

    /// Signs in with `certificate` on `device`: every layer checked by the service (in
    /// process, or at the server, which records the address it saw beside `origin`).
    pub(crate) async fn login(
        &self,
        device: Arc<DeviceKey>,
        certificate: Fingerprint,
        origin: &str,
    ) -> Result<Signed, UiError> {
        match self {
            Self::Embedded(service) => {
                let here = Arc::new(Device::new(
                    &device.id,
                    pqbank_pki::CompositeSigningKey::from_seed(device.key.seed()),
                ));
                let bank = InProcess::login(service.clone(), here, certificate, origin).await?;
                Ok(Signed::Embedded(bank))
            }
            Self::Server {
                addr,
                pin,
                verifier,
                log_pin,
                ..
            } => {
                // A connection per session: a signed-out user's keeps nothing open.
                let remote = Remote::new(*addr, verifier.clone());
                let pinned = match log_pin {
                    Some(kept) => kept.pinned(pin)?,
                    None => None,
                };
                let opened = remote
                    .login_pinned(device, certificate, origin, pinned)
                    .await
                    .map_err(client_error);
                self.keep_crl_pin()?;
                let (session, seen) = opened?;
                if let (Some(kept), Some(seen)) = (log_pin, seen) {
                    kept.raise(pin, &seen)?;
                }
                Ok(Signed::Server(ServerBank { remote, session }))
            }
        }
    }

    /// A new hire's device asks to be enrolled: returns the request's id, the short code
    /// (computed here from the request's bytes) and the CSR's fingerprint.
    pub(crate) async fn request_enrolment(
        &self,
        device: &DeviceKey,
        staff_number: &str,
        role: Role,
    ) -> Result<(i64, String, Fingerprint), UiError> {
        let request = pqbank_client::EnrolmentRequest::new(device, staff_number, role)
            .map_err(client_error)?;
        let id = match self {
            Self::Embedded(service) => {
                service
                    .submit_enrolment(request.csr.der(), &request.recipient, staff_number, role)
                    .await?
                    .0
            }
            Self::Server { remote, .. } => {
                let id = remote
                    .submit_enrolment(&request)
                    .await
                    .map_err(client_error);
                self.keep_crl_pin()?;
                id?
            }
        };
        Ok((id, request.code(), request.csr.fingerprint()))
    }

    /// The state of this device's own request, read with its signature.
    pub(crate) async fn enrolment_status(
        &self,
        device: &DeviceKey,
        id: i64,
    ) -> Result<EnrolmentStatusAnswer, UiError> {
        match self {
            Self::Embedded(service) => {
                let asked = pqbank_client::enrolment_status_body(device, id, now())
                    .map_err(client_error)?;
                let signature = pqbank_api::from_text(&asked.signature, pqbank_api::SIGNATURE_LEN)
                    .map_err(|e| UiError::new(Own::Internal, e.to_string()))?;
                let record = service
                    .enrolment_for_device(id, asked.created_at, &signature)
                    .await?;
                Ok(pqbank_service::wire_views::enrolment_status(record))
            }
            Self::Server { remote, .. } => {
                let status = remote
                    .enrolment_status(device, id)
                    .await
                    .map_err(client_error);
                self.keep_crl_pin()?;
                status
            }
        }
    }

    /// The server's root, checked against the pin by the TLS handshake itself (a server
    /// whose key no certificate under the pin vouches for is refused before a request).
    pub(crate) async fn check_server(&self) -> Result<(), UiError> {
        if let Self::Server { remote, pin, .. } = self {
            let status = remote.status().await.map_err(client_error);
            self.keep_crl_pin()?;
            let status = status?;
            if status.root != pin.to_hex() {
                return Err(UiError::new(
                    Own::SetupRootNotFound,
                    "that server serves a bank under another root",
                ));
            }
        }
        Ok(())
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A client's failure as the wire would carry it.
pub(crate) fn client_error(e: pqbank_client::ClientError) -> UiError {
    UiError::from(ErrorBody {
        code: e.code,
        message: e.message,
    })
}

/// Runs `$body` with `$b` bound to the bank, whichever link carries it.
macro_rules! each {
    ($signed:expr, $b:ident => $body:expr) => {
        match $signed {
            Signed::Embedded($b) => $body,
            Signed::Server($b) => $body,
        }
    };
}

impl Bank for Signed {
    fn staff_id(&self) -> i64 {
        each!(self, b => b.staff_id())
    }

    fn role(&self) -> Role {
        each!(self, b => b.role())
    }

    fn certificate(&self) -> Fingerprint {
        each!(self, b => b.certificate())
    }

    async fn find_customers(&self, query: &str) -> BankResult<SearchAnswer> {
        each!(self, b => b.find_customers(query).await)
    }

    async fn drawer(&self) -> BankResult<DrawerAnswer> {
        each!(self, b => b.drawer().await)
    }

    async fn open_drawer(&self, counted_minor: i64, key: &str) -> BankResult<OpenAnswer> {
        each!(self, b => b.open_drawer(counted_minor, key).await)
    }

    async fn close_drawer(&self, counted_minor: i64, key: &str) -> BankResult<DrawerEventView> {
        each!(self, b => b.close_drawer(counted_minor, key).await)
    }

    async fn post_transfer(&self, transfer: TransferRequest) -> BankResult<PostAnswer> {
        each!(self, b => b.post_transfer(transfer).await)
    }

    async fn pending_transfers(&self) -> BankResult<PendingAnswer> {
        each!(self, b => b.pending_transfers().await)
    }

    async fn resolve_transfer(
        &self,
        id: i64,
        request_hash: &str,
        post: bool,
    ) -> BankResult<ResolveAnswer> {
        each!(self, b => b.resolve_transfer(id, request_hash, post).await)
    }

    async fn variance_queue(&self) -> BankResult<VariancesAnswer> {
        each!(self, b => b.variance_queue().await)
    }

    async fn sign_off_variance(&self, event_id: i64) -> BankResult<()> {
        each!(self, b => b.sign_off_variance(event_id).await)
    }

    async fn checkpoint(&self) -> BankResult<CheckpointAnswer> {
        each!(self, b => b.checkpoint().await)
    }

    async fn verify_log(&self) -> BankResult<VerifyAnswer> {
        each!(self, b => b.verify_log().await)
    }

    async fn inclusion_proof(&self, event_id: i64, tree_size: u64) -> BankResult<ProofAnswer> {
        each!(self, b => b.inclusion_proof(event_id, tree_size).await)
    }

    async fn chain(&self, subject: Fingerprint) -> BankResult<ChainAnswer> {
        each!(self, b => b.chain(subject).await)
    }

    async fn report(&self, subject: Fingerprint) -> BankResult<SignedReport> {
        each!(self, b => b.report(subject).await)
    }

    async fn activity(&self) -> BankResult<ActivityAnswer> {
        each!(self, b => b.activity().await)
    }

    async fn staff(&self) -> BankResult<StaffAnswer> {
        each!(self, b => b.staff().await)
    }

    async fn crls(&self) -> BankResult<CrlsAnswer> {
        each!(self, b => b.crls().await)
    }

    async fn enrolment_queue(&self) -> BankResult<EnrolmentsAnswer> {
        each!(self, b => b.enrolment_queue().await)
    }

    async fn approve_enrolment(
        &self,
        request_id: i64,
        typed_code: &str,
    ) -> BankResult<ApproveAnswer> {
        each!(self, b => b.approve_enrolment(request_id, typed_code).await)
    }

    async fn revoke(
        &self,
        certificate: Fingerprint,
        reason: RevocationReason,
    ) -> BankResult<RevokeAnswer> {
        each!(self, b => b.revoke(certificate, reason).await)
    }

    async fn renew(&self, certificate: Fingerprint) -> BankResult<RenewAnswer> {
        each!(self, b => b.renew(certificate).await)
    }

    async fn logout(&self) -> BankResult<()> {
        each!(self, b => b.logout().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_by_https_host_and_port() {
        assert_eq!(
            server_addr("https://127.0.0.1:8443").unwrap(),
            "127.0.0.1:8443".parse().unwrap()
        );
        assert_eq!(
            server_addr(" https://127.0.0.1:8443/ ").unwrap(),
            "127.0.0.1:8443".parse().unwrap()
        );
        for bad in [
            "http://127.0.0.1:8443",
            "https://127.0.0.1",
            "https://user@127.0.0.1:8443",
            "https://127.0.0.1:8443/v1",
            "mysql://root@127.0.0.1:3306/pqbank",
            "https://",
        ] {
            assert_eq!(
                server_addr(bad).unwrap_err().code,
                Own::InputServer.into(),
                "{bad}"
            );
        }
    }
}
