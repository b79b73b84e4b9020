/**
 * The SQLite store's figures: pipelined session/update appends (durable: each answer leaves only after
 * its commit) and session/get over pipes to the built bin, beside the memory store in the same run;
 * then the store operations of store-ops.ts against an SQLite file in-process. Prints nothing itself.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../src/log.js";
import { openSqliteStore } from "../src/store/sqlite/store.js";
import { forkCost, listPastArchived, reaperPass, truncateCost } from "./store-ops.js";
import { againstMemory, num, type Row } from "./store-workload.js";

export type { Row };
const REQUESTS = 100_000;

async function overPipes(file: string): Promise<Row[]> {
  const r = await againstMemory(["--store", `sqlite:${file}`], REQUESTS);
  return [
    { name: "sqlite: session/update, 1 message, pipelined (durable)", value: `${num(r.update)} msg/s` },
    { name: "memory: the same updates, same run", value: `${num(r.memoryUpdate)} msg/s` },
    { name: "sqlite: session/get, 10 short messages, pipelined", value: `${num(r.get)} req/s` },
    { name: "memory: the same gets, same run", value: `${num(r.memoryGet)} req/s` },
    { name: "sqlite session/get against memory", value: `${(r.memoryGet / r.get).toFixed(2)}x slower` },
    { name: `sqlite file after ${num(r.updates)} appends`, value: `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB` },
  ];
}

/** The in-process store operations (store-ops.ts) against a SQLite file of their own. */
async function storeOperations(dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  let n = 0;
  for (const measure of [
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => reaperPass(store, 100_000),
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => forkCost(store, 100_000, 200),
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => listPastArchived(store, 100_000),
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => truncateCost(store, 100_000, 100, 1000),
  ]) {
    const backend = { log: silentLogger, redisPrefix: "", redisBuckets: 1, storeWaitMs: 0 };
    const store = await openSqliteStore(join(dir, `ops-${++n}.db`), { maxIdleMs: 3_600_000 }, backend);
    rows.push(...(await measure(store)).map((r) => ({ name: `sqlite: ${r.name}`, value: r.value })));
    store.close();
  }
  return rows;
}

export async function benchSqlite(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "acp-bench-sqlite-"));
  try {
    return [...(await overPipes(join(dir, "sessions.db"))), ...(await storeOperations(dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
