import { describe, expect, it } from "vitest";
import { IdleClock } from "./idle";

describe("IdleClock", () => {
  it("warns before locking and any input extends", () => {
    const c = new IdleClock(300, 30, 0);
    expect(c.state(100)).toEqual({ phase: "active" });
    expect(c.state(280)).toEqual({ phase: "warning", remaining: 20 });
    c.touch(281);
    expect(c.state(300)).toEqual({ phase: "active" });
    expect(c.state(581)).toEqual({ phase: "locked" });
  });
});
