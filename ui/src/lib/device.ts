// Device identifiers are bytes, shown hex; most are printable names ("demo-device-…"),
// which read better as text.

export function deviceLabel(hex: string): string {
  if (!/^([0-9a-f]{2})+$/i.test(hex)) return hex;
  const bytes = hex.match(/../g)?.map((b) => parseInt(b, 16)) ?? [];
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? String.fromCharCode(...bytes) : `${hex.slice(0, 12)}…`;
}
