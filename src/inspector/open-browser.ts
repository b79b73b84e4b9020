import { spawn } from "node:child_process";
import type { Logger } from "../log.js";

/** `--open`: asks the desktop to open the URL, without waiting; failing to is said on stderr, not fatal. */
export function openBrowser(url: string, log: Logger): void {
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", '""', url]]
        : ["xdg-open", [url]];
  // cmd takes its line as written: `start "" <url>` (the empty title first); the URL holds no cmd syntax.
  const child = spawn(command, args, { stdio: "ignore", detached: true, windowsVerbatimArguments: true });
  child.on("error", (err) => log.warn(`could not open a browser (${command}: ${err.message}); open the URL printed above`));
  child.on("exit", (code) => {
    if (code !== 0) log.warn(`could not open a browser (${command} exited with code ${code}); open the URL printed above`);
  });
  child.unref();
}
