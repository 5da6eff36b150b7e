//! Every bound the server keeps, named. A request over a limit gets its code and
//! nothing is written; the tests in `tests/bad_input.rs` cross each one.

use std::time::Duration;

/// Connections served at once; the next waits for one to close.
pub const CONNECTIONS_MAX: usize = 256;
/// Longest a TLS handshake may take (pqbank-net's bound).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(pqbank_net::HANDSHAKE_TIMEOUT_MS);
/// Longest the request line and header fields may take to arrive: a client that never
/// finishes them is dropped.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest one request may take, from its header fields to the answer, body included
/// (the body's arrival is bounded by it on every route).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest the whole log's verification may take (`audit/verify` only): it reads every
/// row, so it is bounded by the bank's size, not by a client.
/// Under [`CONNECTION_LIFETIME`], so a verification is answered, not cut off.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Longest a connection stays open, however busy: a workstation reconnects.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Largest request line and header fields, in bytes (hyper's read buffer; its least).
pub const HEADER_BYTES_MAX: usize = 16 * 1024;
/// Largest body (the wire contract's).
pub const BODY_BYTES_MAX: usize = pqbank_api::BODY_LEN_MAX;
/// Requests per second, sustained, from one address.
pub const ADDRESS_RATE: f64 = 50.0;
/// Requests at once, in a burst, from one address.
pub const ADDRESS_BURST: f64 = 100.0;
/// Requests per second, sustained, on one session (one certificate's login).
pub const SESSION_RATE: f64 = 20.0;
/// Requests at once, in a burst, on one session.
pub const SESSION_BURST: f64 = 40.0;
/// Highest rate or burst `pqbank-server serve` takes (`--session-rate`, ...): a
/// benchmark's "no limit" that is still a number.
pub const RATE_SETTING_MAX: f64 = 1_000_000.0;
/// Addresses or sessions a rate table remembers; it starts over when full.
pub const RATE_KEYS_MAX: usize = 10_000;
