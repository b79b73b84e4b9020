import { RequestError } from "@agentclientprotocol/sdk";
import { ZodError, type core } from "zod";

/** The JSON-RPC error sent to the peer: the ACP SDK's own error type, so codes and shapes match ACP. */
export { RequestError };

/** An error answer. Built without a stack trace: it is sent, not debugged, and capturing one is costly. */
export function requestError(code: number, message: string, data?: unknown): RequestError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = new RequestError(code, message, data);
  Error.stackTraceLimit = limit;
  return error;
}

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  /** ACP's "resource not found", used for unknown sessions. */
  SessionNotFound: -32002,
  RevisionConflict: -32010,
  LimitExceeded: -32011,
  StoreUnavailable: -32012,
} as const;

export interface ParamsIssue {
  path: (string | number)[];
  message: string;
}

/** The one place a failed schema becomes -32602: a sentence naming the first field, and every issue as data. */
export function invalidParams(error: ZodError): RequestError {
  const issues = flattenIssues(error.issues);
  const first = issues[0];
  const where = first && first.path.length > 0 ? `${formatPath(first.path)}: ` : "";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return requestError(ErrorCode.InvalidParams, `Invalid params: ${where}${first?.message ?? "invalid"}${more}`, { issues });
}

export function invalidParam(path: (string | number)[], message: string): RequestError {
  return requestError(ErrorCode.InvalidParams, `Invalid params: ${formatPath(path)}: ${message}`, {
    issues: [{ path, message }],
  });
}

/** A union's failure is reported as the issues of the branch that got furthest, which names the real field. */
function flattenIssues(issues: readonly core.$ZodIssue[], prefix: PropertyKey[] = []): ParamsIssue[] {
  const out: ParamsIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const branches = issue.errors.map((branch) => flattenIssues(branch, path));
      const deepest = branches.reduce((best, b) => (depth(b) > depth(best) ? b : best));
      if (depth(deepest) > path.length) {
        out.push(...deepest);
        continue;
      }
    }
    out.push({ path: path.map((p) => (typeof p === "number" ? p : String(p))), message: issue.message });
  }
  return out;
}

function depth(issues: ParamsIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  return out || "params";
}

export function isZodError(err: unknown): err is ZodError {
  return err instanceof ZodError;
}
