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
pub use state::{State, StateError, identity, read_log_pin, write_log_pin, write_private};

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

/// How often the server looks whether a checkpoint is due and whether the log was cut
/// short.
pub const LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the server stopped keeping the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The database's log is shorter than, or diverges from, the pin.
    #[error(transparent)]
    Service(#[from] pqbank_service::ServiceError),
    /// The pin could not be written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The server's log keeper. At start the database's log must hold the pin in the state
/// directory `dir` (the highest size this server has seen, and the root of that many
/// events), or the server does not serve; with no pin yet, the log's head now is pinned.
/// Then every [`LOG_INTERVAL`]: a log shorter than the pin stops the server; a checkpoint
/// due ([`Service::server_checkpoint`]: every 1,000 events or 5 minutes) is signed once
/// the log's first pinned events are seen to have the pinned root, and the pin is raised
/// to it. Returns only when the log no longer holds the pin (or the pin cannot be
/// written): the server stops rather than serve a log someone cut short or rewrote.
pub async fn keep_log<S: Store>(
    service: &Service<S>,
    dir: &std::path::Path,
) -> Result<core::convert::Infallible, LogError> {
    let mut pin = match read_log_pin(dir)? {
        Some(pin) => pin,
        None => {
            let pin = service.log_pin().await?;
            write_log_pin(dir, &pin)?;
            pin
        }
    };
    service.check_log_pin(&pin).await?;
    let mut every = tokio::time::interval(LOG_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = keep_once(service, dir, &mut pin).await {
            if matches!(e, LogError::Service(pqbank_service::ServiceError::Audit(_))) {
                tracing::error!("the log no longer holds its pin: {e}");
                return Err(e);
            }
            tracing::warn!("checkpoint failed: {e}");
        }
    }
}

/// One turn of [`keep_log`].
async fn keep_once<S: Store>(
    service: &Service<S>,
    dir: &std::path::Path,
    pin: &mut pqbank_service::LogPin,
) -> Result<(), LogError> {
    if service.log_size().await? < pin.size {
        service.check_log_pin(pin).await?;
    }
    if service.checkpoint_due().await? {
        service.check_log_pin(pin).await?;
        if let Some(c) = service.server_checkpoint().await? {
            *pin = pqbank_service::LogPin {
                size: u64::try_from(c.tree_size).unwrap_or(0),
                root: c.root,
            };
            write_log_pin(dir, pin)?;
        }
    }
    Ok(())
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
