/**
 * The note a running dev server leaves in its data directory (`<DATA_DIR>/dev-runtime.json`, mode
 * 0600, removed when it stops) so `npm run job` in the same folder can send a job through that
 * server's QStash emulator (the signed path) and read the run's progress through its Upstash
 * bridge. Local development only: it holds the emulator's and the bridge's random tokens.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What a running dev server publishes about itself. */
export interface DevRuntimeState {
  pid: number;
  port: number;
  /** The API's base URL (`APP_URL`). */
  appUrl: string;
  qstash: { url: string; token: string };
  redis: { restUrl: string; restToken: string };
}

/** Path of the note in a data directory. */
export function devStatePath(dataDir: string): string {
  return join(dataDir, "dev-runtime.json");
}

/** Writes the note (0600). */
export function writeDevState(dataDir: string, state: DevRuntimeState): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(devStatePath(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the note, if this process wrote it. */
export function removeDevState(dataDir: string): void {
  const current = readDevState(dataDir);
  if (current?.pid === process.pid) rmSync(devStatePath(dataDir), { force: true });
}

/** The note of a dev server whose process still runs; `null` when there is none (or it is stale). */
export function readDevState(dataDir: string): DevRuntimeState | null {
  let state: DevRuntimeState;
  try {
    state = JSON.parse(readFileSync(devStatePath(dataDir), "utf8")) as DevRuntimeState;
  } catch {
    return null;
  }
  try {
    process.kill(state.pid, 0); // signal 0: only asks whether the process exists
  } catch {
    return null;
  }
  return state;
}
