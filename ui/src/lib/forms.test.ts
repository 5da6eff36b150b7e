import { describe, expect, it } from "vitest";
import { checkDraft, type AccountChoice } from "./forms";

const eur = (id: number): AccountChoice => ({ id, number: `A${id}`, currency: "EUR", exponent: 2, availableMinor: 0 });
const drawer = eur(1);

describe("checkDraft", () => {
  it("a deposit goes from the drawer to the customer", () => {
    const r = checkDraft({ kind: "deposit", from: null, to: eur(7), amount: "25.00", memo: "" }, drawer);
    expect(r).toEqual({ ok: true, debit: 1, credit: 7, minor: 2500, currency: "EUR", exponent: 2 });
  });
  it("a withdrawal goes from the customer to the drawer", () => {
    const r = checkDraft({ kind: "withdrawal", from: eur(7), to: null, amount: "1,000", memo: "" }, drawer);
    expect(r).toMatchObject({ ok: true, debit: 7, credit: 1, minor: 100000 });
  });
  it("needs an open drawer for cash", () => {
    const r = checkDraft({ kind: "deposit", from: null, to: eur(7), amount: "1", memo: "" }, null);
    expect(r.ok).toBe(false);
  });
  it("refuses same account, mixed currencies, bad amounts and long memos", () => {
    const same = checkDraft({ kind: "transfer", from: eur(7), to: eur(7), amount: "1", memo: "" }, drawer);
    expect(same).toMatchObject({ ok: false, errors: { to: "Choose two different accounts." } });
    const usd = { ...eur(8), currency: "USD" };
    expect(checkDraft({ kind: "transfer", from: eur(7), to: usd, amount: "1", memo: "" }, drawer).ok).toBe(false);
    expect(checkDraft({ kind: "transfer", from: eur(7), to: eur(8), amount: "1.001", memo: "" }, drawer).ok).toBe(false);
    expect(checkDraft({ kind: "transfer", from: eur(7), to: eur(8), amount: "1", memo: "x".repeat(141) }, drawer).ok).toBe(false);
  });
});
