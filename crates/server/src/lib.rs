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
pub use http::{RateLimits, serve};
pub use rate::RateTable;
pub use state::{State, StateError, identity, write_private};

/// What the server serves with: the service (holding the server key) and the root it
/// serves under.
pub struct App<S> {
    service: Service<S>,
    root: Fingerprint,
    rates: http::Rates,
}

impl<S: Store> App<S> {
    /// The app over a service that holds the server's key, with the default rates.
    #[must_use]
    pub fn new(service: Service<S>, root: Fingerprint) -> Arc<Self> {
        Self::with_rates(service, root, &RateLimits::default())
    }

    /// The app with other request rates (a benchmark lifts them).
    #[must_use]
    pub fn with_rates(service: Service<S>, root: Fingerprint, rates: &RateLimits) -> Arc<Self> {
        Arc::new(Self {
            service,
            root,
            rates: http::Rates::new(rates),
        })
    }

    /// The service.
    #[must_use]
    pub fn service(&self) -> &Service<S> {
        &self.service
    }
}

/// How often the server expires pending transfers past their expiry.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// The job nobody has to click: at start and every [`SWEEP_INTERVAL`], expires the
/// pending transfers past their expiry, releasing their reservations, each sweep logged
/// on the server's own chain ([`Service::sweep_expired`]). Runs until dropped.
pub async fn sweep<S: Store>(app: Arc<App<S>>) {
    let mut every = tokio::time::interval(SWEEP_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = app.service.sweep_expired().await {
            tracing::warn!(code = e.code().as_str(), "expiry sweep failed: {e}");
        }
    }
}
