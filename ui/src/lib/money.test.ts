import { describe, expect, it } from "vitest";
import { formatMinor, formatMoney, parseAmount } from "./money";

describe("formatMinor", () => {
  it("groups thousands and keeps the exponent's digits", () => {
    expect(formatMinor(123456, 2)).toBe("1,234.56");
    expect(formatMinor(5, 2)).toBe("0.05");
    expect(formatMinor(1000000, 0)).toBe("1,000,000");
    expect(formatMinor(1234, 3)).toBe("1.234");
  });
  it("marks negatives with a minus sign", () => {
    expect(formatMinor(-50000, 2)).toBe("−500.00");
  });
  it("refuses unsafe integers rather than rounding", () => {
    expect(formatMinor(2 ** 60, 2)).toBe("—");
  });
  it("puts the currency first", () => {
    expect(formatMoney(199, "EUR", 2)).toBe("EUR 1.99");
  });
});

describe("parseAmount", () => {
  it("reads plain and grouped amounts", () => {
    expect(parseAmount("1234.5", 2)).toEqual({ ok: true, minor: 123450 });
    expect(parseAmount("1,234.50", 2)).toEqual({ ok: true, minor: 123450 });
    expect(parseAmount(" 1 234.50 ", 2)).toEqual({ ok: true, minor: 123450 });
    expect(parseAmount("7", 0)).toEqual({ ok: true, minor: 7 });
    expect(parseAmount("0.125", 3)).toEqual({ ok: true, minor: 125 });
  });
  it("refuses what it would have to guess", () => {
    expect(parseAmount("1,23.00", 2).ok).toBe(false);
    expect(parseAmount("1.234,50", 2).ok).toBe(false);
    expect(parseAmount("12.345", 2).ok).toBe(false);
    expect(parseAmount("5.5", 0).ok).toBe(false);
    expect(parseAmount("1e3", 2).ok).toBe(false);
    expect(parseAmount("", 2).ok).toBe(false);
    expect(parseAmount("-5", 2).ok).toBe(false);
    expect(parseAmount("0.00", 2).ok).toBe(false);
    expect(parseAmount("0.00", 2, true)).toEqual({ ok: true, minor: 0 });
    expect(parseAmount("99999999999999999999", 2).ok).toBe(false);
  });
});
