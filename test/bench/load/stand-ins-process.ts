/**
 * Child process of the load benchmark: the stand-ins (redis-server, Upstash bridge, QStash
 * emulator, mail/SMS capture), so their CPU is not charged to the functions' process. Answers
 * over IPC: `env` (what the functions need), `counters` (bridge round trips and commands, Redis
 * `INFO commandstats` calls by command), `drain` (waits for every QStash delivery), `verifyLinks` (the
 * verification links captured for a list of addresses), `pids`. Stops on SIGTERM or when the
 * parent goes away.
 */
import { createClient } from "@redis/client";
import { startStandIns } from "../../../infra/local/stand-ins";
import { serveIpc } from "./ipc";

const standIns = await startStandIns();
const redis = createClient({ url: standIns.redis.url, RESP: 2 });
await redis.connect();

/** Calls by command in `INFO commandstats`, without this connection's own INFO calls. */
async function redisCalls(): Promise<Record<string, number>> {
  const text = String(await redis.sendCommand(["INFO", "commandstats"]));
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== "info") calls[String(match[1])] = Number(match[2]);
  }
  return calls;
}

serveIpc({
  env: () => standIns.env,
  pids: () => ({ standIns: process.pid, redis: standIns.redis.pid }),
  counters: async () => ({ ...standIns.bridge.counters(), redisCalls: await redisCalls() }),
  drain: () => standIns.qstash.drain(),
  verifyLinks: (addresses) => {
    const wanted = new Set(addresses as string[]);
    const links: Record<string, string> = {};
    for (const mail of standIns.capture.outbox.emails()) {
      const link = mail.links.find((l) => l.includes("/verify?token="));
      if (wanted.has(mail.to) && link !== undefined) links[mail.to] = link;
    }
    return links;
  },
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void redis
    .close()
    .catch(() => undefined)
    .then(() => standIns.stop())
    .finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.once("disconnect", stop); // the parent is gone
process.send?.({ ready: true });
