import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANGE_LETTER, RECORD_FIELDS, ROLE_LETTER, STATUS } from "../../../src/store/redis/shared.js";
import { batchScript, luaFile } from "../../../src/store/redis/script.js";
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

  it("assemble into one script Redis compiles", async () => {
    const sha = await redis.script("LOAD", batchScript());
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });
});
