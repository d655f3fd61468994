import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errors } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstashKv, createUpstashRedis, upstashRedisOver } from "../../shared/adapters/upstash-kv";
import { createNodeRequester, UpstashTimeoutError } from "../../shared/adapters/upstash-node-transport";
import { KvUnavailableError } from "../../shared/ports/kv";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/**
 * The Node transport of `@upstash/redis` (what Node functions use) against the real client, the
 * Upstash REST bridge and redis-server: it must answer exactly as the client's own fetch transport
 * does, keep the client's auto-pipelining, and fail the way the Kv port expects.
 */
let env: TestRedis;
let proxy: CountingProxy;
beforeAll(async () => {
  env = await startTestRedis();
  proxy = await startCountingProxy(env.restUrl);
});
afterAll(async () => {
  await proxy?.close();
  await env?.stop();
});

const nodeClient = (url: string, timeoutMs = 2000, token?: string) =>
  upstashRedisOver(createNodeRequester({ url, token: token ?? env.restToken, timeoutMs }));

/** A local HTTP server whose behaviour per connection/request the test decides. */
async function startServer(handler: Parameters<typeof createServer>[1]): Promise<{
  url: string;
  server: Server;
  connections: () => number;
  close(): Promise<void>;
}> {
  let connections = 0;
  const server = createServer(handler);
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers any GET as `"v"`, as Upstash would (auto-pipelining sends even one command to `/pipeline`). */
function answerV(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(req.url === "/pipeline" ? [{ result: "v" }] : { result: "v" }));
}

describe("Upstash over Node's HTTP client", () => {
  it("answers every Kv operation exactly as the fetch transport does", async () => {
    const run = async (kv: ReturnType<typeof createUpstashKv>, p: string) => [
      await kv.set(`${p}:s`, "123456"),
      await kv.get(`${p}:s`), // digit-only strings stay strings
      await kv.set(`${p}:u`, 'Zoë — 東京 ✓ "quoted" \\ back'),
      await kv.mget([`${p}:s`, `${p}:u`, `${p}:missing`]),
      await kv.incr(`${p}:n`, 60),
      await kv.incr(`${p}:n`, 60),
      await kv.setNxGet(`${p}:c`, "first", 60),
      await kv.setNxGet(`${p}:c`, "second", 60),
      await kv.setBits(`${p}:b`, [1, 5, 9]),
      await kv.getBits(`${p}:b`, [0, 1, 5, 9, 10]),
      await kv.getdel(`${p}:c`),
      await kv.del(`${p}:s`, `${p}:u`),
      await kv.get(`${p}:s`),
    ];
    const viaNode = await run(createUpstashKv(nodeClient(env.restUrl)), "node");
    const viaFetch = await run(
      createUpstashKv(createUpstashRedis({ url: env.restUrl, token: env.restToken, timeoutMs: 2000 })),
      "fetch",
    );
    expect(viaNode).toEqual(viaFetch);
    expect(viaNode[1]).toBe("123456");
    expect(viaNode[3]).toEqual(["123456", 'Zoë — 東京 ✓ "quoted" \\ back', null]);
  });

  it("keeps auto-pipelining: commands issued in one tick share one round trip", async () => {
    const redis = nodeClient(proxy.url);
    await redis.set("ap:warm", "1");
    proxy.reset();
    const answers = await Promise.all([redis.get("ap:warm"), redis.get("ap:none"), redis.exists("ap:warm")]);
    expect(answers).toEqual(["1", null, 1]);
    expect(proxy.requests).toHaveLength(1);
    expect(proxy.requests[0]?.path).toBe("/pipeline");
    expect(proxy.requests[0]?.commands).toEqual(["get", "get", "exists"]);
  });

  it("throws a Redis error reply as UpstashError, which the Kv port reports as unavailable", async () => {
    const redis = nodeClient(env.restUrl);
    await redis.set("err:s", "text");
    await expect(redis.incr("err:s")).rejects.toBeInstanceOf(errors.UpstashError);
    await expect(createUpstashKv(redis).incr("err:s", 60)).rejects.toBeInstanceOf(KvUnavailableError);
  });

  it("throws on a wrong token (401), never a fake success", async () => {
    await expect(nodeClient(env.restUrl, 2000, "wrong-token").get("x")).rejects.toThrow(/Unauthorized/);
  });

  it("throws a non-JSON answer as UpstashJSONParseError", async () => {
    const bad = await startServer((_req, res) => res.end("<html>gateway</html>"));
    try {
      await expect(nodeClient(bad.url).get("x")).rejects.toBeInstanceOf(errors.UpstashJSONParseError);
    } finally {
      await bad.close();
    }
  });

  it("times out a silent server after timeoutMs and does not resend (the command may have run)", async () => {
    let requests = 0;
    const silent = await startServer(() => {
      requests++; // never answers
    });
    try {
      await expect(nodeClient(silent.url, 200).get("x")).rejects.toBeInstanceOf(UpstashTimeoutError);
      expect(requests).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it("sends again when a kept-alive socket turns out closed, and only then (the command cannot have run)", async () => {
    let requests = 0;
    const server = await startServer((req, res) => {
      requests++;
      // The second request arrives on the kept-alive socket of the first: drop it unanswered,
      // as a server does that closed an idle connection.
      if (requests === 2) req.socket.destroy();
      else answerV(req, res);
    });
    try {
      const redis = nodeClient(server.url);
      expect(await redis.get("a")).toBe("v");
      expect(await redis.get("b")).toBe("v");
      expect(requests).toBe(3);
      expect(server.connections()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("does not send again when a fresh connection breaks (the command may have run)", async () => {
    let requests = 0;
    const server = await startServer((req) => {
      requests++;
      req.socket.destroy();
    });
    try {
      await expect(nodeClient(server.url).incr("n")).rejects.toThrow();
      expect(requests).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("reports a refused connection (after one more try: nothing was sent) with ECONNREFUSED as its cause", async () => {
    const server = await startServer(answerV);
    const url = server.url;
    await server.close();
    const errors: unknown[] = [];
    await nodeClient(url)
      .get("x")
      .catch((e: unknown) => errors.push(e));
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).cause ?? errors[0])).toMatch(/ECONNREFUSED/);
  });

  it("reuses one keep-alive connection for sequential requests", async () => {
    const server = await startServer(answerV);
    try {
      const redis = nodeClient(server.url);
      for (let i = 0; i < 5; i++) expect(await redis.get(`k${i}`)).toBe("v");
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("refuses a URL that is not http(s) when it is built", () => {
    expect(() => createNodeRequester({ url: "redis://127.0.0.1:6379", token: "t", timeoutMs: 1000 })).toThrow(
      /http\(s\)/,
    );
  });
});
