import { describe as suite, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode, type UiError } from "./bindings";
import { describe, layerOf, sessionLost, setLogPath, words } from "./errors";

// The generated list and the generated type are the same set of codes (checked by the
// compiler): the test below then covers every code the window can receive.
type Unlisted = Exclude<ErrorCode, (typeof ERROR_CODES)[number]>;
const everyCodeIsListed: [Unlisted] extends [never] ? true : false = true;

suite("errors", () => {
  it("has words of its own for every code the window can receive", () => {
    expect(everyCodeIsListed).toBe(true);
    expect(ERROR_CODES.length).toBeGreaterThan(100);
    for (const code of ERROR_CODES) {
      const text = words(code);
      expect(text, code).toMatch(/^[A-Z`].*[.]$/);
      expect(describe({ code, message: "", layer: null }), code).toBe(text);
    }
  });
  it("words known codes for tellers", () => {
    expect(describe({ code: "store.insufficient_funds", message: "x", layer: null })).toMatch(/Not enough funds/);
    expect(describe({ code: "certificate.revoked", message: "x", layer: 5 })).toMatch(/revoked/);
    expect(describe({ code: "login.transcript_expired", message: "x", layer: 7 })).toBe(
      "Sign-in was refused: the signed challenge is too old. Check this machine's clock.",
    );
  });
  it("shows the workstation's own message where it names the field or file", () => {
    expect(describe({ code: "input.amount", message: "too many decimals", layer: null })).toBe("too many decimals");
    expect(describe({ code: "store.database", message: "disk full", layer: null })).not.toMatch(/disk full/);
  });
  it("says which enrolment rule a refusal broke", () => {
    expect(describe({ code: "enrolment", message: "no member of staff has that number", layer: null })).toBe(
      "Enrolment refused: no member of staff has that number.",
    );
  });
  it("falls back to the service's message for codes this build does not know", () => {
    expect(describe({ code: "store.newer" as ErrorCode, message: "disk full", layer: null })).toBe("disk full");
    expect(describe(new Error("boom"))).toBe("boom");
  });
  it("points failures, not refusals, to the log file once its path is known", () => {
    const failure: UiError = { code: "store.database", message: "the database failed; nothing was changed", layer: null };
    const before = describe(failure);
    setLogPath("/data/pqbank/logs/pqbank.log");
    try {
      expect(describe(failure)).toBe(`${before.replace(/[.\s]*$/, ".")} Details are in /data/pqbank/logs/pqbank.log`);
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
