/**
 * The local runtime in a CHILD process, for tests that need more than one server (two instances on
 * one Redis) or a configuration other than their file's in-process server: the function modules
 * build their apps once per process, so one process serves one configuration.
 *
 * Run as a script (`node --import tsx test/helpers/server-process.ts`), it starts
 * `startLocalRuntime` on a free port from its environment, prints one JSON line
 * `{"url":"http://localhost:PORT"}` on stdout, and stops on SIGTERM/SIGINT or when its stdin
 * closes (the parent died). Imported, it exports {@link startServerProcess} for the parent side.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { testEnv } from "./env";

/** A local runtime running in a child process. */
export interface ServerProcess {
  /** Base URL of its API, e.g. `http://localhost:41234`. */
  url: string;
  /** OS process id of the child. */
  pid: number;
  /** Its temp `DATA_DIR` (where it leaves its `dev-runtime.json` note). */
  dataDir: string;
  /**
   * Everything the child wrote to stdout and stderr so far, in arrival order (its JSON log lines,
   * the URL line, any warning). Capped at the last 64 MiB.
   */
  output(): string;
  /** Stops the child (SIGTERM, then SIGKILL after 5 s) and removes its data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Environment passed through from the parent: enough to find node, tsx and redis-server. */
const PASSED_THROUGH = ["PATH", "HOME", "TMPDIR", "LANG"];

const SCRIPT = fileURLToPath(import.meta.url);

/**
 * Spawns the local runtime as a child process with `testEnv(env)` (fresh secrets unless `env`
 * gives them), its own temp `DATA_DIR` and `PORT=0`, and nothing else of the parent's environment
 * (so no cloud settings leak in). Pass `REDIS_URL` to share a Redis between processes; without
 * it each child spawns its own redis-server.
 *
 * @param startTimeoutMs how long to wait for the URL line. @default 30000
 * @throws Error when the child exits or stays silent before printing its URL (its stderr attached).
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  startTimeoutMs = 30_000,
): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "auth-proc-"));
  const inherited = Object.fromEntries(
    PASSED_THROUGH.flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : [])),
  );
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    cwd: join(SCRIPT, "../../.."),
    env: { ...inherited, ...testEnv({ DATA_DIR: dataDir, PORT: "0", ...env }) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  const captured: string[] = [];
  let capturedChars = 0;
  const capture = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    captured.push(text);
    capturedChars += text.length;
    while (capturedChars > 64 * 1024 * 1024 && captured.length > 1)
      capturedChars -= captured.shift()?.length ?? 0;
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", (chunk: Buffer) => {
    capture(chunk);
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    const url = await readUrl(child, startTimeoutMs, () => stderr);
    let stopped: Promise<void> | undefined;
    return {
      url,
      pid: child.pid ?? -1,
      dataDir,
      output: () => captured.join(""),
      stop: () => {
        stopped ??= stopChild(child).then(cleanup);
        return stopped;
      },
    };
  } catch (err) {
    await stopChild(child);
    cleanup();
    throw err;
  }
}

function readUrl(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`server process ${why}; stderr:\n${stderr()}`));
    };
    const timer = setTimeout(() => fail(`printed no URL within ${timeoutMs} ms`), timeoutMs);
    child.once("exit", (code, signal) => fail(`exited (${code ?? signal}) before printing its URL`));
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8");
      // Complete lines only; log lines (JSON with a `level`) may come before the announcement.
      const url = out
        .split("\n")
        .slice(0, -1)
        .map(announcedUrl)
        .find((u) => u !== undefined);
      if (url === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.stdout?.off("data", onData);
      resolve(url);
    };
    child.stdout?.on("data", onData);
  });
}

/** The URL of the child's `{"url": …}` announcement line, or `undefined` for any other line. */
function announcedUrl(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(line) as { url?: unknown; level?: unknown };
    return typeof parsed.url === "string" && parsed.level === undefined ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** The child side: start the runtime, announce the URL, stop cleanly when told or orphaned. */
async function main(): Promise<void> {
  const { startLocalRuntime } = await import("../../infra/local/runtime");
  const runtime = await startLocalRuntime({ port: 0, persistRedis: false });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    runtime.stop().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdin.on("end", stop); // the parent's end of the pipe closed: it is gone
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url: runtime.url })}\n`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
