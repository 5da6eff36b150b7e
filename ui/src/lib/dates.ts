// Times are UNIX seconds in UTC; the screen shows the absolute time in UTC beside a
// relative one, so two people reading the same row agree.

/** "2026-11-28 14:03:09 UTC". */
export function formatUtc(unix: number): string {
  if (!Number.isFinite(unix)) return "—";
  const d = new Date(unix * 1000);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/** "3 min ago", "in 2 h", "just now". */
export function formatRelative(unix: number, now: number): string {
  const delta = unix - now;
  const abs = Math.abs(delta);
  if (abs < 45) return "just now";
  const [value, unit] =
    abs < 3600
      ? [Math.round(abs / 60), "min"]
      : abs < 86400
        ? [Math.round(abs / 3600), "h"]
        : [Math.round(abs / 86400), "d"];
  return delta < 0 ? `${value} ${unit} ago` : `in ${value} ${unit}`;
}

/** Seconds as "m:ss" for countdowns. */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${(s % 60).toString().padStart(2, "0")}`;
}
