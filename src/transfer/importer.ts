import type { z } from "zod";
import { storedMessage } from "../protocol/encode-session.js";
import { ExportedMessageSchema, ExportedSessionSchema } from "../protocol/schemas.js";
import { LimitExceededError, SessionExistsError, StoreError, StoreUnavailableError } from "../store/errors.js";
import type { RestoredSession, SessionStore, StoredMessage } from "../store/types.js";
import { EXPORT_FORMAT, EXPORT_HEADER, EXPORT_VERSION } from "./format.js";
import { ExportScanner, type ScanEvent } from "./scanner.js";

/**
 * What import does with a new session the reaper would expire at once: `touch` imports it with its
 * last access set to the import's time (one past the lifetime cap is left out: touching cannot save
 * it), `keep` imports it as it is, `skip` leaves it out. Each such session is noted.
 */
export type OverduePolicy = "touch" | "keep" | "skip";

export interface ImportOptions {
  store: SessionStore;
  /** Unix ms. */
  now: () => number;
  /** The store's default idle age: an exported retention of exactly this age is imported as the default. */
  maxIdleMs: number;
  maxLifetimeMs?: number;
  maxContextMessages: number;
  /** Largest stored message, encoded, in bytes. */
  maxContentBytes: number;
  overdue: OverduePolicy;
  /** A line that was skipped, and why. */
  onSkipped: (line: number, reason: string) => void;
  /** What the user should know of a line that was imported or left out on purpose. */
  onNote: (line: number, note: string) => void;
}

export interface ImportSummary {
  created: number;
  /** Sessions the store held already that got messages they lacked. */
  extended: number;
  /** Sessions the store held already with every message. */
  unchanged: number;
  /** New sessions left out as overdue (see OverduePolicy). */
  leftOut: number;
  /** Bad lines, reported through onSkipped. */
  skipped: number;
}

/** The input is not an export this version reads; nothing was imported. */
export class ImportFormatError extends Error {}

/** Messages written to the store at once, at most, and about the most bytes of them. */
const BATCH_MESSAGES = 500;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Messages of a forked session's parent read at once to compare them with the fork's. */
const SOURCE_PAGE = 64;

/**
 * Reads an export as it arrives and adds its sessions to the store: creates those it lacks, with their
 * times and fields (revisions start again), and gives those it holds the messages they lack, by id, in
 * order. A fork whose parent came earlier in the input and still starts with the same messages shares
 * the parent's history, as store.fork would; any other keeps its own copy and still names its parent.
 * A bad line is reported and skipped, and a session it had begun to create is removed again.
 */
export async function importExport(input: AsyncIterable<Buffer | string>, options: ImportOptions): Promise<ImportSummary> {
  const scanner = new ExportScanner();
  const importer = new Importer(options);
  for await (const chunk of input) {
    for (const event of scanner.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) await importer.handle(event);
  }
  for (const event of scanner.end()) await importer.handle(event);
  return importer.finish();
}

/** Why a line cannot be imported. */
class BadLine extends Error {}

type Exported = z.infer<typeof ExportedSessionSchema>;

class Importer {
  private readonly summary: ImportSummary = { created: 0, extended: 0, unchanged: 0, leftOut: 0, skipped: 0 };
  private headerRead = false;
  /** Sessions of this input the store holds now: a later fork of one may share its history. */
  private readonly imported = new Set<string>();
  private current: SessionImport | undefined;
  /** A line being skipped: its later parts are ignored. */
  private skipping = 0;

  constructor(private readonly options: ImportOptions) {}

  async handle(event: ScanEvent): Promise<void> {
    if (event.line === this.skipping) return;
    if (!this.headerRead) return this.readHeader(event);
    try {
      switch (event.kind) {
        case "line":
          return await this.wholeLine(event.line, event.text);
        case "head":
          this.current = await this.begin(event.line, sessionOf(parseJson(`${event.text}]}}`)));
          return;
        case "message":
          return await this.current!.add(event.text);
        case "end":
          if (!/^\]\s*\}\s*\}\s*$/.test(event.text)) throw new BadLine("the session's context must be its last field, as export writes it");
          return await this.finishSession();
        case "bad":
          throw new BadLine(event.reason);
      }
    } catch (err) {
      const reason = lineProblem(err);
      if (reason === undefined) throw err;
      await this.skip(event.line, reason);
    }
  }

  finish(): ImportSummary {
    if (!this.headerRead) throw new ImportFormatError(`the input is empty: an export starts with ${EXPORT_HEADER}`);
    return this.summary;
  }

  private readHeader(event: ScanEvent): void {
    const text = event.kind === "line" ? event.text.replace(/^\uFEFF/, "") : "";
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch {
      header = undefined;
    }
    const { format, version } = (isObject(header) ? header : {}) as { format?: unknown; version?: unknown };
    if (format !== EXPORT_FORMAT)
      throw new ImportFormatError(`line ${event.line}: not an acp-sessions export (it starts with ${EXPORT_HEADER})`);
    if (version !== EXPORT_VERSION) {
      throw new ImportFormatError(
        `line ${event.line}: export version ${JSON.stringify(version)}; this acp-sessions reads version ${EXPORT_VERSION}`,
      );
    }
    this.headerRead = true;
  }

  /** A line the scanner did not split: read whole, it may still be a session line of another key order. */
  private async wholeLine(line: number, text: string): Promise<void> {
    const session = sessionOf(parseJson(text));
    if (!Array.isArray(session.context)) throw new BadLine("session.context: expected an array of messages");
    this.current = await this.begin(line, session);
    for (const message of session.context as unknown[]) await this.current.add(JSON.stringify(message));
    await this.finishSession();
  }

  private async begin(line: number, fields: Record<string, unknown>): Promise<SessionImport> {
    const exported = check(ExportedSessionSchema, fields, "session");
    const session = restoredSession(exported, this.options.maxIdleMs);
    const { store } = this.options;
    if (await store.has(session.sessionId)) return new SessionImport(this.options, line, session, exported.messageCount, "extend");
    if (exported.messageCount > this.options.maxContextMessages) {
      throw new BadLine(`holds ${exported.messageCount} messages, more than --max-context-messages (${this.options.maxContextMessages})`);
    }
    if (!this.admitOverdue(line, session)) return new SessionImport(this.options, line, session, exported.messageCount, "leave");
    const parent = session.parentSessionId;
    const at = session.forkedAtMessageId;
    const share = parent !== null && at !== null && this.imported.has(parent) ? { sessionId: parent, atMessageId: at } : undefined;
    const started = new SessionImport(this.options, line, session, exported.messageCount, share ? "match" : "write", share);
    if (!share) await started.create();
    return started;
  }

  /** Applies the overdue policy to a new session: false to leave it out; touching moves its last access. */
  private admitOverdue(line: number, session: RestoredSession): boolean {
    const { now: clock, maxLifetimeMs, maxIdleMs, overdue } = this.options;
    const now = clock();
    const id = session.sessionId;
    if (maxLifetimeMs !== undefined && session.createdAt + maxLifetimeMs <= now) {
      const age = `session ${id} was created ${new Date(session.createdAt).toISOString()}, longer ago than --max-session-lifetime`;
      if (overdue === "keep") {
        this.options.onNote(line, `${age}: imported as it is, the next cleanup deletes it`);
        return true;
      }
      this.options.onNote(line, `${age}: left out (--overdue keep imports it for the next cleanup to delete)`);
      return false;
    }
    const idleFor = session.retention.maxIdleMs ?? maxIdleMs;
    if (session.archived || session.retention.pinned || session.lastAccessed + idleFor > now) return true;
    const idle = `session ${id} was idle past its deadline (last access ${new Date(session.lastAccessed).toISOString()})`;
    if (overdue === "touch") {
      session.lastAccessed = now;
      this.options.onNote(line, `${idle}: imported with its last access set to now`);
      return true;
    }
    if (overdue === "keep") this.options.onNote(line, `${idle}: imported as it is, the next cleanup expires it`);
    else this.options.onNote(line, `${idle}: left out`);
    return overdue === "keep";
  }

  private async finishSession(): Promise<void> {
    const current = this.current!;
    const outcome = await current.finish();
    this.current = undefined;
    this.summary[outcome]++;
    if (outcome !== "leftOut") this.imported.add(current.session.sessionId);
  }

  private async skip(line: number, reason: string): Promise<void> {
    const current = this.current;
    this.current = undefined;
    this.skipping = line;
    this.summary.skipped++;
    let undone = "";
    if (current) undone = await current.undo();
    this.options.onSkipped(line, reason + undone);
  }
}

/**
 * One session line being imported. Modes: `write` appends to a session created here; `extend` to one
 * the store held; `leave` reads past a session left out; `match` compares a fork's first messages with
 * its parent's before deciding whether it shares them (and only then creates it).
 */
class SessionImport {
  private batch: StoredMessage[] = [];
  private batchBytes = 0;
  /** Messages read from the line. */
  private count = 0;
  private appended = 0;
  private created = false;
  private readonly ids = new Set<string>();
  private sourcePage: Buffer[] = [];
  private sourceFrom = 0;

  constructor(
    private readonly options: ImportOptions,
    readonly line: number,
    readonly session: RestoredSession,
    private readonly messageCount: number,
    private mode: "write" | "extend" | "leave" | "match",
    private readonly share?: { sessionId: string; atMessageId: string },
  ) {}

  /** The session's writes are dated at its last access: an access dated then moves nothing. */
  private get stamp(): number {
    return this.session.lastAccessed;
  }

  async create(shared = false): Promise<void> {
    await this.options.store.restore({ session: this.session, shareHistoryOf: shared ? this.share : undefined }, this.options.now());
    this.created = true;
  }

  async add(text: string): Promise<void> {
    const index = this.count++;
    const input = check(ExportedMessageSchema, parseJson(text), `session.context[${index}]`);
    if (this.ids.has(input.messageId)) throw new BadLine(`session.context[${index}].messageId: repeats an earlier message's id`);
    this.ids.add(input.messageId);
    const message = storedMessage(input, input.messageId, 0);
    const bytes = Buffer.byteLength(message.json);
    if (bytes > this.options.maxContentBytes) {
      throw new BadLine(`session.context[${index}]: ${bytes} bytes, more than --max-content-bytes (${this.options.maxContentBytes})`);
    }
    if (this.mode === "leave") return;
    if (this.mode === "match") {
      const source = await this.sourceMessage(index);
      if (source?.equals(Buffer.from(message.json))) {
        if (input.messageId === this.share!.atMessageId) {
          await this.create(true);
          this.mode = "write";
        }
        return;
      }
      await this.createUnshared(index);
    }
    this.batch.push(message);
    this.batchBytes += bytes;
    if (this.batch.length >= BATCH_MESSAGES || this.batchBytes >= BATCH_BYTES) await this.flush();
  }

  /** The line has ended: what became of its session. */
  async finish(): Promise<"created" | "extended" | "unchanged" | "leftOut"> {
    if (this.mode === "match") await this.createUnshared(this.count);
    await this.flush();
    if (this.count !== this.messageCount) {
      throw new BadLine(`session.messageCount: ${this.messageCount}, but its context holds ${this.count} messages`);
    }
    if (this.mode === "leave") return "leftOut";
    if (this.mode === "write") return "created";
    return this.appended > 0 ? "extended" : "unchanged";
  }

  /** The line turned out bad: removes the session if this import created it; says what stays. */
  async undo(): Promise<string> {
    if (this.created) {
      await this.options.store.remove(this.session.sessionId);
      return "";
    }
    return this.appended > 0 ? ` (the ${this.appended} messages it added to the stored session stay)` : "";
  }

  /** The fork's first `count` messages match its parent's but do not reach its fork point: it gets a copy of them. */
  private async createUnshared(count: number): Promise<void> {
    await this.create();
    this.mode = "write";
    for (let from = 0; from < count; from += SOURCE_PAGE) {
      const page = await this.options.store.readMessages(this.share!.sessionId, from, Math.min(SOURCE_PAGE, count - from));
      for (const json of page) {
        const { messageId, role } = JSON.parse(json.toString("utf8")) as StoredMessage;
        this.batch.push({ messageId, role, json: json.toString("utf8") });
        this.batchBytes += json.length;
      }
      if (this.batch.length >= BATCH_MESSAGES || this.batchBytes >= BATCH_BYTES) await this.flush();
    }
  }

  private async sourceMessage(index: number): Promise<Buffer | undefined> {
    if (index < this.sourceFrom || index >= this.sourceFrom + this.sourcePage.length) {
      this.sourceFrom = index;
      this.sourcePage = await this.options.store.readMessages(this.share!.sessionId, index, SOURCE_PAGE);
    }
    return this.sourcePage[index - this.sourceFrom];
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const messages = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const { appended } = await this.options.store.update({ sessionId: this.session.sessionId, messages, changes: {} }, this.stamp);
    this.appended += appended;
  }
}

/** The session's fields as restore takes them. */
function restoredSession(exported: Exported, defaultMaxIdleMs: number): RestoredSession {
  return {
    sessionId: exported.sessionId,
    cwd: exported.cwd,
    title: exported.title,
    clientCapabilities: exported.clientCapabilities,
    mcpServers: exported.mcpServers,
    additionalDirectories: exported.additionalDirectories,
    // An export holds the effective idle age: the store's default comes back as the default.
    retention: {
      maxIdleMs: exported.retention.maxIdleMs === defaultMaxIdleMs ? null : exported.retention.maxIdleMs,
      pinned: exported.retention.pinned,
    },
    createdAt: Date.parse(exported.createdAt),
    lastAccessed: Date.parse(exported.lastAccessed),
    archived: exported.archived,
    parentSessionId: exported.parentSessionId,
    forkedAtMessageId: exported.forkedAtMessageId,
  };
}

/** Why a failure makes its line bad, or undefined when it stops the import (the store is down, a fault). */
function lineProblem(err: unknown): string | undefined {
  if (err instanceof BadLine) return err.message;
  if (err instanceof LimitExceededError) return `the store's ${err.limit} (${err.value}) would be exceeded`;
  if (err instanceof SessionExistsError) return `session ${err.sessionId} was created meanwhile; import again to add its messages`;
  if (err instanceof StoreError && !(err instanceof StoreUnavailableError)) return err.message;
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadLine(`not JSON: ${(err as Error).message}`);
  }
}

function sessionOf(value: unknown): Record<string, unknown> {
  if (!isObject(value) || !isObject(value.session)) throw new BadLine('expected {"session": …}');
  return value.session;
}

/** The value as the schema reads it, or a BadLine naming the first field it refuses. */
function check<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  throw new BadLine(`${where}${path}: ${issue.message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
