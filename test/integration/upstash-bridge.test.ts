import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { Ratelimit } from "@upstash/ratelimit";
import { errors, type Redis, type RedisConfigNodejs } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer } from "../../infra/local/redis-server";
import { encodeReply, startUpstashBridge, stripUpstashScriptFlags } from "../../infra/local/upstash-bridge";
import { createTestUpstashClient, startTestRedis, type TestRedis } from "../helpers/redis";

let env: TestRedis;
beforeAll(async () => {
  env = await startTestRedis();
});
afterAll(async () => {
  await env?.stop();
});

/** Raw HTTP to the bridge, bypassing the client, to check the exact wire format. */
async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${env.restUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.restToken}`, "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as unknown };
}

/** Windows far longer than a test run, so no window boundary can fall inside one. */
const LONG_WINDOW = "1000 d";

const modes: [string, Partial<RedisConfigNodejs>][] = [
  ["default (auto-pipelining, base64)", {}],
  ["enableAutoPipelining: false", { enableAutoPipelining: false }],
  ["responseEncoding: false", { responseEncoding: false }],
];

describe.each(modes)("the real @upstash/redis client through the bridge, %s", (mode, opts) => {
  let redis: Redis;
  const key = (name: string) => `${mode}:${name}`;
  beforeAll(() => {
    redis = createTestUpstashClient(env, opts);
  });

  it("round-trips strings, numbers, null and unicode", async () => {
    const text = "héllo wörld 🚀 漢字 \u0000 end";
    expect(await redis.set(key("s"), text)).toBe("OK");
    expect(await redis.get(key("s"))).toBe(text);
    await redis.set(key("n"), 42);
    expect(await redis.get(key("n"))).toBe(42);
    expect(await redis.incrby(key("n"), 8)).toBe(50);
    expect(await redis.incrbyfloat(key("n"), 0.5)).toBe(50.5);
    expect(await redis.get(key("missing"))).toBeNull();
    await redis.set(key("json"), { a: [1, "ü"], b: null });
    expect(await redis.get(key("json"))).toEqual({ a: [1, "ü"], b: null });
    expect(await redis.ping()).toBe("PONG");
    expect(await redis.type(key("s"))).toBe("string");
  });

  it("round-trips random bytes stored as base64 and hex exactly", async () => {
    const bytes = randomBytes(64);
    await redis.set(key("b64"), bytes.toString("base64"));
    await redis.set(key("hex"), bytes.toString("hex"));
    const b64 = await redis.get<string>(key("b64"));
    const hex = await redis.get<string>(key("hex"));
    expect(Buffer.from(String(b64), "base64").equals(bytes)).toBe(true);
    expect(Buffer.from(String(hex), "hex").equals(bytes)).toBe(true);
  });

  it("reports a failing command inside a pipeline without failing the others", async () => {
    await redis.set(key("word"), "abc");
    const pipeline = redis.pipeline();
    pipeline.set(key("p1"), "v1");
    pipeline.incr(key("word"));
    pipeline.get(key("p1"));
    const results = await pipeline.exec({ keepErrors: true });
    expect(results[0]?.result).toBe("OK");
    expect(results[1]?.error).toMatch(/ERR value is not an integer/);
    expect(results[2]?.result).toBe("v1");
    const again = redis.pipeline().incr(key("word"));
    await expect(again.exec()).rejects.toThrow(/Command 1 \[ incr \] failed: ERR value is not an integer/);
  });

  it("runs multi-exec atomically with per-entry runtime errors", async () => {
    await redis.set(key("mword"), "abc");
    const tx = redis.multi().set(key("m1"), 1).incr(key("m1")).incr(key("mword")).get(key("m1"));
    const results = await tx.exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(["OK", 2, undefined, 2]);
    expect(results[2]?.error).toMatch(/ERR value is not an integer/);
  });

  it("aborts the whole transaction on a queue-time error (EXECABORT) and applies nothing", async () => {
    // DEL without keys is an arity error Redis reports while queueing, so EXEC aborts.
    const tx = redis.multi().set(key("aborted"), "x").del();
    await expect(tx.exec()).rejects.toThrow(errors.UpstashError);
    await expect(redis.multi().set(key("aborted"), "x").del().exec()).rejects.toThrow(/EXECABORT/);
    expect(await redis.exists(key("aborted"))).toBe(0);
  });

  it("runs EVAL and EVALSHA, including nested tables and Lua false/nil", async () => {
    expect(await redis.eval("return {1, 'x', {2, 'y'}, false, 'z'}", [], [])).toEqual([
      1,
      "x",
      [2, "y"],
      null,
      "z",
    ]);
    expect(await redis.eval("return {1, nil, 'lost'}", [], [])).toEqual([1]);
    const script = "return redis.call('SET', KEYS[1], ARGV[1])";
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(createHash("sha1").update(script).digest("hex"));
    expect(await redis.evalsha(sha, [key("e")], ["ev"])).toBe("OK");
    expect(await redis.get(key("e"))).toBe("ev");
  });

  it("accepts Upstash's allow-key-locking shebang and answers with the client's sha", async () => {
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
    const sha = createHash("sha1").update(script).digest("hex");
    expect(await redis.eval(script, [key("locked")], [])).toBe(1);
    expect(await redis.scriptLoad(script)).toBe(sha);
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, [key("locked")], [])).toBe(2);
  });

  it("passes NOSCRIPT through verbatim so createScript falls back to EVAL after SCRIPT FLUSH", async () => {
    const script = redis.createScript<string>(`#!lua flags=allow-key-locking\nreturn ARGV[1] .. "${mode}"`);
    expect(await script.exec([], ["a"])).toBe(`a${mode}`);
    expect(await redis.scriptFlush()).toBe("OK");
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT No matching script/);
    expect(await script.exec([], ["b"])).toBe(`b${mode}`);
  });

  it("supports SETBIT, GETBIT, BITCOUNT and BITFIELD", async () => {
    expect(await redis.setbit(key("bits"), 7, 1)).toBe(0);
    expect(await redis.setbit(key("bits"), 9, 1)).toBe(0);
    expect(await redis.getbit(key("bits"), 7)).toBe(1);
    expect(await redis.getbit(key("bits"), 8)).toBe(0);
    expect(await redis.bitcount(key("bits"), 0, -1)).toBe(2);
    // `redis.bitfield(k).set(...)` breaks under auto-pipelining (protocols.md §1); a pipeline works everywhere.
    const viaPipeline = await redis
      .pipeline()
      .bitfield(key("field"))
      .set("u8", 0, 200)
      .incrby("u8", 0, 100)
      .get("u8", 0)
      .exec()
      .exec();
    expect(viaPipeline).toEqual([[0, 44, 44]]);
    if (opts.enableAutoPipelining === false) {
      expect(await redis.bitfield(key("field2")).set("u4", 0, 15).get("u4", 0).exec()).toEqual([0, 15]);
    }
  });

  it("returns HGETALL as an object and a missing hash as null", async () => {
    await redis.hset(key("h"), { name: "ada", n: 7, u: "ñ" });
    expect(await redis.hgetall(key("h"))).toEqual({ name: "ada", n: 7, u: "ñ" });
    expect(await redis.hgetall(key("nohash"))).toBeNull();
  });

  const limiters = {
    slidingWindow: Ratelimit.slidingWindow(5, LONG_WINDOW),
    fixedWindow: Ratelimit.fixedWindow(5, LONG_WINDOW),
    tokenBucket: Ratelimit.tokenBucket(1, LONG_WINDOW, 5),
  };
  it.each(Object.entries(limiters))(
    "@upstash/ratelimit %s allows exactly 5, across a SCRIPT FLUSH",
    async (name, limiter) => {
      const ratelimit = new Ratelimit({ redis, limiter, ephemeralCache: false, prefix: key(`rl:${name}`) });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 3; i++) outcomes.push((await ratelimit.limit("user")).success);
      await redis.scriptFlush();
      for (let i = 0; i < 4; i++) outcomes.push((await ratelimit.limit("user")).success);
      expect(outcomes).toEqual([true, true, true, true, true, false, false]);
      expect(await ratelimit.getRemaining("user")).toMatchObject({ remaining: 0 });
    },
  );
});

describe("the bridge's wire format", () => {
  it("base64-encodes the exact bytes of a binary value, at the top level and nested", async () => {
    const bytes = randomBytes(256);
    const direct = createClient({ url: env.redisUrl });
    await direct.connect();
    await direct.set("raw:bin", bytes);
    await direct.close();
    const single = await post("/", JSON.stringify(["get", "raw:bin"]), { "upstash-encoding": "base64" });
    expect(Buffer.from((single.json as { result: string }).result, "base64").equals(bytes)).toBe(true);
    const nested = await post("/pipeline", JSON.stringify([["mget", "raw:bin", "raw:none"]]), {
      "upstash-encoding": "base64",
    });
    const [entry] = nested.json as [{ result: [string, null] }];
    expect(Buffer.from(entry.result[0], "base64").equals(bytes)).toBe(true);
    expect(entry.result[1]).toBeNull();
  });

  it("encodes every string at every depth in base64 mode, leaving numbers and null alone", async () => {
    const body = JSON.stringify(["eval", "return {1, 'a', {2, 'b', false}}", 0]);
    expect((await post("/", body, { "upstash-encoding": "base64" })).json).toEqual({
      result: [1, "YQ==", [2, "Yg==", null]],
    });
    expect((await post("/", body)).json).toEqual({ result: [1, "a", [2, "b", null]] });
    expect((await post("/", '["ping"]', { "upstash-encoding": "base64" })).json).toEqual({
      result: "UE9ORw==",
    });
  });

  it("String()s numeric and boolean arguments", async () => {
    expect((await post("/", JSON.stringify(["set", "raw:bool", true]))).json).toEqual({ result: "OK" });
    expect((await post("/", JSON.stringify(["get", "raw:bool"]))).json).toEqual({ result: "true" });
    expect((await post("/", JSON.stringify(["incrby", "raw:num", 2.0]))).json).toEqual({ result: 2 });
  });

  it("returns 400 {error} for a failing single command and an increasing upstash-sync-token", async () => {
    const first = await post("/", '["nosuchcommand"]');
    expect(first.status).toBe(400);
    expect(first.json).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
    const second = await post("/", '["ping"]');
    expect(Number(second.headers.get("upstash-sync-token"))).toBeGreaterThan(
      Number(first.headers.get("upstash-sync-token")),
    );
  });

  it("answers EXECABORT with 400 on /multi-exec and applies nothing", async () => {
    const aborted = await post("/multi-exec", JSON.stringify([["set", "raw:tx", "1"], ["nosuchcommand"]]));
    expect(aborted.status).toBe(400);
    expect(aborted.json).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect((await post("/", '["exists","raw:tx"]')).json).toEqual({ result: 0 });
  });

  it("refuses commands that would change the shared connection's state", async () => {
    for (const command of [["select", "1"], ["multi"], ["subscribe", "c"], ["client", "reply", "off"]]) {
      expect((await post("/", JSON.stringify(command))).status).toBe(400);
    }
    expect((await post("/", '["ping"]')).json).toEqual({ result: "PONG" });
  });

  it.each([
    ["/", "not json"],
    ["/", "{}"],
    ["/", "[]"],
    ["/", '"set"'],
    ["/", '[["set","k","v"]]'],
    ["/", '["set",{"a":1},"v"]'],
    ["/pipeline", '["set","k","v"]'],
    ["/pipeline", "[]"],
    ["/pipeline", "[[]]"],
    ["/pipeline", '[["get","k"],null]'],
    ["/multi-exec", '[["set","k",[1]]]'],
    ["/multi-exec", "null"],
  ])("rejects the malformed body %s %s with 400 and keeps serving", async (path, body) => {
    const response = await post(path, body);
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ error: expect.any(String) });
    expect((await post("/", '["ping"]')).json).toEqual({ result: "PONG" });
  });

  it("rejects a wrong or missing token with 401 Unauthorized", async () => {
    const wrong = createTestUpstashClient({ restUrl: env.restUrl, restToken: "wrong" });
    await expect(wrong.get("k")).rejects.toThrow(errors.UpstashError);
    await expect(wrong.get("k")).rejects.toThrow(/Unauthorized/);
    const missing = await fetch(env.restUrl, { method: "POST", body: '["ping"]' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "Unauthorized" });
  });

  it("strips only the Upstash-only shebang flag and keeps the others", () => {
    expect(stripUpstashScriptFlags("#!lua flags=allow-key-locking\nreturn 1")).toBe("#!lua\nreturn 1");
    expect(stripUpstashScriptFlags("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    expect(stripUpstashScriptFlags("return 1")).toBe("return 1");
  });

  it("encodes replies without ever producing objects", () => {
    expect(encodeReply([Buffer.from([0xff, 0x00]), 3, null, [Buffer.from("é")]], true)).toEqual([
      "/wA=",
      3,
      null,
      ["w6k="],
    ]);
    expect(encodeReply(Buffer.from("é"), false)).toBe("é");
  });
});

describe("startRedisServer", () => {
  /** True while the process exists and is not a zombie (an unreaped zombie no longer runs). */
  const isAlive = (pid: number) => {
    try {
      if (
        existsSync(`/proc/${pid}/stat`) &&
        /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
      ) {
        return false;
      }
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("stop() really ends the redis-server process", async () => {
    const server = await startRedisServer();
    expect(server.url).toBe(`redis://:${server.password}@127.0.0.1:${server.port}`);
    expect(isAlive(server.pid)).toBe(true);
    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    await server.stop(); // idempotent
  });

  it("keeps data across a restart when persist is set", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "redis-persist-"));
    try {
      const first = await startRedisServer({ persist: true, dataDir });
      const client = createClient({ url: first.url });
      await client.connect();
      await client.set("kept", "yes");
      await client.close();
      await first.stop();
      const second = await startRedisServer({ persist: true, dataDir });
      const again = createClient({ url: second.url });
      await again.connect();
      expect(await again.get("kept")).toBe("yes");
      await again.close();
      await second.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("explains how to install redis-server when it is not on PATH", async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), "empty-path-"));
    const savedPath = process.env.PATH;
    process.env.PATH = emptyDir;
    try {
      const attempt = startRedisServer();
      await expect(attempt).rejects.toThrow(/sudo apt-get install redis-server/);
      await expect(attempt).rejects.toThrow(/brew install redis/);
      await expect(attempt).rejects.toThrow(/REDIS_URL|UPSTASH_REDIS_REST_URL/);
    } finally {
      process.env.PATH = savedPath;
      rmSync(emptyDir, { recursive: true, force: true });
    }
    await expect(startRedisServer({ binary: join(emptyDir, "redis-server") })).rejects.toThrow(/apt-get/);
  });

  it("does not let redis-server outlive a parent process killed with SIGTERM", async () => {
    const moduleUrl = new URL("../../infra/local/redis-server.ts", import.meta.url).href;
    const code = `const { startRedisServer } = await import(${JSON.stringify(moduleUrl)});
      const s = await startRedisServer(); console.log(s.pid); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once("data", (chunk: Buffer) => resolve(Number.parseInt(chunk.toString(), 10)));
      parent.once("exit", () => reject(new Error("parent exited before starting redis-server")));
    });
    expect(isAlive(pid)).toBe(true);
    const exited = new Promise((resolve) => parent.once("exit", (_code, signal) => resolve(signal)));
    parent.kill("SIGTERM");
    expect(await exited).toBe("SIGTERM");
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
  });
});

describe("the bridge when its Redis goes away", () => {
  it("answers each request with an error reply instead of holding it, and closes without waiting for Redis", async () => {
    const server = await startRedisServer();
    const bridge = await startUpstashBridge({ redisUrl: server.url, token: "outage-test" });
    try {
      // A client timeout far beyond the test's: only the bridge's own answer can end these calls.
      const client = createTestUpstashClient(
        { restUrl: bridge.url, restToken: "outage-test" },
        { signal: () => AbortSignal.timeout(120_000) },
      );
      expect(await client.set("k", "v")).toBe("OK");
      await server.stop();
      const failure = await client.get("k").then(
        () => new Error("a read succeeded without Redis"),
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(errors.UpstashError);
      expect(String(failure)).toMatch(/offline|closed|ECONNREFUSED/i);
    } finally {
      await bridge.close(); // with pending commands waiting for Redis, this would never resolve
      await server.stop();
    }
  });
});

describe("the bridge's counters", () => {
  it("counts one round trip per HTTP request and one command per entry, whatever the endpoint", async () => {
    const server = await startRedisServer();
    const bridge = await startUpstashBridge({ redisUrl: server.url, token: "count-test" });
    try {
      const client = createTestUpstashClient({ restUrl: bridge.url, restToken: "count-test" });
      const before = bridge.counters();
      await Promise.all([client.set("a", "1"), client.set("b", "2"), client.get("a")]); // 2 auto-pipelines
      const tx = client.multi();
      tx.incr("n");
      tx.expire("n", 60);
      await tx.exec(); // one /multi-exec of 2 commands (MULTI/EXEC not counted)
      await client.exec(["PING"]); // a single POST /
      const wrongToken = await fetch(bridge.url, {
        method: "POST",
        headers: { authorization: "Bearer nope" },
        body: '["ping"]',
      });
      expect(wrongToken.status).toBe(401); // refused before counting
      const after = bridge.counters();
      expect(after.requests - before.requests).toBe(4);
      expect(after.commands - before.commands).toBe(6);
    } finally {
      await bridge.close();
      await server.stop();
    }
  });
});
