/**
 * Real Redis for the tests: redis-server processes on free loopback ports, started and stopped here,
 * each awaited by polling PING (never a fixed sleep). Also a three-master Redis Cluster.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HOST = "127.0.0.1";
const STARTUP_MS = 30_000;

/** Why the Redis tests cannot run here, or undefined when they can. In CI they always run. */
export function redisUnavailable(needs: { binary: boolean } = { binary: true }): string | undefined {
  const hasBinary = spawnSync("redis-server", ["--version"]).status === 0 && spawnSync("redis-cli", ["--version"]).status === 0;
  if (hasBinary || (!needs.binary && process.env.REDIS_URL)) return undefined;
  const reason = needs.binary ? "no redis-server/redis-cli on PATH" : "no redis-server on PATH and no REDIS_URL";
  // CI must exercise Redis: there, a missing server is a failure, not a skip.
  if (process.env.CI === "true") throw new Error(`Redis tests cannot run in CI: ${reason} (apt-get install -y redis-server)`);
  return reason;
}

/** Skips a suite with one clear line when Redis is missing (never in CI). */
export function skipWithoutRedis(suite: string, needs: { binary: boolean } = { binary: true }): boolean {
  const reason = redisUnavailable(needs);
  if (reason) console.log(`skipping ${suite}: ${reason}`);
  return reason !== undefined;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      // A server that wants a password is up all the same.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
}

export interface RedisServerOptions {
  /** Persist with an append-only file (in the server's own directory, kept across restarts). */
  appendonly?: boolean;
  cluster?: boolean;
  port?: number;
  /** More redis-server arguments, e.g. ["--requirepass", "secret"]. */
  args?: string[];
}

/** One redis-server process; `kill` and `start` again keep its port and its data directory. */
export class RedisServer {
  private child: ChildProcess | undefined;
  private paused = false;
  readonly dir = mkdtempSync(join(tmpdir(), "acp-redis-"));

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options);
      try {
        await server.start();
        return server;
      } catch (err) {
        // Another process may have taken the port between the check and the bind.
        await server.stop();
        if (attempt >= 5 || options.port !== undefined) throw err;
      }
    }
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", HOST, "--dir", this.dir, "--save", "", "--daemonize", "no"];
    args.push("--appendonly", this.options.appendonly ? "yes" : "no", ...(this.options.args ?? []));
    if (this.options.cluster) {
      args.push("--cluster-enabled", "yes", "--cluster-config-file", `nodes-${this.port}.conf`, "--cluster-node-timeout", "5000");
    }
    const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    let exited = false;
    child.once("exit", () => (exited = true));
    const deadline = Date.now() + STARTUP_MS;
    while (!(await ping(this.port))) {
      if (exited) throw new Error(`redis-server on port ${this.port} exited at start-up`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer PING within ${STARTUP_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGKILL: no shutdown save, as a crash. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** SIGSTOP: the server keeps its connections but answers nothing, as a hung or overloaded host. */
  pause(): void {
    this.paused = this.child?.kill("SIGSTOP") ?? false;
  }

  /** SIGCONT: the paused server runs again, first serving what it was sent meanwhile. */
  resume(): void {
    this.child?.kill("SIGCONT");
    this.paused = false;
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM");
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** redis-cli against this server; returns its stdout. */
  cli(...args: string[]): string {
    const result = spawnSync("redis-cli", ["-h", HOST, "-p", String(this.port), ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill(signal);
    // A paused server would hold SIGTERM until continued.
    if (this.paused) child.kill("SIGCONT");
    this.paused = false;
    await exited;
  }
}

/** Three masters, no replicas, every slot assigned; `url` is a redis-cluster:// store URL. */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(): Promise<RedisCluster> {
    const nodes = await Promise.all([0, 1, 2].map(() => RedisServer.start({ cluster: true })));
    const cluster = new RedisCluster(nodes);
    try {
      const create = spawn(
        "redis-cli",
        ["--cluster", "create", ...nodes.map((n) => `${HOST}:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      create.stderr.on("data", (chunk) => (stderr += chunk));
      const [code] = await once(create, "exit");
      if (code !== 0) throw new Error(`redis-cli --cluster create failed: ${stderr}`);
      const deadline = Date.now() + STARTUP_MS;
      while (!nodes.every((n) => n.cli("cluster", "info").includes("cluster_state:ok"))) {
        if (Date.now() > deadline) throw new Error("the cluster did not reach cluster_state:ok");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  get url(): string {
    return `redis-cluster://${this.nodes.map((n) => `${HOST}:${n.port}`).join(",")}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
