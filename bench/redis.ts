/**
 * The Redis store's figures against a local redis-server started here: pipelined session/get and
 * session/update over pipes to the built bin, beside the memory store in the same run; the engine's
 * own ceiling on this machine (`redis-benchmark -P 16 -t get,lrange_100`); then the store operations
 * of store-ops.ts in-process. Prints nothing itself.
 */
import { spawnSync } from "node:child_process";
import { silentLogger } from "../src/log.js";
import { openRedisStore } from "../src/store/redis/store.js";
import type { SessionStore } from "../src/store/types.js";
import { RedisServer } from "../test/helpers/redis-server.js";
import { forkCost, listPastArchived, reaperPass, truncateCost } from "./store-ops.js";
import { againstMemory, num, type Row } from "./store-workload.js";

export type { Row };
const REQUESTS = 50_000;

async function overPipes(server: RedisServer): Promise<Row[]> {
  const r = await againstMemory(["--store", server.url, "--redis-prefix", "bench-pipes:"], REQUESTS);
  return [
    { name: "redis: session/update, 1 message, pipelined", value: `${num(r.update)} msg/s` },
    { name: "memory: the same updates, same run", value: `${num(r.memoryUpdate)} msg/s` },
    { name: "redis session/update against memory (target ≥ 0.4)", value: `${(r.update / r.memoryUpdate).toFixed(2)}×` },
    { name: "redis: session/get, 10 short messages, pipelined", value: `${num(r.get)} req/s` },
    { name: "memory: the same gets, same run", value: `${num(r.memoryGet)} req/s` },
    { name: "redis session/get against memory (target ≥ 0.4)", value: `${(r.get / r.memoryGet).toFixed(2)}×` },
  ];
}

/** redis-benchmark against the same server: what Redis itself does on this machine. */
function engineCeiling(server: RedisServer): Row[] {
  const result = spawnSync("redis-benchmark", ["-h", "127.0.0.1", "-p", String(server.port), "-P", "16", "-t", "get,lrange_100", "-q"], {
    encoding: "utf8",
  });
  if (result.status !== 0) return [{ name: "redis-benchmark", value: `failed: ${result.stderr.trim() || result.error?.message}` }];
  // Lines look like "LRANGE_100 (first 100 elements): 118343.20 requests per second, p50=5.631 msec",
  // after \r-separated progress; the LPUSH that fills the list for LRANGE is left out.
  const rows: Row[] = [];
  for (const line of result.stdout.split(/[\r\n]+/)) {
    const match = /^(GET|LRANGE_100)(?: \([^)]*\))?: ([\d.]+) requests per second/.exec(line.trim());
    if (match) rows.push({ name: `redis-benchmark -P 16: ${match[1]}`, value: `${num(Number(match[2]))} req/s` });
  }
  return rows;
}

/** The in-process store operations (store-ops.ts), each under a prefix of its own. */
async function storeOperations(server: RedisServer): Promise<Row[]> {
  const rows: Row[] = [];
  const measures: [string, (store: SessionStore) => Promise<Row[]>][] = [
    ["ops-reaper:", (store) => reaperPass(store, 100_000)],
    ["ops-fork:", (store) => forkCost(store, 100_000, 200)],
    ["ops-list:", (store) => listPastArchived(store, 100_000)],
    ["ops-truncate:", (store) => truncateCost(store, 100_000, 100, 1000)],
  ];
  for (const [redisPrefix, measure] of measures) {
    const backend = { log: silentLogger, redisPrefix, redisBuckets: 16, storeWaitMs: 0 };
    const store = await openRedisStore(server.url, { maxIdleMs: 3_600_000 }, backend);
    rows.push(...(await measure(store)).map((r) => ({ name: `redis: ${r.name}`, value: r.value })));
    await store.close();
  }
  return rows;
}

export async function benchRedis(): Promise<Row[]> {
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    return [{ name: "redis", value: "not measured: no redis-server on PATH (apt-get install -y redis-server)" }];
  }
  const server = await RedisServer.start();
  try {
    return [...(await overPipes(server)), ...engineCeiling(server), ...(await storeOperations(server))];
  } finally {
    await server.stop();
  }
}
