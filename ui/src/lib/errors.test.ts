import { describe as suite, expect, it } from "vitest";
import { describe, layerOf, sessionLost, setLogPath } from "./errors";

suite("errors", () => {
  it("words known codes for tellers", () => {
    expect(describe({ code: "store.insufficient_funds", message: "x", layer: null })).toMatch(/Not enough funds/);
    expect(describe({ code: "certificate.revoked", message: "x", layer: 5 })).toMatch(/revoked/);
  });
  it("falls back to the service's message for unknown codes", () => {
    expect(describe({ code: "store.database", message: "disk full", layer: null })).toBe("disk full");
    expect(describe(new Error("boom"))).toBe("boom");
  });
  it("points failures, not refusals, to the log file once its path is known", () => {
    const failure = { code: "store.database", message: "the database failed; nothing was changed", layer: null };
    expect(describe(failure)).toBe("the database failed; nothing was changed");
    setLogPath("/data/pqbank/logs/pqbank.log");
    try {
      expect(describe(failure)).toBe(
        "the database failed; nothing was changed. Details are in /data/pqbank/logs/pqbank.log",
      );
      expect(describe({ code: "keyring", message: "x", layer: null })).toMatch(/Unlock it and try again\. Details are in \/data/);
      expect(describe({ code: "certificate.revoked", message: "x", layer: 5 })).not.toMatch(/Details/);
    } finally {
      setLogPath(null);
    }
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
