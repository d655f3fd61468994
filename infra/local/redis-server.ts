/**
 * Spawns a private `redis-server` for local development and tests: loopback only, on a free port,
 * protected by a random password, in-memory unless asked to persist, and never outliving the Node
 * process that started it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { resolve } from "node:path";

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Directory for the append-only file when `persist` is true. @default ".data/redis" */
  dataDir?: string;
  /** Keep data across restarts (AOF under `dataDir`). @default false (memory only: `--save ''`, `--appendonly no`) */
  persist?: boolean;
  /** Executable name or path; injectable so tests can simulate a missing binary. @default "redis-server" */
  binary?: string;
  /** How long to wait for the first PING to answer, in ms. @default 10000 */
  startTimeoutMs?: number;
}

/** A running redis-server owned by this process. */
export interface RedisServerHandle {
  /** `redis://:PASSWORD@127.0.0.1:PORT` (what `@redis/client` and `redis-cli -u` take). */
  url: string;
  /** The `requirepass` password: 32 random bytes, base64url, new on every start. */
  password: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** OS process id of the server. */
  pid: number;
  /** Sends SIGTERM (SIGKILL after 5 s) and resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; " +
  "macOS: `brew install redis`), or point the service at an existing Redis by setting REDIS_URL, " +
  "or at an Upstash REST endpoint by setting UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.";

/** Children still alive; killed synchronously if the parent exits or is signalled. */
const liveChildren = new Set<ChildProcess>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const child of liveChildren) child.kill("SIGKILL");
    liveChildren.clear();
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = () => {
      killAll();
      // Adding a listener disables Node's default "exit on signal"; restore it unless the app
      // installed its own handler (signal-exit's approach).
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Asks the OS for a free loopback port (bind to 0, read it, release it). */
async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** One raw RESP `AUTH` + `PING`; true when the server answers `+OK` then `+PONG`. */
async function ping(port: number, password: string): Promise<boolean> {
  return await new Promise((resolvePing) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n+PONG") || answer.startsWith("-")) done(answer.startsWith("+OK\r\n+PONG"));
    });
  });
}

/**
 * The command line: `-` first, so the server also reads configuration from stdin, where the
 * password goes (`requirepass`), because a command line is readable by every local user (`ps`).
 */
function buildArgs(port: number, options: RedisServerOptions): string[] {
  const args = ["-", "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes"];
  args.push("--daemonize", "no", "--loglevel", "warning", "--save", "");
  if (options.persist) {
    const dir = resolve(options.dataDir ?? ".data/redis");
    mkdirSync(dir, { recursive: true });
    args.push("--appendonly", "yes", "--dir", dir);
  } else {
    // No file is ever written, but pin the working dir so a stray SAVE never litters the repo.
    args.push("--appendonly", "no", "--dir", tmpdir());
  }
  return args;
}

/** Spawns once on `port`; rejects with the exit reason if the child dies before answering PING. */
async function spawnOnce(
  binary: string,
  port: number,
  password: string,
  options: RedisServerOptions,
): Promise<ChildProcess> {
  const child = spawn(binary, buildArgs(port, options), { stdio: ["pipe", "ignore", "pipe"] });
  child.stdin?.on("error", () => undefined); // a child that died at once is reported below
  child.stdin?.end(`requirepass ${password}\n`);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error(INSTALL_HINT, { cause: error }) : error),
    );
    child.once("exit", (code, signal) =>
      reject(new Error(`redis-server exited early (code ${code}, signal ${signal}): ${stderr.trim()}`)),
    );
  });
  let failed = false;
  exited.catch(() => {
    failed = true; // also stops the PING loop below
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  const ready = (async () => {
    while (Date.now() < deadline) {
      if (failed || child.exitCode !== null) return false;
      if (await ping(port, password)) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  })();
  const ok = await Promise.race([ready, exited]).catch((error: unknown) => {
    child.kill("SIGKILL");
    throw error;
  });
  if (!ok) {
    child.kill("SIGKILL");
    throw new Error(`redis-server did not answer PING on port ${port}: ${stderr.trim()}`);
  }
  return child;
}

/**
 * Starts a private redis-server bound to 127.0.0.1 on a free port and waits until it answers PING.
 * Memory-only by default; with `persist` it keeps an AOF under `dataDir`. It requires a password
 * (`requirepass`, 256 random bits, handed over on stdin, never on the command line; it is in
 * `url`), so another local user or process — or a browser page reaching 127.0.0.1 — cannot read
 * or change the service's Redis by connecting to the port (issue #14 I7).
 *
 * @throws Error with install instructions when the binary is missing; Error when the server
 *   cannot start (after 3 attempts, to absorb a port-reuse race).
 * @example
 * const redis = await startRedisServer();
 * // ... use redis.url ...
 * await redis.stop();
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = options.binary ?? "redis-server";
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const password = randomBytes(32).toString("base64url");
    let child: ChildProcess;
    try {
      child = await spawnOnce(binary, port, password, options);
    } catch (error) {
      if (error instanceof Error && error.message === INSTALL_HINT) throw error;
      lastError = error;
      continue;
    }
    installCleanup();
    liveChildren.add(child);
    const exitPromise = new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once("exit", () => r());
    });
    void exitPromise.then(() => liveChildren.delete(child));
    return {
      url: `redis://:${password}@127.0.0.1:${port}`,
      password,
      port,
      pid: child.pid ?? -1,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exitPromise;
        clearTimeout(timer);
      },
    };
  }
  throw new Error("redis-server failed to start after 3 attempts", { cause: lastError });
}
