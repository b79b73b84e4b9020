import { PROTOCOL_VERSION } from "@agentclientprotocol/sdk";
import type { MethodEntry, MethodTable } from "../rpc/connection.js";
import { invalidParam } from "../rpc/errors.js";
import { LimitExceededError, MessageNotFoundError, SessionNotFoundError } from "../store/errors.js";
import { DEFAULT_RETENTION, NOT_AN_ACCESS, type RetentionPolicy, type SessionChanges, type SessionStore } from "../store/types.js";
import { windowRange } from "../store/window.js";
import { SessionEncoder, iso, sessionInfo, storedMessage } from "./encode-session.js";
import { flatUuid } from "./ids.js";
import { METHOD_SCHEMAS } from "./method-schemas.js";
import { Method } from "./methods.js";
import { replay } from "./replay.js";
import { sessionIdOnly } from "./session-id-params.js";
import type { Subscriptions } from "./subscriptions.js";
import {
  type GetSessionParams,
  type InitializeResult,
  type ListSessionsResult,
  type LoadSessionResult,
  type TruncateSessionResult,
  type UpdateSessionResult,
} from "./schemas.js";

export interface HandlerDeps {
  store: SessionStore;
  /** Unix ms. */
  now: () => number;
  /** The default cwd of a new session. */
  cwd: string;
  version: string;
  /** The store's default idle age, reported as a session's effective retention. */
  maxIdleMs: number;
  /** Encodes session reads; shared with whoever else learns that a session is gone (the reaper). */
  encoder?: SessionEncoder;
  /** Largest encoded message accepted, in bytes. */
  maxContentBytes?: number;
  newId?: () => string;
  /** This connection's subscriptions (session/subscribe); without them those methods are not offered. */
  subscriptions?: Subscriptions;
}

const DEFAULT_LIST_LIMIT = 100;

type Schemas = typeof METHOD_SCHEMAS;

/** A method's params, validated by the same table the client's types and the JSON Schema come from. */
function parse<M extends keyof Schemas>(method: M, params: unknown) {
  return METHOD_SCHEMAS[method].params.parse(params) as ReturnType<Schemas[M]["params"]["parse"]>;
}

/**
 * The method table for one connection: validated params → one store call → result. Each handler makes
 * exactly one store call, so every request is atomic on every backend.
 */
export function sessionMethods(deps: HandlerDeps): MethodTable {
  const { store, now } = deps;
  const newId = deps.newId ?? flatUuid;
  let connectionCapabilities: unknown = null;
  const encoder = deps.encoder ?? new SessionEncoder(deps.maxIdleMs);
  /** Sessions this connection has open: created, loaded, resumed or forked here, not closed or archived since. */
  const attached = new Set<string>();

  /** session/get and session/export: one window of a session, read at `at`, encoded as get answers it. */
  const readSession = (p: GetSessionParams, at: number) => {
    const { offset, afterMessageId, limit, tail, beforeMessageId } = p;
    return then(store.get(p.sessionId, { offset, afterMessageId, limit, tail, beforeMessageId }, at), (snapshot) =>
      encoder.result(snapshot.session, snapshot.messages, snapshot.start),
    );
  };

  const methods: Record<string, MethodEntry> = {
    [Method.initialize]: {
      handle(params): InitializeResult {
        const p = parse(Method.initialize, params);
        if (p.clientCapabilities !== undefined) connectionCapabilities = p.clientCapabilities;
        return {
          protocolVersion: PROTOCOL_VERSION,
          agentCapabilities: {
            loadSession: true,
            sessionCapabilities: { list: {}, delete: {}, resume: {}, close: {}, fork: {}, archive: {}, status: {}, title: {} },
          },
          agentInfo: { name: "acp-sessions", version: deps.version },
          authMethods: [],
        };
      },
    },

    [Method.sessionNew]: {
      handle(params) {
        const p = parse(Method.sessionNew, params);
        const session = {
          sessionId: newId(),
          cwd: p.cwd ?? deps.cwd,
          title: p.title ?? null,
          clientCapabilities: p.clientCapabilities ?? connectionCapabilities,
          mcpServers: (p.mcpServers ?? []).map((s) => s.name),
          additionalDirectories: p.additionalDirectories ?? [],
          retention: retentionPolicy(p.retention) ?? DEFAULT_RETENTION,
        };
        return then(store.create(session, now()), (created) => {
          attached.add(created.sessionId);
          return { sessionId: created.sessionId };
        });
      },
    },

    [Method.sessionGet]: {
      handle(params) {
        return readSession(sessionIdOnly(params) ?? parse(Method.sessionGet, params), now());
      },
    },

    [Method.sessionExport]: {
      handle(params) {
        // Not an access: a backup or an inspector reading a session must not keep it from expiring.
        return readSession(parse(Method.sessionExport, params), NOT_AN_ACCESS);
      },
    },

    [Method.sessionUpdate]: {
      handle(params) {
        const p = parse(Method.sessionUpdate, params);
        const at = now();
        const messages = (p.messages ?? []).map((m) => storedMessage(m, m.messageId ?? newId(), at));
        const maxBytes = deps.maxContentBytes;
        if (maxBytes !== undefined && messages.some((m) => Buffer.byteLength(m.json) > maxBytes))
          throw new LimitExceededError("maxContentBytes", maxBytes);
        const changes: SessionChanges = {
          title: p.title,
          clientCapabilities: p.clientCapabilities,
          mcpServers: p.mcpServers?.map((s) => s.name),
          additionalDirectories: p.additionalDirectories,
          retention: retentionPolicy(p.retention),
        };
        const request = { sessionId: p.sessionId, messages, changes, expectedRevision: p.expectedRevision };
        return then(store.update(request, at), ({ session, appended, trimmed }): UpdateSessionResult => ({
          sessionId: session.sessionId,
          messageCount: session.messageCount,
          revision: session.revision,
          appended,
          trimmed,
          lastAccessed: iso(session.lastAccessed),
        }));
      },
    },

    [Method.sessionTruncate]: {
      handle(params) {
        const p = parse(Method.sessionTruncate, params);
        const request = {
          sessionId: p.sessionId,
          afterMessageId: p.afterMessageId,
          fromMessageId: p.fromMessageId,
          expectedRevision: p.expectedRevision,
        };
        return then(store.truncate(request, now()), ({ session, removed }): TruncateSessionResult => ({
          sessionId: session.sessionId,
          messageCount: session.messageCount,
          revision: session.revision,
          removed,
        }));
      },
    },

    [Method.sessionRemove]: {
      handle(params) {
        const p = parse(Method.sessionRemove, params);
        encoder.forget(p.sessionId);
        attached.delete(p.sessionId);
        return then(store.remove(p.sessionId), (removed) => ({ removed }));
      },
    },

    [Method.sessionDelete]: {
      handle(params) {
        const p = parse(Method.sessionDelete, params);
        encoder.forget(p.sessionId);
        attached.delete(p.sessionId);
        return then(store.remove(p.sessionId), () => ({}));
      },
    },

    [Method.sessionClose]: {
      handle(params) {
        const p = parse(Method.sessionClose, params);
        encoder.forget(p.sessionId);
        attached.delete(p.sessionId);
        deps.subscriptions?.unsubscribe(p.sessionId);
        return then(store.has(p.sessionId), (exists) => {
          if (!exists) throw new SessionNotFoundError(p.sessionId);
          return {};
        });
      },
    },

    [Method.sessionList]: {
      handle(params) {
        const p = parse(Method.sessionList, params);
        const query = {
          cursor: p.cursor ?? undefined,
          limit: p.limit ?? DEFAULT_LIST_LIMIT,
          cwd: p.cwd ?? undefined,
          archived: p.archived ?? undefined,
        };
        return then(store.list(query), (page): ListSessionsResult => {
          const result: ListSessionsResult = { sessions: page.sessions.map(sessionInfo) };
          if (page.nextCursor !== undefined) result.nextCursor = page.nextCursor;
          return result;
        });
      },
    },

    [Method.sessionResume]: {
      handle(params) {
        const p = parse(Method.sessionResume, params);
        return then(store.touch(p.sessionId, attachChanges(p), now(), p.cwd), () => {
          attached.add(p.sessionId);
          return {};
        });
      },
    },

    [Method.sessionFork]: {
      handle(params) {
        const p = parse(Method.sessionFork, params);
        const request = {
          parentSessionId: p.sessionId,
          sessionId: newId(),
          cwd: p.cwd,
          mcpServers: (p.mcpServers ?? []).map((s) => s.name),
          title: p.title,
          atMessageId: p.atMessageId,
        };
        return then(store.fork(request, now()), (fork) => {
          attached.add(fork.sessionId);
          return { sessionId: fork.sessionId };
        });
      },
    },

    [Method.sessionArchive]: {
      handle(params) {
        const p = parse(Method.sessionArchive, params);
        return then(store.setArchived(p.sessionId, true, now()), () => {
          attached.delete(p.sessionId);
          return {};
        });
      },
    },

    [Method.sessionUnarchive]: {
      handle(params) {
        const p = parse(Method.sessionUnarchive, params);
        return then(store.setArchived(p.sessionId, false, now()), () => ({}));
      },
    },

    [Method.sessionStatus]: {
      handle(params) {
        const p = parse(Method.sessionStatus, params);
        return then(store.has(p.sessionId), (exists) => {
          if (!exists) throw new SessionNotFoundError(p.sessionId);
          return { status: attached.has(p.sessionId) ? ("open" as const) : ("saved" as const) };
        });
      },
    },

    [Method.sessionSetTitle]: {
      handle(params) {
        const p = parse(Method.sessionSetTitle, params);
        return then(store.setTitle(p.sessionId, p.title), (session) => ({ title: session.title ?? p.title }));
      },
    },

    [Method.sessionLoad]: {
      exclusive: true,
      async handle(params, ctx) {
        const p = parse(Method.sessionLoad, params);
        const tail = p._meta?.replayTail;
        const after = p._meta?.replayAfterMessageId;
        // Found before the session is touched, so that an id it lacks (-32602) leaves it as it was.
        const afterAt = after === undefined ? undefined : await indexAfter(store, p.sessionId, after, now());
        const session = await store.touch(p.sessionId, attachChanges(p), now(), p.cwd);
        attached.add(p.sessionId);
        const count = session.messageCount;
        const start = tail !== undefined ? windowRange({ tail }, count, -1).start : Math.min(afterAt ?? 0, count);
        await replay(store, session, ctx, start);
        if (tail === undefined && after === undefined) return {};
        return { _meta: { replayedFrom: start, messageCount: count } } satisfies LoadSessionResult;
      },
    },
  };
  const subscriptions = deps.subscriptions;
  if (subscriptions) {
    methods[Method.sessionSubscribe] = {
      handle(params) {
        const p = parse(Method.sessionSubscribe, params);
        return subscriptions.subscribe(p.sessionId, p.afterMessageId, p.acpUpdates ?? false);
      },
    };
    methods[Method.sessionUnsubscribe] = {
      handle(params) {
        subscriptions.unsubscribe(parse(Method.sessionUnsubscribe, params).sessionId);
        return {};
      },
    };
  }
  return new Map(Object.entries(methods));
}

/** The index just after a message, for a replay that follows it; -32602 naming the load's field when the session lacks it. */
async function indexAfter(store: SessionStore, sessionId: string, messageId: string, now: number): Promise<number> {
  try {
    return (await store.get(sessionId, { afterMessageId: messageId, limit: 0 }, now)).start;
  } catch (err) {
    if (err instanceof MessageNotFoundError)
      throw invalidParam(["_meta", "replayAfterMessageId"], `message ${messageId} is not in the session`);
    throw err;
  }
}

function attachChanges(p: { mcpServers?: { name: string }[]; additionalDirectories?: string[] }): SessionChanges {
  return { mcpServers: p.mcpServers?.map((s) => s.name), additionalDirectories: p.additionalDirectories };
}

function retentionPolicy(input: { maxIdle?: number; pinned?: boolean } | null | undefined): RetentionPolicy | null | undefined {
  if (input === undefined || input === null) return input;
  return { maxIdleMs: input.maxIdle ?? null, pinned: input.pinned ?? false };
}

/** Applies `f` now when the store answered synchronously, keeping the in-process path promise-free. */
function then<T, R>(value: T | Promise<T>, f: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(f) : f(value);
}
