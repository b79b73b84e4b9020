/**
 * Values the store's TypeScript holds as its Lua does (lua/shared.lua): replies are read and arguments
 * sent by them. test/store/redis/lua.test.ts runs the Lua's definitions and compares.
 */
/** Each operation's reply starts with one of these. */
export const STATUS = {
  ok: 0,
  missing: 1,
  /** Not here, but an alias here says which bucket holds it. */
  redirect: 2,
  conflict: 3,
  contextFull: 4,
  cwdMismatch: 5,
  noMessage: 6,
  idTaken: 7,
} as const;

/** The session fields a full record carries, in this order (what ve, the version, is: lua/shared.lua). */
export const RECORD_FIELDS = [
  "cwd",
  "title",
  "caps",
  "mcp",
  "dirs",
  "created",
  "seen",
  "n",
  "rev",
  "arch",
  "idle",
  "pin",
  "parent",
  "forked",
  "ve",
] as const;

/** A message's role as the letter the scripts keep it by. */
export const ROLE_LETTER = { user: "u", assistant: "a", system: "s" } as const;

/** The letters an update names the fields it changes by; their values follow in this order. */
export const CHANGE_LETTER = { title: "t", caps: "c", mcp: "m", dirs: "d", retention: "r" } as const;
