import type { LogLevel } from "./log.js";

export interface Config {
  store: string;
  maxSessionAgeMs: number;
  cleanupIntervalMs: number;
  maxMessageBytes: number;
  logLevel: LogLevel;
}

export const DEFAULT_CONFIG: Config = {
  store: "memory",
  maxSessionAgeMs: 3_600_000,
  cleanupIntervalMs: 300_000,
  maxMessageBytes: 32 * 1024 * 1024,
  logLevel: "warn",
};
