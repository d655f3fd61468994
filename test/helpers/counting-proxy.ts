/**
 * A pass-through HTTP proxy in front of the Upstash-REST bridge that records every request, so
 * Redis round trips are counted on the wire (the `@upstash/redis` client takes no custom fetch).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A running counting proxy. */
export interface CountingProxy {
  /** Base URL to give the client instead of the bridge's. */
  url: string;
  /**
   * Every request seen: its path (`/pipeline`, `/`), the command names it carried, and when it
   * arrived and was answered (epoch ms), so tests can tell concurrent round trips from sequential ones.
   */
  requests: {
    path: string;
    commands: string[];
    /** Every command of the request with its arguments, as sent (numbers and booleans as strings). */
    args: string[][];
    arrivedAtMs: number;
    answeredAtMs?: number;
  }[];
  /** Forgets the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts a counting proxy forwarding to `target` (the bridge's URL). With `delayMs`, every answer is
 * held that long, so a request that had to wait for another's answer arrives at least `delayMs`
 * after it: round trips that are sequential become visible in `arrivedAtMs`.
 */
export async function startCountingProxy(
  target: string,
  options: { delayMs?: number } = {},
): Promise<CountingProxy> {
  const requests: CountingProxy["requests"] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    const parsed = JSON.parse(body) as unknown[];
    const args = (Array.isArray(parsed[0]) ? (parsed as unknown[][]) : [parsed]).map((c) => c.map(String));
    const commands = args.map((c) => String(c[0]));
    const entry: CountingProxy["requests"][number] = {
      path: req.url ?? "",
      commands,
      args,
      arrivedAtMs: Date.now(),
    };
    requests.push(entry);
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "content-type", "upstash-encoding", "upstash-sync-token"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const upstream = await fetch(`${target}${req.url ?? ""}`, { method: "POST", headers, body });
    const sync = upstream.headers.get("upstash-sync-token");
    res.writeHead(upstream.status, {
      "content-type": upstream.headers.get("content-type") ?? "application/json",
      ...(sync === null ? {} : { "upstash-sync-token": sync }),
    });
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    entry.answeredAtMs = Date.now();
    res.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
