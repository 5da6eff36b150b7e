// Money on screen: integer minor units with the currency's exponent, never floats.
// Parsing accepts what people type or paste ("1,234.50", "1 234.50", "1234.5") and
// refuses anything ambiguous instead of guessing.

export type ParseResult = { ok: true; minor: number } | { ok: false; reason: string };

/** "123456" minor units at exponent 2 -> "1,234.56". */
export function formatMinor(minor: number, exponent: number): string {
  if (!Number.isSafeInteger(minor)) return "—";
  const negative = minor < 0;
  const digits = Math.abs(minor).toString().padStart(exponent + 1, "0");
  const whole = exponent > 0 ? digits.slice(0, -exponent) : digits;
  const fraction = exponent > 0 ? digits.slice(-exponent) : "";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "−" : "") + grouped + (fraction ? "." + fraction : "");
}

/** With the currency code: "EUR 1,234.56". */
export function formatMoney(minor: number, currency: string, exponent: number): string {
  return `${currency} ${formatMinor(minor, exponent)}`;
}

/** Parses a typed amount into minor units; positive only, or zero for counted cash. */
export function parseAmount(text: string, exponent: number, allowZero = false): ParseResult {
  const cleaned = text.trim().replace(/[\s\u00a0\u202f]/g, "");
  if (cleaned === "") return { ok: false, reason: "Enter an amount." };
  if (cleaned.startsWith("-") || cleaned.startsWith("−"))
    return { ok: false, reason: "The amount must be positive." };
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/.exec(cleaned);
  if (!match) return { ok: false, reason: "Use digits, with '.' before the cents." };
  const whole = (match[1] ?? "").replace(/,/g, "");
  const fraction = match[2] ?? "";
  if (fraction.length > exponent)
    return {
      ok: false,
      reason: exponent === 0 ? "This currency has no cents." : `At most ${exponent} digits after '.'.`,
    };
  const minorText = (whole + fraction.padEnd(exponent, "0")).replace(/^0+(?=\d)/, "");
  const minor = Number(minorText);
  if (!Number.isSafeInteger(minor)) return { ok: false, reason: "The amount is too large." };
  if (minor === 0 && !allowZero) return { ok: false, reason: "The amount must be more than zero." };
  return { ok: true, minor };
}
