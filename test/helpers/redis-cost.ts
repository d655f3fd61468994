/**
 * What a piece of work costs in Redis, seen from both ends:
 * - on the wire, through a {@link CountingProxy} in front of the Upstash-REST bridge: HTTP round
 *   trips and the commands they carried (what Upstash bills: one per command, a script call is one);
 * - in Redis, from `INFO commandstats` deltas: every command executed, those a Lua script runs included.
 *
 * The periodic metrics flush (`shared/observability/metrics.ts`: one pipeline per instance every
 * few seconds, whichever request happens to be running) is reported apart, so a route's cost does
 * not depend on whether a flush fell inside it.
 */
import { createClient } from "@redis/client";
import type { CountingProxy } from "./counting-proxy";

/** Commands of the metrics flush: those on a `metrics:` key. */
const isMetricsCommand = (args: string[]) => (args[1] ?? "").startsWith("metrics:");

/** The cost of one measured piece of work. */
export interface RedisCost {
  /** HTTP requests to the REST endpoint that carried any command other than the metrics flush. */
  roundTrips: number;
  /** Commands sent (each entry of a pipeline or transaction; a script call counts once), flush excluded. */
  commands: number;
  /** {@link commands} by lower-case name, e.g. `{ mget: 1, evalsha: 1 }`. */
  commandsByName: Record<string, number>;
  /** Commands Redis executed (`INFO commandstats`; script internals and MULTI/EXEC included), flush excluded. */
  redisCalls: number;
  /** {@link redisCalls} by lower-case name. */
  redisCallsByName: Record<string, number>;
  /** Commands of the metrics flush seen during the work (not in the figures above). */
  metricsFlushCommands: number;
}

/** Reads `INFO commandstats` of a redis-server as `name → calls`. */
export async function commandStats(redisUrl: string): Promise<Map<string, number>> {
  const client = createClient({ url: redisUrl, RESP: 2 });
  await client.connect();
  try {
    const text = String(await client.sendCommand(["INFO", "commandstats"]));
    const stats = new Map<string, number>();
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      stats.set(String(match[1]).toLowerCase(), Number(match[2]));
    }
    return stats;
  } finally {
    await client.close();
  }
}

/** Commands that reading the stats adds to the stats themselves (a connection's own INFO, HELLO…). */
const OWN_COMMANDS = new Set(["info", "hello", "client|setinfo", "client|setname", "select", "auth"]);

/**
 * Runs `work` and reports its {@link RedisCost}. Nothing else may use the Redis meanwhile (the
 * proxy sees only this server's traffic; commandstats sees every client).
 */
export async function measureRedisCost(
  proxy: CountingProxy,
  redisUrl: string,
  work: () => Promise<void>,
): Promise<RedisCost> {
  const before = await commandStats(redisUrl);
  proxy.reset();
  await work();
  const requests = [...proxy.requests];
  const after = await commandStats(redisUrl);

  const commandsByName: Record<string, number> = {};
  const flushByName: Record<string, number> = {};
  let roundTrips = 0;
  for (const request of requests) {
    let ownCommands = 0;
    for (const args of request.args) {
      const name = String(args[0]).toLowerCase();
      const into = isMetricsCommand(args) ? flushByName : commandsByName;
      into[name] = (into[name] ?? 0) + 1;
      if (!isMetricsCommand(args)) ownCommands++;
    }
    if (ownCommands > 0) roundTrips++;
  }
  const redisCallsByName: Record<string, number> = {};
  for (const [name, calls] of after) {
    if (OWN_COMMANDS.has(name)) continue;
    const delta = calls - (before.get(name) ?? 0) - (flushByName[name] ?? 0);
    if (delta > 0) redisCallsByName[name] = delta;
  }
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    roundTrips,
    commands: sum(commandsByName),
    commandsByName,
    redisCalls: sum(redisCallsByName),
    redisCallsByName,
    metricsFlushCommands: sum(flushByName),
  };
}
