// Validation of the teller's transaction form, before anything is sent. The service
// checks everything again; this only spares the teller a round trip.

import type { TELLER_KINDS } from "./bindings";
import { parseAmount } from "./money";

/** The kinds a teller posts, as the workstation accepts them (generated from Rust). */
export type Kind = (typeof TELLER_KINDS)[number];

export interface AccountChoice {
  id: number;
  number: string;
  currency: string;
  exponent: number;
  availableMinor: number;
}

export interface Draft {
  kind: Kind;
  from: AccountChoice | null;
  to: AccountChoice | null;
  amount: string;
  memo: string;
}

export type Checked =
  | { ok: true; debit: number; credit: number; minor: number; currency: string; exponent: number }
  | { ok: false; errors: Partial<Record<"from" | "to" | "amount" | "memo", string>> };

/** Checks a draft; `drawer` is the teller's open drawer account. */
export function checkDraft(d: Draft, drawer: AccountChoice | null): Checked {
  const errors: Partial<Record<"from" | "to" | "amount" | "memo", string>> = {};
  const debit = d.kind === "deposit" ? drawer : d.from;
  const credit = d.kind === "withdrawal" ? drawer : d.to;
  if (!drawer && d.kind !== "transfer") errors.from = "Open your cash drawer first.";
  if (d.kind !== "deposit" && !d.from) errors.from = "Choose the account to take money from.";
  if (d.kind !== "withdrawal" && !d.to) errors.to = "Choose the account to pay into.";
  if (debit && credit && debit.id === credit.id) errors.to = "Choose two different accounts.";
  if (debit && credit && debit.currency !== credit.currency)
    errors.to = `The accounts are in ${debit.currency} and ${credit.currency}.`;
  const exponent = (debit ?? credit)?.exponent ?? 2;
  const amount = parseAmount(d.amount, exponent);
  if (!amount.ok) errors.amount = amount.reason;
  if ([...d.memo].length > 140) errors.memo = "At most 140 characters.";
  if (Object.keys(errors).length > 0 || !debit || !credit || !amount.ok) return { ok: false, errors };
  return { ok: true, debit: debit.id, credit: credit.id, minor: amount.minor, currency: debit.currency, exponent };
}
