#!/usr/bin/env node
/**
 * Waits until a MongoDB wire-protocol server answers `{ ping: 1 }`, with the project's own
 * `mongodb` driver (so it needs `npm ci` first). Used by `scripts/ferretdb.sh`; usable on its own.
 *
 *   node scripts/mongo-ping.mjs <mongodb-url> [--timeout-ms 60000] [--pid <server pid>]
 *
 * Exit 0 as soon as the server answers; exit 1 when `--timeout-ms` passes first, or at once when
 * the process `--pid` (the server being waited for) is gone; exit 2 on bad arguments.
 */
import { MongoClient } from "mongodb";

const usage = "usage: node scripts/mongo-ping.mjs <mongodb-url> [--timeout-ms N] [--pid P]";

/** @returns {{ url: string, timeoutMs: number, pid: number | undefined }} */
function parseArgs(argv) {
  const [url, ...rest] = argv;
  if (url === undefined || !/^mongodb(\+srv)?:\/\//.test(url)) throw new Error(usage);
  let timeoutMs = 60_000;
  let pid;
  for (let i = 0; i < rest.length; i += 2) {
    const value = Number(rest[i + 1]);
    if (!Number.isInteger(value) || value < 1) throw new Error(usage);
    if (rest[i] === "--timeout-ms") timeoutMs = value;
    else if (rest[i] === "--pid") pid = value;
    else throw new Error(usage);
  }
  return { url, timeoutMs, pid };
}

/** True while process `pid` exists (signal 0 only checks). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (error) {
  console.error(error.message);
  process.exit(2);
}

const deadline = Date.now() + args.timeoutMs;
let lastError = "no attempt made";
for (;;) {
  if (args.pid !== undefined && !alive(args.pid)) {
    console.error(`mongo-ping: process ${args.pid} exited before ${args.url} answered ping`);
    process.exit(1);
  }
  const client = new MongoClient(args.url, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    await client.db("admin").command({ ping: 1 });
    process.exit(0);
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
  } finally {
    await client.close().catch(() => undefined);
  }
  if (Date.now() >= deadline) {
    console.error(`mongo-ping: ${args.url} did not answer ping within ${args.timeoutMs} ms: ${lastError}`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}
