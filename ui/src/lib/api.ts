// The generated bindings return { status, data | error }; screens await values and
// catch UiError.

import { commands, ERROR_CODES, TELLER_KINDS } from "./bindings";
export { commands, ERROR_CODES, TELLER_KINDS };
export type * from "./bindings";

export async function call<T, E>(
  p: Promise<{ status: "ok"; data: T } | { status: "error"; error: E }>,
): Promise<T> {
  const r = await p;
  if (r.status === "ok") return r.data;
  throw r.error;
}

/** A fresh idempotency key for one intended submission. */
export function newKey(prefix: string): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
