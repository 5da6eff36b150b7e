import { describe as suite, expect, it } from "vitest";
import { describe, layerOf, sessionLost } from "./errors";

suite("errors", () => {
  it("words known codes for tellers", () => {
    expect(describe({ code: "store.insufficient_funds", message: "x", layer: null })).toMatch(/Not enough funds/);
    expect(describe({ code: "certificate.revoked", message: "x", layer: 5 })).toMatch(/revoked/);
  });
  it("falls back to the service's message for unknown codes", () => {
    expect(describe({ code: "store.database", message: "disk full", layer: null })).toBe("disk full");
    expect(describe(new Error("boom"))).toBe("boom");
  });
  it("names the refusing layer", () => {
    expect(layerOf({ code: "certificate.revoked", message: "", layer: 5 })).toBe("Layer 5: CRL pinning");
    expect(layerOf({ code: "store.busy", message: "", layer: null })).toBeNull();
  });
  it("says why a session was lost, with the layer, and nothing for other errors", () => {
    expect(sessionLost({ code: "certificate.revoked", message: "", layer: 5 })).toBe(
      "Your certificate has been revoked. Ask a manager. Refused by Layer 5: CRL pinning",
    );
    expect(sessionLost({ code: "store.busy", message: "", layer: null })).toBeNull();
  });
});
