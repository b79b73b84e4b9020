import { type Command, InvalidArgumentError } from "commander";
import type { Config } from "../config.js";
import { DEFAULT_INSPECTOR_PORT, PortInUseError, runInspector } from "../inspector/index.js";
import { CommandError } from "./commands.js";

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError("expected a port number from 0 to 65535.");
  return n;
}

/** `inspect`: the local web page; its action resolves once a signal has stopped it. */
export function addInspectCommand(program: Command, config: () => Config, print: (text: string) => Promise<void>): void {
  program
    .command("inspect")
    .description("serve a web page on 127.0.0.1 to look through and tidy the stored sessions; prints its URL, runs until Ctrl-C")
    .option("--port <n>", "port to serve on, 0 for any free one", port, DEFAULT_INSPECTOR_PORT)
    .option("--read-only", "refuse every change, on the server and on the page")
    .option("--open", "also open the page in a browser")
    .action(async (opts: { port: number; readOnly?: boolean; open?: boolean }) => {
      try {
        await runInspector(config(), { port: opts.port, readOnly: opts.readOnly ?? false, open: opts.open ?? false }, print);
      } catch (err) {
        if (err instanceof PortInUseError) throw new CommandError(err.message);
        throw err;
      }
    });
}
