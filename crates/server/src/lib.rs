//! `pqbank-server`: the bank's backend. It alone holds the database's credentials (a
//! runtime account without DDL, triggers or changes to append-only tables); branch
//! workstations hold only their device keys and reach it over TLS 1.3 with the hybrid
//! X25519MLKEM768 exchange, its TLS key vouched for by a certificate under the bank's
//! root (`pqbank-net`).
//!
//! Every call but the status and the login is a request the device signed (route,
//! session, counter, clock, body hash; `pqbank-api`), checked by the service before it
//! acts; the events of what the server does are signed by its own key over the device's
//! signed request (format v2). What the server keeps on disk is its [`State`]: the
//! server certificate, its composite key, the TLS key and the root's fingerprint.

mod answer;
mod dispatch;
mod http;
pub mod limits;
mod rate;
mod state;

use std::sync::Arc;

use pqbank_db::Store;
use pqbank_pki::Fingerprint;
use pqbank_service::Service;

pub use answer::status_of;
pub use http::serve;
pub use rate::RateTable;
pub use state::{State, StateError, identity};

/// What the server serves with: the service (holding the server key) and the root it
/// serves under.
pub struct App<S> {
    service: Service<S>,
    root: Fingerprint,
    rates: http::Rates,
}

impl<S: Store> App<S> {
    /// The app over a service that holds the server's key.
    #[must_use]
    pub fn new(service: Service<S>, root: Fingerprint) -> Arc<Self> {
        Arc::new(Self {
            service,
            root,
            rates: http::Rates::default(),
        })
    }

    /// The service.
    #[must_use]
    pub fn service(&self) -> &Service<S> {
        &self.service
    }
}
