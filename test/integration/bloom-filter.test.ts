import type { Redis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createBloomFilter } from "../../shared/accounts/bloom-filter";
import { createUpstashKv } from "../../shared/adapters/upstash-kv";
import type { Kv } from "../../shared/ports/kv";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy";
import { createTestUpstashClient, startTestRedis, type TestRedis } from "../helpers/redis";
import { commandStats } from "../helpers/redis-cost";

const items = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Probes concurrently in chunks (auto-pipelining batches each chunk) and returns the answers. */
async function probeAll(filter: ReturnType<typeof createBloomFilter>, list: string[]): Promise<boolean[]> {
  const answers: boolean[] = [];
  for (let i = 0; i < list.length; i += 1000) {
    answers.push(...(await Promise.all(list.slice(i, i + 1000).map((item) => filter.mightContain(item)))));
  }
  return answers;
}

let env: TestRedis;
let proxy: CountingProxy;
let redis: Redis;
let kv: Kv;
beforeAll(async () => {
  env = await startTestRedis();
  proxy = await startCountingProxy(env.restUrl);
  redis = createTestUpstashClient({ restUrl: proxy.url, restToken: env.restToken });
  kv = createUpstashKv(redis);
});
afterAll(async () => {
  await proxy?.close();
  await env?.stop();
});

const CAPACITY = 2000;
const P = 0.01;

describe("Bloom filter in Redis through the Upstash REST bridge", () => {
  const filter = () =>
    createBloomFilter(kv, { key: "t:bloom:email", capacity: CAPACITY, falsePositiveRate: P });
  const present = items("idx-in-", CAPACITY);
  const absent = items("idx-out-", 20_000);

  beforeAll(async () => {
    // A rebuild, not addMany: since issue #14 item 8 only a rebuilt (complete) bitmap answers
    // "certainly absent", which the false-positive measurement below needs.
    await filter().rebuild(present);
  });

  it("never reports an added item as absent (no false negatives)", async () => {
    const answers = await probeAll(filter(), present);
    expect(answers.filter((a) => !a)).toHaveLength(0);
  });

  it("keeps the measured false-positive rate on 20 000 absent items under 3× the configured rate", async () => {
    const answers = await probeAll(filter(), absent);
    const rate = answers.filter(Boolean).length / absent.length;
    expect(rate).toBeLessThan(3 * P);
  });

  it("reports fill, estimated false-positive rate and item count consistent with theory", async () => {
    const stats = await filter().stats();
    expect(stats).toMatchObject({ bits: 19_171, hashes: 7 });
    // Expected fill 1 − e^(−kn/m) ≈ 0.518, FP ≈ fill^k ≈ 1.0 %.
    expect(stats.setBits).toBe(Math.round((stats.fill ?? 0) * 19_171));
    expect(stats.fill).toBeGreaterThan(0.48);
    expect(stats.fill).toBeLessThan(0.56);
    expect(stats.estimatedFalsePositiveRate).toBeGreaterThan(0.005);
    expect(stats.estimatedFalsePositiveRate).toBeLessThan(0.02);
    expect(Math.abs((stats.estimatedItems ?? 0) - CAPACITY)).toBeLessThan(CAPACITY * 0.05);
  });

  it("reports an empty filter as zero fill and zero false-positive rate", async () => {
    const empty = createBloomFilter(kv, { key: "t:bloom:empty", capacity: 100, falsePositiveRate: P });
    expect(await empty.stats()).toMatchObject({
      setBits: 0,
      fill: 0,
      estimatedFalsePositiveRate: 0,
      estimatedItems: 0,
    });
    // Issue #14 item 8 changed this answer (it was `false`): an empty (here missing) filter is
    // never read as "certainly absent".
    expect(await empty.mightContain("anything")).toBe(true);
    expect(await empty.probe("anything")).toBe("unknown");
  });

  it("reports null counts, not a guess, when the Kv adapter has no bitCount", async () => {
    const { bitCount: _omitted, ...withoutBitCount } = kv;
    const stats = await createBloomFilter(withoutBitCount, {
      key: "t:bloom:email",
      capacity: CAPACITY,
      falsePositiveRate: P,
    }).stats();
    expect(stats).toEqual({
      bits: 19_171,
      hashes: 7,
      setBits: null,
      fill: null,
      estimatedFalsePositiveRate: null,
      estimatedItems: null,
    });
  });

  it("keeps filters with different sizes in separate bitmaps, so a settings change cannot mix positions", async () => {
    const other = createBloomFilter(kv, { key: "t:bloom:email", capacity: 50_000, falsePositiveRate: P });
    expect(other.storageKey).not.toBe(filter().storageKey);
    expect(filter().storageKey).toBe("t:bloom:email:v1:19171:7");
    expect(await other.stats()).toMatchObject({ setBits: 0 });
  });
});

describe("a missing or incomplete bitmap is never read as certainly absent (issue #14 item 8)", () => {
  it("tells absent, maybe and unknown apart in one request, and reports each unknown probe", async () => {
    let unknown = 0;
    const f = createBloomFilter(kv, {
      key: "t:bloom:lost",
      capacity: 1000,
      falsePositiveRate: P,
      onMissing: () => unknown++,
    });
    await f.rebuild(items("lost-", 100));
    expect(await f.probe("lost-1")).toBe("maybe");
    // 50 items never added: at p = 1 % nearly all are "absent"; none may be "unknown".
    const answers = await Promise.all(items("never-", 50).map((item) => f.probe(item)));
    expect(answers).toContain("absent");
    expect(answers).not.toContain("unknown");
    expect(unknown).toBe(0);

    await kv.del(f.storageKey);
    proxy.reset();
    const lost = await Promise.all(items("lost-", 100).map((item) => f.mightContain(item)));
    expect(lost.every(Boolean)).toBe(true);
    expect(await f.probe("never-0")).toBe("unknown");
    expect(unknown).toBe(101);
    // Still one script call per probe.
    expect(proxy.requests.flatMap((r) => r.commands).every((c) => c === "evalsha")).toBe(true);

    // An add after the loss re-creates the bitmap with one item: it must not make the items
    // added before the loss "certainly absent".
    await f.add("after-the-loss");
    expect(await f.probe("after-the-loss")).toBe("unknown");
    expect((await probeAll(f, items("lost-", 100))).every(Boolean)).toBe(true);
    expect(await f.probe("never-0")).toBe("unknown");

    // A rebuild makes it complete again.
    await f.rebuild([...items("lost-", 100), "after-the-loss"]);
    expect(await f.probe("after-the-loss")).toBe("maybe");
    expect(await Promise.all(items("never-", 50).map((item) => f.probe(item)))).toContain("absent");
  });
});

describe("round trips: each add and each probe is one HTTP request", () => {
  const filter = () => createBloomFilter(kv, { key: "t:bloom:rt", capacity: 10_000, falsePositiveRate: P });
  beforeEach(() => proxy.reset());

  it("costs EVALSHA, then EVAL once, on a Redis that has never seen the script; one request after", async () => {
    await redis.scriptFlush();
    proxy.reset();
    await filter().add("first");
    expect(proxy.requests.flatMap((r) => r.commands)).toEqual(["evalsha", "eval"]);
    proxy.reset();
    await filter().mightContain("first");
    expect(proxy.requests.flatMap((r) => r.commands)).toEqual(["evalsha", "eval"]);
    proxy.reset();
    await filter().add("second");
    await filter().mightContain("second");
    expect(proxy.requests).toHaveLength(2);
  });

  it("sends one request per add and one per probe, each carrying one command", async () => {
    const f = filter();
    await f.add("warm");
    await f.mightContain("warm");
    proxy.reset();
    for (const item of items("rt-", 5)) {
      await f.add(item);
      expect(await f.mightContain(item)).toBe(true);
    }
    expect(proxy.requests).toHaveLength(10);
    for (const request of proxy.requests) expect(request.commands).toEqual(["evalsha"]);
  });

  it("runs one BITFIELD in Redis per add and per probe, not k GETBIT/SETBIT, and a probe creates no key", async () => {
    const f = filter(); // k = 7
    await f.add("warm");
    await f.mightContain("warm");
    const before = await commandStats(env.redisUrl);
    await f.add("counted");
    expect(await f.mightContain("counted")).toBe(true);
    const after = await commandStats(env.redisUrl);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(delta("bitfield")).toBe(2);
    expect(delta("evalsha")).toBe(2);
    expect(delta("getbit") + delta("setbit")).toBe(0);

    const absent = createBloomFilter(kv, {
      key: "t:bloom:never-written",
      capacity: 10,
      falsePositiveRate: P,
    });
    // Issue #14 item 8: a missing bitmap answers "maybe" (it was read as all zeros, i.e. `false`),
    // and the probe that finds it missing still creates no key.
    expect(await absent.mightContain("anything")).toBe(true);
    expect(await redis.exists(absent.storageKey)).toBe(0);
  });

  it("probes and sets more offsets than one BITFIELD part (and Lua's unpack) can take", async () => {
    const f = createBloomFilter(kv, { key: "t:bloom:wide", capacity: 100, falsePositiveRate: 1e-9 }); // k = 30
    const list = items("wide-", 500); // 15000 offsets in one addMany call
    expect(await f.addMany(list)).toBe(500);
    expect((await probeAll(f, list)).every(Boolean)).toBe(true);
  });

  it("batches addMany into ⌊8192/k⌋ items per request", async () => {
    const f = filter(); // k = 7 → 1170 items per call
    await f.add("warm");
    proxy.reset();
    expect(await f.addMany(items("batch-", 2341))).toBe(2341);
    expect(proxy.requests).toHaveLength(3);
  });

  it("accepts an async iterable in addMany", async () => {
    async function* source() {
      for (const item of items("async-", 10)) yield item;
    }
    const f = filter();
    expect(await f.addMany(source())).toBe(10);
    expect(await probeAll(f, items("async-", 10))).toEqual(new Array(10).fill(true));
  });
});

describe("rebuild: build into <key>:next, then RENAME over the live key", () => {
  const filter = () =>
    createBloomFilter(kv, { key: "t:bloom:rebuild", capacity: 2000, falsePositiveRate: P });

  it("drops items missing from the source and keeps every item the source yields", async () => {
    const f = filter();
    const removed = items("gone-", 1000);
    const kept = items("kept-", 1000);
    await f.addMany([...removed, ...kept]);
    expect(await f.rebuild(kept)).toBe(1000);
    expect((await probeAll(f, kept)).every(Boolean)).toBe(true);
    const stillThere = (await probeAll(f, removed)).filter(Boolean).length;
    expect(stillThere).toBeLessThan(1000 * 3 * P);
    expect(await kv.get(`${f.storageKey}:next`)).toBeNull();
  });

  it("never shows a reader a false negative for an item present before and after the swap", async () => {
    const f = filter();
    const stable = items("stable-", 300);
    await f.rebuild(stable);
    let rebuilding = true;
    let probes = 0;
    const misses: string[] = [];
    const reader = (async () => {
      while (rebuilding) {
        const answers = await probeAll(f, stable.slice(0, 50));
        probes += answers.length;
        answers.forEach((a, i) => {
          if (!a) misses.push(stable[i] ?? "");
        });
      }
    })();
    await f.rebuild([...stable, ...items("new-", 1500)]);
    rebuilding = false;
    await reader;
    expect(probes).toBeGreaterThan(0);
    expect(misses).toEqual([]);
  });

  it("empties the filter when the source yields nothing", async () => {
    const f = filter();
    await f.add("lonely");
    expect(await f.rebuild([])).toBe(0);
    // Issue #14 item 8 changed this answer (it was `false`): the emptied filter has no key, and a
    // filter without its key answers "maybe", never "certainly absent".
    expect(await f.probe("lonely")).toBe("unknown");
    expect(await f.stats()).toMatchObject({ setBits: 0 });
  });

  it("refuses to rebuild without a Kv rename instead of leaving a half-built key live", async () => {
    const { rename: _omitted, ...withoutRename } = kv;
    const f = createBloomFilter(withoutRename, {
      key: "t:bloom:norename",
      capacity: 100,
      falsePositiveRate: P,
    });
    await expect(f.rebuild(["a"])).rejects.toThrow(/rename/);
  });
});

describe("rebuildPart: a rebuild split over deliveries, swapped atomically by its last part", () => {
  const filter = (key: string) => createBloomFilter(kv, { key, capacity: 2000, falsePositiveRate: P });

  it("answers 'maybe'/'unknown' until the last part swaps, then 'absent' for what no part added", async () => {
    const f = filter("t:bloom:parts");
    await f.addMany(items("old-", 50)); // a live bitmap without the mark
    const first = await f.rebuildPart({
      runId: "run_a",
      from: null,
      items: items("a-", 300),
      checkpoint: "c1",
      last: false,
    });
    expect(first).toEqual({ status: "continued", added: 300 });
    expect(await f.probe("a-1")).toBe("unknown"); // the live bitmap is untouched until the swap
    const second = await f.rebuildPart({
      runId: "run_a",
      from: "c1",
      items: items("b-", 300),
      checkpoint: "c2",
      last: false,
    });
    expect(second.status).toBe("continued");
    const last = await f.rebuildPart({
      runId: "run_a",
      from: "c2",
      items: ["z"],
      checkpoint: "",
      last: true,
    });
    expect(last).toEqual({ status: "swapped", added: 1 });
    for (const item of ["a-0", "a-299", "b-0", "b-299", "z"]) expect(await f.probe(item)).toBe("maybe");
    expect(await f.probe("never-added")).toBe("absent");
    // The live bitmap keeps no TTL from its staging life; the staging keys are gone.
    expect(await redis.ttl(f.storageKey)).toBe(-1);
    expect(await kv.get(`${f.storageKey}:next:run_a`)).toBeNull();
  });

  it("repeating a part is harmless, and a repeated last part does not swap twice", async () => {
    const f = filter("t:bloom:repeat");
    await f.rebuildPart({
      runId: "run_r",
      from: null,
      items: items("r-", 100),
      checkpoint: "c1",
      last: false,
    });
    expect(
      (
        await f.rebuildPart({
          runId: "run_r",
          from: "c1",
          items: items("s-", 10),
          checkpoint: "c2",
          last: true,
        })
      ).status,
    ).toBe("swapped");
    const before = await f.stats();
    await f.add("added-after-the-swap");
    const again = await f.rebuildPart({
      runId: "run_r",
      from: "c1",
      items: items("s-", 10),
      checkpoint: "c2",
      last: true,
    });
    expect(again).toEqual({ status: "swapped", added: 0 });
    expect(await f.probe("added-after-the-swap")).toBe("maybe"); // the live bitmap was not replaced again
    expect((await f.stats()).setBits).toBeGreaterThanOrEqual(before.setBits ?? 0);
  });

  it("refuses a part that does not continue from the committed checkpoint ('lost'), adding nothing", async () => {
    const f = filter("t:bloom:lost");
    await f.rebuildPart({
      runId: "run_l",
      from: null,
      items: items("l-", 10),
      checkpoint: "c1",
      last: false,
    });
    await kv.del(`${f.storageKey}:next:run_l`, `${f.storageKey}:next:run_l:at`); // flushed / expired
    expect(
      await f.rebuildPart({ runId: "run_l", from: "c1", items: ["x"], checkpoint: "c2", last: true }),
    ).toEqual({
      status: "lost",
      added: 0,
    });
    expect(await kv.get(`${f.storageKey}:next:run_l`)).toBeNull();
    expect(await f.probe("l-1")).toBe("unknown"); // nothing was swapped in
    expect(
      await f.rebuildPart({ runId: "run_l", from: "c9", items: ["x"], checkpoint: "c10", last: false }),
    ).toEqual({
      status: "lost",
      added: 0,
    });
    await expect(
      f.rebuildPart({ runId: "bad id", from: null, items: [], checkpoint: "", last: true }),
    ).rejects.toThrow(TypeError);
  });
});
