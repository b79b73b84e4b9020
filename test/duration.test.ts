import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../src/duration.js";

describe("durations", () => {
  it("parses units and plain milliseconds", () => {
    expect(["250ms", "30s", "5m", "1h", "1d", "1500", " 2s ", "1.5s"].map((v) => parseDuration(v))).toEqual([
      250, 30_000, 300_000, 3_600_000, 86_400_000, 1500, 2000, 1500,
    ]);
    expect(parseDuration(42)).toBe(42);
  });

  it("rejects anything else", () => {
    for (const bad of ["", "5x", "-1s", "1h30m", "s", "1e3", "Infinity"]) expect(parseDuration(bad)).toBeUndefined();
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) expect(parseDuration(bad)).toBeUndefined();
  });

  it("formats in the largest whole unit", () => {
    expect([3_600_000, 300_000, 1500, 86_400_000, 30_000].map(formatDuration)).toEqual(["1h", "5m", "1500ms", "1d", "30s"]);
  });
});
