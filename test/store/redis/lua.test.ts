import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANGE_LETTER, RECORD_FIELDS, ROLE_LETTER, STATUS } from "../../../src/store/redis/shared.js";
import { batchScript, luaFile } from "../../../src/store/redis/script.js";
import type { ContextWindow } from "../../../src/store/types.js";
import { windowRange } from "../../../src/store/window.js";
import { RedisServer, skipWithoutRedis } from "../../helpers/redis-server.js";

const noRedis = skipWithoutRedis("the Lua agreement tests", { binary: false });

let server: RedisServer | undefined;
let redis: Redis;

beforeAll(async () => {
  if (noRedis) return;
  let url = process.env.REDIS_URL;
  if (!url) {
    server = await RedisServer.start();
    url = server.url;
  }
  redis = new Redis(url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe.skipIf(noRedis)("the Lua and TypeScript sides", () => {
  it("agree on the statuses, the record's fields, the role letters and the change letters", async () => {
    // shared.lua as the script runs it, its values handed back as JSON.
    const evaluated = await redis.eval(
      `${luaFile("shared")}
return cjson.encode({
  status = STATUS,
  locals = {OK, MISSING, REDIRECT, CONFLICT, CONTEXT_FULL, CWD_MISMATCH, NO_MESSAGE, ID_TAKEN},
  recordFields = RECORD_FIELDS,
  role = ROLE,
  change = CHANGE,
})`,
      0,
    );
    const lua = JSON.parse(String(evaluated));
    expect(lua.status).toEqual(STATUS);
    expect(lua.locals).toEqual([
      STATUS.ok,
      STATUS.missing,
      STATUS.redirect,
      STATUS.conflict,
      STATUS.contextFull,
      STATUS.cwdMismatch,
      STATUS.noMessage,
      STATUS.idTaken,
    ]);
    expect(lua.recordFields).toEqual(RECORD_FIELDS);
    expect(lua.role).toEqual(ROLE_LETTER);
    expect(lua.change).toEqual(CHANGE_LETTER);
  });

  it("resolve every window alike: window.lua's window_range and window.ts's windowRange", async () => {
    const cases: { total: number; window: ContextWindow; anchor: number }[] = [];
    for (let total = 0; total <= 5; total++) {
      const anchors = [undefined, ...Array.from({ length: total }, (_, i) => i)];
      for (const offset of [undefined, 0, 2, 7])
        for (const limit of [undefined, 0, 1, 3, 7])
          for (const tail of [undefined, 0, 2, 7])
            for (const anchor of anchors)
              for (const side of anchor === undefined ? ["none"] : ["after", "before"]) {
                const window: ContextWindow = { offset, limit, tail };
                if (side === "after") window.afterMessageId = "m";
                if (side === "before") window.beforeMessageId = "m";
                cases.push({ total, window, anchor: anchor ?? -1 });
              }
    }
    // Each case as window_range's arguments: -1 for a number not given, the anchor on its side or nil.
    const args = cases.map(({ total, window, anchor }) => [
      total,
      window.offset ?? 0,
      window.limit ?? -1,
      window.tail ?? -1,
      window.afterMessageId === undefined ? -1 : anchor,
      window.beforeMessageId === undefined ? -1 : anchor,
    ]);
    const evaluated = await redis.eval(
      `${luaFile("window")}
local out = {}
for j, c in ipairs(cjson.decode(ARGV[1])) do
  local after, before = c[5], c[6]
  if after < 0 then after = nil end
  if before < 0 then before = nil end
  local start, count = window_range(c[1], c[2], c[3], c[4], after, before)
  out[j] = {start, count}
end
return cjson.encode(out)`,
      0,
      JSON.stringify(args),
    );
    const lua = JSON.parse(String(evaluated)) as [number, number][];
    const ts = cases.map(({ total, window, anchor }) => {
      const { start, count } = windowRange(window, total, anchor);
      return [start, count];
    });
    expect(cases.length).toBeGreaterThan(1000);
    expect(lua).toEqual(ts);
  });

  it("assemble into one script Redis compiles", async () => {
    const sha = await redis.script("LOAD", batchScript());
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });
});
