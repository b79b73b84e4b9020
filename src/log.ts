import { inspect } from "node:util";

export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(message: string, err?: unknown): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** One line per entry on stderr: stdout is the protocol channel. */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel, message: string) => {
    if (LOG_LEVELS.indexOf(at) <= rank) write(`acp-sessions ${at}: ${message}\n`);
  };
  return {
    error: (message, err) => {
      if (rank < 1) return;
      const detail =
        err instanceof Error
          ? ` ${(err.stack ?? String(err)).replace(/\n\s*/g, " | ")}`
          : err === undefined
            ? ""
            : ` ${typeof err === "string" ? err : inspect(err, { breakLength: Infinity })}`;
      emit("error", message + detail);
    },
    warn: (message) => emit("warn", message),
    info: (message) => emit("info", message),
    debug: (message) => emit("debug", message),
  };
}

export const silentLogger: Logger = createLogger("silent");
