//! The wire contract between a workstation and the bank's service, the same for the
//! in-process service of an embedded bank and for `pqbank-server`: the routes, the
//! request header every call's device signs, and the strict decoder the service runs on
//! every request's outside bytes before anything else.
//!
//! A request is three things: the header's canonical bytes ([`RequestHeader::to_bytes`]),
//! the device's composite signature over [`RequestHeader::digest`] (under the act
//! context), and the body. The header binds the route (so the action), the session, the
//! device, a counter that must rise along the session, the client's clock and the
//! body's hash; [`decode`] checks everything that needs no key or database: sizes, tags,
//! the route and the body's hash. The service then checks the signature with the session
//! certificate's key and claims the counter.
#![forbid(unsafe_code)]

pub mod acts;
mod bank;
mod demo_staff;
mod error;
mod header;
mod route;
pub mod wire;

pub use acts::{CHECKPOINT_LABEL, LogPin, checkpoint_bytes};
pub use bank::{Bank, BankResult, SignedReport};
pub use demo_staff::{DemoKeys, DemoStaff, DemoStaffMember, STAFF_FILE_LEN_MAX};
pub use error::{RequestCode, RequestError};
pub use header::{
    ACT_CONTEXT, BODY_LEN_MAX, DEVICE_ID_LEN_MAX, HEADER_LEN_MAX, REQUEST_TAG, Request,
    RequestHeader, RequestRecord, SIGNATURE_LEN, body_hash, decode, from_text, session_id, to_text,
};
pub use route::Route;
