import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  bloomParameters,
  bloomPositions,
  MAX_BLOOM_BITS,
  MAX_BLOOM_HASHES,
} from "../../shared/accounts/bloom-filter";
import { ConfigError } from "../../shared/errors";

/** Independent reference of the documented layout, on node:crypto instead of @noble/hashes. */
function referencePositions(item: string, bits: number, hashes: number): number[] {
  const digest = createHash("sha256").update(item, "utf8").digest();
  const m = BigInt(bits);
  const h1 = digest.readBigUInt64BE(0);
  let h2 = digest.readBigUInt64BE(8) % m;
  if (h2 === 0n) h2 = 1n;
  return Array.from({ length: hashes }, (_, i) => Number((h1 + BigInt(i) * h2) % m));
}

/** In-memory bitmap driven by the pure functions only: measures what the positions deliver. */
function simulate(capacity: number, p: number, added: string[], absent: string[]) {
  const { bits, hashes } = bloomParameters(capacity, p);
  const bitmap = new Uint8Array(Math.ceil(bits / 8));
  const set = (i: number) => {
    bitmap[i >> 3] = (bitmap[i >> 3] ?? 0) | (1 << (i & 7));
  };
  const get = (i: number) => ((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  for (const item of added) for (const i of bloomPositions(item, bits, hashes)) set(i);
  const contains = (item: string) => bloomPositions(item, bits, hashes).every(get);
  return {
    falseNegatives: added.filter((item) => !contains(item)).length,
    falsePositives: absent.filter(contains).length,
  };
}

const items = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("bloomParameters (m = ⌈−n·ln p/(ln 2)²⌉, k = round(m/n·ln 2))", () => {
  it("matches the textbook sizes", () => {
    expect(bloomParameters(1_000_000, 0.01)).toEqual({ bits: 9_585_059, hashes: 7 });
    expect(bloomParameters(2000, 0.01)).toEqual({ bits: 19_171, hashes: 7 });
    expect(bloomParameters(1000, 0.001)).toEqual({ bits: 14_378, hashes: 10 });
  });

  it("clamps the bitmap to Redis's 2^32-bit string limit and derives k from the clamped size", () => {
    expect(bloomParameters(1_000_000_000, 1e-6)).toEqual({ bits: MAX_BLOOM_BITS, hashes: 3 });
  });

  it("clamps the hash count so a tiny rate cannot make probes unboundedly long", () => {
    expect(bloomParameters(1_000_000, 1e-12).hashes).toBe(MAX_BLOOM_HASHES);
    expect(bloomParameters(100, 0.5).hashes).toBe(1);
  });

  it.each([
    [0, 0.01],
    [-5, 0.01],
    [1.5, 0.01],
    [Number.NaN, 0.01],
    [1000, 0],
    [1000, 1],
    [1000, -0.1],
    [1000, Number.NaN],
  ])("rejects capacity %s with rate %s as a ConfigError", (capacity, rate) => {
    expect(() => bloomParameters(capacity, rate)).toThrow(ConfigError);
  });
});

describe("bloomPositions (Kirsch–Mitzenmacher double hashing over SHA-256)", () => {
  it("keeps the stored layout stable: a change here invalidates every bitmap in Redis", () => {
    // Pinned literally: if this fails, bump LAYOUT_VERSION in bloom-filter.ts instead of editing it.
    expect(bloomPositions("alpha", 9_585_059, 7)).toEqual([
      3291879, 4935121, 6578363, 8221605, 279788, 1923030, 3566272,
    ]);
    expect(bloomPositions("", 19_171, 7)).toEqual([5609, 10083, 14557, 19031, 4334, 8808, 13282]);
  });

  it("agrees with an independent implementation of the documented formula", () => {
    for (const [bits, hashes] of [
      [19_171, 7],
      [MAX_BLOOM_BITS, 3],
      [1, 4],
      [97, 32],
    ] as const) {
      for (const item of ["", "alpha", "é🚀漢", ...items("idx-", 50)]) {
        expect(bloomPositions(item, bits, hashes)).toEqual(referencePositions(item, bits, hashes));
      }
    }
  });

  it("returns exactly k offsets, each an integer in [0, m)", () => {
    for (const item of items("x", 200)) {
      const positions = bloomPositions(item, 1000, 9);
      expect(positions).toHaveLength(9);
      for (const p of positions) {
        expect(Number.isInteger(p)).toBe(true);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(1000);
      }
    }
  });

  it("spreads offsets evenly over the bitmap (no bucket far from the mean)", () => {
    const buckets = new Array<number>(100).fill(0);
    for (const item of items("u", 10_000)) for (const p of bloomPositions(item, 100, 1)) buckets[p]!++;
    // Mean 100 per bucket, σ ≈ 10: ±50 is 5σ, a broken hash (e.g. always the same bits) fails it.
    for (const count of buckets) expect(Math.abs(count - 100)).toBeLessThan(50);
  });
});

describe("the sizing and positions together", () => {
  it("never give a false negative and keep false positives near the configured rate", () => {
    const { falseNegatives, falsePositives } = simulate(
      2000,
      0.01,
      items("in-", 2000),
      items("out-", 20_000),
    );
    expect(falseNegatives).toBe(0);
    // Theory: (1 − e^(−kn/m))^k ≈ 1.01 % of 20 000 ≈ 202; fixed inputs, so this is deterministic.
    expect(falsePositives).toBeGreaterThan(20_000 * 0.01 * 0.33);
    expect(falsePositives).toBeLessThan(20_000 * 0.01 * 3);
  });
});
