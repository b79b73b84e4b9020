import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Process-level tests spawn the built bin; a slow, busy 2-core machine needs room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
