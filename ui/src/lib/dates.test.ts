import { describe, expect, it } from "vitest";
import { formatCountdown, formatRelative, formatUtc } from "./dates";

describe("dates", () => {
  it("formats UNIX seconds in UTC", () => {
    expect(formatUtc(0)).toBe("1970-01-01 00:00:00 UTC");
    expect(formatUtc(1795874589)).toBe("2026-11-28 14:03:09 UTC");
    expect(formatUtc(Number.NaN)).toBe("—");
  });
  it("says how long ago or until", () => {
    expect(formatRelative(1000, 1010)).toBe("just now");
    expect(formatRelative(1000, 1000 + 180)).toBe("3 min ago");
    expect(formatRelative(1000 + 7200, 1000)).toBe("in 2 h");
    expect(formatRelative(0, 3 * 86400)).toBe("3 d ago");
  });
  it("counts down in minutes and seconds", () => {
    expect(formatCountdown(65)).toBe("1:05");
    expect(formatCountdown(-3)).toBe("0:00");
  });
});
