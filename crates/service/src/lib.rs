//! pqbank's service API: the one API the desktop app, the CLI and the tests call.
//!
//! Every call re-checks, in Rust, what DESIGN.md lists: the session is alive and not
//! idle-expired; the certificate chain validates against the pinned root at this moment,
//! under the newest CRL of every issuer (never older than the number the session or
//! the installation pinned); the certificate is bound to this device and lists the
//! action; the role permits it. Only then is the act signed with the device key and
//! written, together with its accountability event, in one transaction. A refusal is
//! logged on the certificate's chain too.
#![forbid(unsafe_code)]

mod acts;
mod authority;
mod check;
mod checkpoint;
pub mod demo;
mod device;
mod enrol;
mod error;
mod inprocess;
#[cfg(feature = "install")]
mod install;
mod login;
mod pdf;
mod pins;
mod policy;
mod remote;
mod report;
mod request;
mod server_key;
mod service;
mod trace;
mod verify;
mod views;
pub mod wire_views;

pub use acts::ACT_SIGNATURES_MAX;
pub use checkpoint::{
    CHECKPOINT_EVENTS_MAX, CHECKPOINT_LABEL, CHECKPOINT_SECS_MAX, InclusionProof, LogPin,
    checkpoint_bytes,
};
pub use device::{ACT_CONTEXT, Device};
pub use enrol::{DELIVERY_PURPOSE, enrolment_qr_svg, short_code};
pub use error::{ServiceCode, ServiceError};
pub use inprocess::InProcess;
pub use login::{ServedLogin, SessionToken};
pub use pdf::report_pdf;
pub use pins::{CrlPins, FileCrlPins, FileLogPin, FileVerifiedLog, MemoryCrlPins, lock_beside};
pub use remote::{CertificatePrepared, SignedAt, SignedCount, SignedDecision};
pub use report::SignedReport;
pub use request::{CLOCK_SKEW_MAX_SECS, Caller};
pub use server_key::{SERVER_EVENT_CONTEXT, ServerKey};
pub use service::{Config, Service};
pub use trace::{layer_name, layer_of, log_store_error};
pub use verify::{
    ChainState, CheckpointState, Hex, HexBytes, LATE_COMMIT_WINDOW, LogReport, Marks, Problem,
    VERIFIED_FORMAT, VerifiedLog, VersionState,
};
pub use views::{DrawerState, StaffOverview};
