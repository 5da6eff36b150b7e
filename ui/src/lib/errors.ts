// The service's errors in words a teller understands, keyed by their stable code (never
// by the message). Unknown codes fall back to the service's own message.

import type { UiError } from "./bindings";

export const LAYER_NAMES: Record<number, string> = {
  1: "Hybrid signatures",
  2: "Pinned SHA3 fingerprint",
  3: "Device binding",
  4: "Purpose locking",
  5: "CRL pinning",
  6: "Lineage",
  7: "Single-use challenge",
};

const MESSAGES: Record<string, string> = {
  session_ended: "Your session has ended. Please sign in again.",
  challenge_used: "The sign-in challenge was already used or has expired. Try again.",
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
  "store.insufficient_funds": "Not enough funds: the account would go below its limit.",
  "store.currency_mismatch": "The accounts and the amount are not in the same currency.",
  "store.same_account": "Choose two different accounts.",
  "store.account_closed": "That account is closed.",
  "store.self_approval": "You cannot approve your own transfer.",
  "store.approver_not_manager": "Only a manager can approve.",
  "store.not_pending": "That transfer is no longer waiting for approval.",
  "store.expired": "That transfer waited too long and has expired.",
  "store.idempotency_conflict": "This submission was already used for a different transfer. Start a new one.",
  "store.drawer_state": "The drawer is not in the state this needs (open or closed).",
  "store.busy": "The database is busy. Your entry is kept; try again.",
  "store.transient": "A temporary database conflict. Your entry is kept; try again.",
  "store.wrong_account_kinds": "Those accounts cannot be used for this kind of transaction.",
  "device.unknown": "This machine holds no key for that certificate.",
  "drawer.not_yours": "Cash goes through your own open drawer. Open it first.",
  keyring: "The system keyring is not available. Unlock it and try again.",
  enrolment: "The enrolment request cannot be decided as asked.",
};

// Failures whose detail (the database's or the system's own words) is in the app's log,
// not on the screen: their message says where the log is.
const DETAILS_IN_LOG = new Set([
  "store.database",
  "store.migration",
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

export function isUiError(e: unknown): e is UiError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** A message for people; for a failure whose detail is logged, where the log is. */
export function describe(e: unknown): string {
  const text = words(e);
  if (!logPath || !isUiError(e) || !DETAILS_IN_LOG.has(e.code)) return text;
  return `${text.replace(/[.\s]*$/, ".")} Details are in ${logPath}`;
}

function words(e: unknown): string {
  if (isUiError(e)) {
    const known = MESSAGES[e.code];
    if (known) return known;
    if (e.code === "enrolment" || e.code.startsWith("input.")) return e.message;
    return e.message || e.code;
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
