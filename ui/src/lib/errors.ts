// The service's and the workstation's errors in words a teller understands, keyed by their
// stable code (never by the message). The codes are the generated `ErrorCode` type, so a
// code without words here fails `npm run check`.

import type { CertificateErrorCode, ErrorCode, ForbiddenErrorCode, LoginErrorCode, UiError } from "./bindings";

export const LAYER_NAMES: Record<number, string> = {
  1: "Hybrid signatures",
  2: "Pinned SHA3 fingerprint",
  3: "Device binding",
  4: "Purpose locking",
  5: "CRL pinning",
  6: "Lineage",
  7: "Single-use challenge",
};

/** The PKI's refusals: the certificate, the sign-in or the permission, each with the same reasons. */
type PkiCode = CertificateErrorCode | LoginErrorCode | ForbiddenErrorCode;
/** What follows a family's prefix: `certificate.revoked` gives `revoked`. */
type PkiReason = PkiCode extends infer C ? (C extends `${string}.${infer R}` ? R : never) : never;

// Why the PKI refused, whichever family carried it (the lead says which).
const PKI_REASONS: Record<PkiReason, string> = {
  malformed: "its data is malformed",
  invalid_key: "a key is not valid",
  bad_signature: "a signature does not verify",
  unsupported_algorithm: "it uses an algorithm pqbank does not support",
  context_too_long: "a signing context is too long",
  seal_open: "a sealed bundle cannot be opened",
  invalid_extension: "a pqbank extension is not well formed",
  invalid_request: "the request is not valid",
  root_not_pinned: "it does not lead to this bank's pinned root. Call security",
  chain_too_long: "its issuer chain is too long",
  chain_signature: "a certificate of its chain is not signed by its issuer",
  issuer_name_mismatch: "a certificate of its chain does not name its issuer",
  key_id_mismatch: "a certificate of its chain does not match its issuer's key",
  not_yet_valid: "a certificate is not valid yet. Check this machine's clock",
  expired: "a certificate has expired. Ask a manager to renew it",
  not_ca: "a certificate that is not an authority issued another",
  path_len_exceeded: "its chain is deeper than its authority allows",
  issuer_not_authorised: "the issuer may not act on it",
  action_not_allowed: "the certificate does not allow this action",
  role_not_allowed: "the role does not allow this action",
  not_staff_certificate: "it is not a pqbank staff certificate",
  not_server_certificate: "it is not a pqbank server certificate",
  revoked: "it has been revoked. Ask a manager",
  crl_rollback: "an older revocation list was offered than this workstation has seen. Call security",
  crl_signature: "a revocation list is not signed by its issuer. Call security",
  crl_stale: "the revocation list is out of date. Ask a manager to publish a new one",
  crl_missing: "no revocation list is published for its issuer",
  lineage_mismatch: "its lineage does not name its issuer",
  device_mismatch: "it is bound to another device",
  nonce_mismatch: "the signed challenge is not the one issued",
  transcript_expired: "the signed challenge is too old. Check this machine's clock",
  certificate_mismatch: "the signed challenge names another certificate",
  transcript_device_mismatch: "the signed challenge names another device",
  origin_mismatch: "the signed challenge names another workstation",
};

/** One family's words: its lead, then the reason. */
function refusals<F extends string>(family: F, lead: string): Record<`${F}.${PkiReason}`, string> {
  const out = {} as Record<`${F}.${PkiReason}`, string>;
  for (const [reason, words] of Object.entries(PKI_REASONS)) {
    out[`${family}.${reason}` as `${F}.${PkiReason}`] = `${lead}: ${words}.`;
  }
  return out;
}

// Every code that is not one of the PKI's refusals.
const OTHERS: Record<Exclude<ErrorCode, PkiCode>, string> = {
  session_ended: "Your session has ended. Please sign in again.",
  challenge_used: "The sign-in challenge was already used or has expired. Try again.",
  unknown_certificate: "That certificate is not known to this bank.",
  audit: "The accountability log cannot give that proof or checkpoint.",
  enrolment: "The enrolment request cannot be decided as asked.",
  device: "This device's keys or its source of randomness failed. Try again, then call support.",
  crl_pins: "This workstation cannot read or write its revocation list pins. Call support.",
  "store.invalid_amount": "That amount is not valid for this currency.",
  "store.insufficient_funds": "Not enough funds: the account would go below its limit.",
  "store.currency_mismatch": "The accounts and the amount are not in the same currency.",
  "store.wrong_account_kinds": "Those accounts cannot be used for this kind of transaction.",
  "store.same_account": "Choose two different accounts.",
  "store.account_closed": "That account is closed.",
  "store.overflow": "The amount is too large for the account's totals.",
  "store.self_approval": "You cannot approve your own transfer.",
  "store.approver_not_manager": "Only a manager can approve.",
  "store.not_pending": "That transfer is no longer waiting for approval.",
  "store.expired": "That transfer waited too long and has expired.",
  "store.invalid_request": "The transaction is not valid: check the memo.",
  "store.idempotency_conflict": "This submission was already used for a different transfer. Start a new one.",
  "store.not_found": "Something this needs no longer exists. Refresh and try again.",
  "store.drawer_state": "The drawer is not in the state this needs (open or closed).",
  "store.transient": "A temporary database conflict. Your entry is kept; try again.",
  "store.busy": "The database is busy. Your entry is kept; try again.",
  "store.append_only": "The log refused a change: its rows are never changed or removed. Call security.",
  "store.stale": "Someone acted on this first. Refresh and try again.",
  "store.cache_unproven": "This account's balance does not match its journal, so nothing was applied. Call support: the bank must check the account before it is used.",
  "store.signing": "This device could not sign; nothing was written. Try again.",
  "store.database": "The database failed; nothing was applied. Try again, then call support.",
  "store.migration": "The database could not be brought up to date. Call support.",
  "store.schema_outdated": "The database has not been brought up to date for this version. Call support.",
  "store.schema_unknown": "The database was set up by another version of pqbank. Call support.",
  "request.malformed": "The bank could not read this workstation's request. Call support.",
  "request.too_large": "The request is larger than the bank accepts.",
  "request.route_unknown": "The bank does not know that request: this workstation may be newer than the bank.",
  "request.route_mismatch": "The request was signed for something else and was refused.",
  "request.body_altered": "The request changed after it was signed and was refused. Tell security.",
  "request.unsigned": "The request carried no signature and was refused.",
  "request.replayed": "The bank already received this request, or received it out of order. Try again.",
  "request.stale": "This machine's clock is too far from the bank's. Check the clock.",
  "request.method": "The bank refused how the request was sent. Call support.",
  "request.content_type": "The bank refused the request's format. Call support.",
  "request.timeout": "The request took too long to reach the bank, or to be answered. Try again.",
  "request.busy": "The bank is receiving too many requests from this workstation. Wait a moment and try again.",
  internal: "Something went wrong in this workstation. Try again, then call support.",
  io: "A file could not be read or written.",
  keyring: "The system keyring is not available. Unlock it and try again.",
  "settings.corrupt": "This workstation's settings file is not valid. Call support.",
  "settings.write": "This workstation's settings could not be saved.",
  "setup.environment": "PQBANK_DATABASE_URL chooses the database on this machine; change it there.",
  "setup.root_not_found": "That bank holds no root certificate with this fingerprint.",
  "setup.unpinned": "That bank is trusted only under its root: enter the root's fingerprint.",
  "input.database": "The bank is a branch server, https://host:port, or an embedded file, sqlite:///path/to/pqbank.db. A workstation never opens the shared database.",
  "input.server": "A server is https://host:port, for example https://10.0.7.2:8443.",
  "transport.server_key_unvouched": "The server's key is not vouched for by a certificate under this bank's root: this may not be your bank's server. Nothing was sent. Tell security.",
  "transport.bundle_malformed": "The server did not show a readable certificate for its key. Nothing was sent. Tell security.",
  "transport.root_mismatch": "The server's certificate is not under this bank's pinned root. Nothing was sent. Tell security.",
  "transport.server_certificate_revoked": "The server's certificate has been revoked. Nothing was sent. Tell security.",
  "transport.server_certificate_expired": "The server's certificate has expired. Nothing was sent. Call support.",
  "transport.server_certificate_not_yet_valid": "The server's certificate is not valid yet: check this machine's clock.",
  "transport.server_certificate_invalid": "The server's certificate was refused. Nothing was sent. Tell security.",
  "transport.kx_not_hybrid": "The server did not agree to the post-quantum key exchange. Nothing was sent. Call support.",
  "transport.tls12_refused": "The server offered an old TLS version. Nothing was sent. Call support.",
  "transport.handshake": "The secure connection to the bank's server could not be set up. Call support.",
  "transport.timeout": "The bank's server did not answer in time. Try again.",
  "transport.io": "The bank's server cannot be reached. Check the network and try again.",
  "transport.config": "This workstation's secure connection is misconfigured. Call support.",
  "transport.request": "This workstation could not write its request. Call support.",
  "transport.answer": "The bank's answer could not be read. Call support.",
  "transport.session_unsealed": "The bank's session key was not sealed to this device. Tell security.",
  "input.root": "The root fingerprint is 64 hexadecimal digits.",
  "input.fingerprint": "That is not a certificate fingerprint.",
  "input.currency": "That currency is not known.",
  "input.amount": "That amount is not valid.",
  "input.hash": "That is not a transfer or event hash.",
  "device.unknown": "This machine holds no key for that certificate.",
  "drawer.none": "No cash drawer is free for you, or the bank has no vault for its currency.",
  "drawer.not_yours": "Cash goes through your own open drawer. Open it first.",
  "enrolment.unknown": "This machine made no such enrolment request.",
};

const MESSAGES: Record<ErrorCode, string> = {
  ...refusals("certificate", "Your certificate was refused"),
  ...refusals("login", "Sign-in was refused"),
  ...refusals("forbidden", "Not allowed"),
  ...OTHERS,
  // The refusals people meet most, in words of their own.
  "certificate.revoked": "Your certificate has been revoked. Ask a manager.",
  "certificate.expired": "Your certificate has expired. Ask a manager to renew it.",
  "certificate.not_yet_valid": "Your certificate is not valid yet. Check this machine's clock.",
  "certificate.crl_rollback": "An older revocation list was offered than this workstation has seen. Call security.",
  "certificate.crl_stale": "The revocation list is out of date. Ask a manager to publish a new one.",
  "certificate.device_mismatch": "This device does not hold the key of that certificate.",
  "certificate.root_not_pinned": "The certificate does not lead to this bank's pinned root. Call security.",
  "forbidden.action_not_allowed": "Your certificate does not allow this action.",
  "forbidden.role_not_allowed": "Your role does not allow this action.",
  "forbidden.issuer_not_authorised": "You can only act on certificates you issued.",
};

/** The words for a code. */
export function words(code: ErrorCode): string {
  return MESSAGES[code];
}

export function isUiError(e: unknown): e is UiError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

// Failures whose detail (the database's or the system's own words) is in the app's log,
// not on the screen: their message says where the log is.
const DETAILS_IN_LOG: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "store.database",
  "store.migration",
  "store.schema_outdated",
  "store.schema_unknown",
  "store.transient",
  "store.signing",
  "device",
  "internal",
  "io",
  "keyring",
  "crl_pins",
  "settings.corrupt",
  "settings.write",
]);

let logPath: string | null = null;

/** Where the app writes its log (the `log_path` command), once known. */
export function setLogPath(path: string | null): void {
  logPath = path;
}

/** A message for people; for a failure whose detail is logged, where the log is. */
export function describe(e: unknown): string {
  const text = plain(e);
  if (!logPath || !isUiError(e) || !DETAILS_IN_LOG.has(e.code)) return text;
  return `${text.replace(/[.\s]*$/, ".")} Details are in ${logPath}`;
}

function plain(e: unknown): string {
  if (isUiError(e)) {
    // The workstation's own message names the field or file at fault: it says more.
    const detailed = e.code.startsWith("input.") || e.code.startsWith("settings.") || e.code === "io" || e.code === "internal";
    if (detailed && e.message) return e.message;
    // An enrolment refusal says which rule it broke (no such staff number, another role,
    // the code typed): the service's sentence is the useful part.
    if (e.code === "enrolment" && e.message) return `Enrolment refused: ${e.message.replace(/[.\s]*$/, "")}.`;
    // A code this build does not know (a newer workstation) keeps the service's message.
    return (MESSAGES as Partial<Record<string, string>>)[e.code] ?? (e.message || e.code);
  }
  return e instanceof Error ? e.message : String(e);
}

/** The layer that refused, in words, if one did. */
export function layerOf(e: unknown): string | null {
  if (!isUiError(e) || e.layer == null) return null;
  const name = LAYER_NAMES[e.layer];
  return name ? `Layer ${e.layer}: ${name}` : null;
}

/**
 * When the service has ended the session (or no longer accepts the certificate), the
 * message to show at sign-in, with the refusing layer; otherwise null.
 */
export function sessionLost(e: unknown): string | null {
  if (!isUiError(e) || !(e.code === "session_ended" || e.code.startsWith("certificate."))) return null;
  return [describe(e), layerOf(e)].filter(Boolean).join(" Refused by ");
}
