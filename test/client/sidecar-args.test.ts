import { describe, expect, it } from "vitest";
import { sidecarArgs } from "../../src/client/index.js";

describe("sidecarArgs", () => {
  it("turns each set option into its flag, in a fixed order, and leaves unset ones to the sidecar", () => {
    expect(sidecarArgs({})).toEqual([]);
    expect(
      sidecarArgs({
        logLevel: "silent",
        store: "sqlite:/tmp/s.db",
        maxSessionAge: "300ms",
        cleanupInterval: 100,
        maxSessionLifetime: undefined,
      }),
    ).toEqual(["--store", "sqlite:/tmp/s.db", "--max-session-age", "300ms", "--cleanup-interval", "100", "--log-level", "silent"]);
  });
});
