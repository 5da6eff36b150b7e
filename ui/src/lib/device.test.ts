import { describe, expect, it } from "vitest";
import { deviceLabel } from "./device";

describe("deviceLabel", () => {
  it("shows printable ids as text and others as short hex", () => {
    expect(deviceLabel("64656d6f2d746f6d")).toBe("demo-tom");
    expect(deviceLabel("00ff00ff00ff00ff00ff")).toBe("00ff00ff00ff…");
    expect(deviceLabel("xyz")).toBe("xyz");
  });
});
