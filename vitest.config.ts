import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";

// Four tiers, one after another under `npm test`; each alone with `npm run test:<name>`.
//   unit     in-process: stores, the protocol through test/helpers/in-process.ts, client, CLI formatting
//   process  the spawned bin: exit codes, signals, EPIPE, framing over real pipes, examples
//   heavy    soak, backpressure runs, Redis Cluster, example compiles, the packed package
//   inspector  `acp-sessions inspect`: its server over plain HTTP, its page in headless Chromium
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/process/**", "test/heavy/**", "test/inspector/**"],
          // Files share a worker's loaded modules (importing src again per file costs more than the tests),
          // and two workers even on two cores: much of the time is spent waiting on redis-server and SQLite.
          isolate: false,
          maxWorkers: Math.max(2, availableParallelism() - 1),
          // What a test stubs or spies on is put back after it, since the next file shares the module.
          restoreMocks: true,
          unstubEnvs: true,
          unstubGlobals: true,
          // The model and random-sequence runs take seconds; a slow, loaded 2-core machine must not fail them.
          testTimeout: 30_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "process",
          include: ["test/process/**/*.test.ts"],
          // Spawned processes on a busy 2-core machine; every wait inside polls a condition.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "heavy",
          include: ["test/heavy/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One file at a time: the soak and the backpressure runs measure the memory of their process.
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: "inspector",
          include: ["test/inspector/**/*.test.ts"],
          // The built bin and headless Chromium on a busy 2-core machine; every wait polls a condition.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One browser at a time.
          maxWorkers: 1,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
