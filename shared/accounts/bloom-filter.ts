/**
 * A Bloom filter kept in one Redis bitmap, so every function instance shares it (a per-process
 * filter resets on each cold start: STYLE anti-pattern 3). DESIGN §6: it answers "certainly
 * absent" or "maybe present" for email blind indexes (and revoked jti), each answer costing one
 * Kv call. Items are already keyed hashes, never PII.
 *
 * Runtime-neutral: SHA-256 from `@noble/hashes`, no `node:*` import.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8Encode } from "../crypto/encoding";
import { ConfigError } from "../errors";
import type { Kv, KvScript } from "../ports/kv";

/**
 * Redis caps a string at 512 MiB, i.e. 2^32 bits (offsets 0 … 2^32 − 1); one offset past the m
 * positions holds the completeness mark, hence 2^32 − 1.
 */
export const MAX_BLOOM_BITS = 2 ** 32 - 1;
/** More hash functions only help at absurd false-positive rates and make every probe longer. */
export const MAX_BLOOM_HASHES = 32;
/** Offsets per SETBIT script call in `addMany`/`rebuild`: bounds request size (~80 KB) and Lua run time. */
const OFFSETS_PER_CALL = 8192;
/** Version of the position function; part of the storage key so a future change never mixes bitmaps. */
const LAYOUT_VERSION = "v1";

/**
 * The probe, one script call (one command on the wire, ONE BITFIELD in Redis): it reads the item's
 * k bits (k ≤ {@link MAX_BLOOM_HASHES}, far below Lua's unpack limit) and, in the same BITFIELD,
 * the completeness mark at offset m (the last ARGV), which only {@link BloomFilter.rebuild} sets.
 * A missing bitmap reads as all zeros, so its mark is 0 too. Replies: -1 no mark (missing, or
 * re-created by `add` after a loss: it says nothing), 1 every bit set, 0 some bit clear.
 *
 * Why a mark and not only EXISTS: after the key is lost, the next registration's `add` re-creates
 * the bitmap with that one item, and an EXISTS check would then read every older account as
 * "certainly absent" again (F13 once more, just later). A BITFIELD of only GETs creates no key.
 */
const PROBE: KvScript = {
  source: `local a, m = {}, 0
for i = 1, #ARGV do a[m + 1] = 'GET'; a[m + 2] = 'u1'; a[m + 3] = ARGV[i]; m = m + 3 end
local r = redis.call('BITFIELD', KEYS[1], unpack(a, 1, m))
if r[#r] == 0 then return -1 end
for i = 1, #r - 1 do if r[i] == 0 then return 0 end end
return 1`,
};

/** How long a resumable rebuild's staging bitmap and checkpoint outlive their last part, seconds (one day). */
export const REBUILD_STAGING_TTL_SECONDS = 86_400;

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Commits one part of a resumable rebuild, atomically (KEYS: staging bitmap, its checkpoint, live
 * bitmap; ARGV: expected checkpoint ("" for the first part), next checkpoint, TTL seconds, last
 * ("1"/"0"), mark offset). The checkpoint holds `@<cursor>` while the run builds and `!swapped` once
 * it swapped. Replies: -1 the staging state is not where this part started (lost: restart the run),
 * 0 checkpoint advanced, 1 swapped now, 2 already swapped by an earlier attempt of this part.
 * The swap sets the completeness mark, RENAMEs the staging bitmap over the live one and PERSISTs
 * it (RENAME carries the staging TTL along); with nothing staged, the live bitmap is deleted.
 */
const COMMIT_PART: KvScript = {
  source: `local at = redis.call('GET', KEYS[2])
if ARGV[1] ~= '' and at ~= ('@' .. ARGV[1]) then
  if at == '!swapped' then return 2 end
  return -1
end
if ARGV[4] == '1' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('SETBIT', KEYS[1], tonumber(ARGV[5]), 1)
    redis.call('RENAME', KEYS[1], KEYS[3])
    redis.call('PERSIST', KEYS[3])
  else
    redis.call('DEL', KEYS[3])
  end
  redis.call('SET', KEYS[2], '!swapped', 'EX', tonumber(ARGV[3]))
  return 1
end
redis.call('SET', KEYS[2], '@' .. ARGV[2], 'EX', tonumber(ARGV[3]))
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) end
return 0`,
};

/** One part of a resumable rebuild: see {@link BloomFilter.rebuildPart}. */
export interface BloomRebuildPart {
  /** Names the run (`[A-Za-z0-9_-]{1,64}`): its staging bitmap is `<storageKey>:next:<runId>`. */
  runId: string;
  /** The checkpoint the previous part committed, or `null` for the first part (starts an empty staging bitmap). */
  from: string | null;
  /** The items of this part. */
  items: AsyncIterable<string> | Iterable<string>;
  /** What the next part passes as `from` (e.g. the last item's store cursor); unused when `last`. */
  checkpoint: string;
  /** The final part: sets the completeness mark and swaps the staging bitmap over the live one. */
  last: boolean;
}

/**
 * The outcome of {@link BloomFilter.rebuildPart}: `continued` (checkpoint committed), `swapped`
 * (the live bitmap is the complete new one; also the answer to a repeated final part), or `lost`
 * (the staging state is not at `from`: it expired or was removed; nothing was swapped, start the
 * run again from `from: null`). `added` counts the items read.
 */
export interface BloomRebuildOutcome {
  status: "continued" | "swapped" | "lost";
  added: number;
}

/**
 * What one probe found: `"absent"` (a bit is clear in a complete bitmap: certainly never added),
 * `"maybe"` (every bit set), or `"unknown"` (the bitmap is missing, or was not built complete by
 * {@link BloomFilter.rebuild}: lost to a flush, an eviction or a move to a new database and then
 * partly re-created by `add`, or emptied by a rebuild of nothing). Only `"absent"` skips the store.
 */
export type BloomProbe = "absent" | "maybe" | "unknown";

/** Size of a Bloom filter: `bits` (m) in the bitmap and `hashes` (k) bit positions per item. */
export interface BloomParameters {
  bits: number;
  hashes: number;
}

/**
 * Optimal Bloom filter size for `capacity` items at a target false-positive rate:
 * m = ⌈−n·ln p / (ln 2)²⌉ bits and k = round(m/n · ln 2) hashes (Bloom 1970; the optimum derived
 * in Broder & Mitzenmacher, "Network Applications of Bloom Filters: A Survey", 2004, §2.1).
 * m is clamped to [1, {@link MAX_BLOOM_BITS}] and k, computed from the clamped m, to
 * [1, {@link MAX_BLOOM_HASHES}]; when m is clamped the real rate is worse than asked (see `stats`).
 *
 * @example bloomParameters(1_000_000, 0.01) // { bits: 9_585_059, hashes: 7 }
 * @throws ConfigError unless `capacity` is a positive integer and 0 < `falsePositiveRate` < 1.
 */
export function bloomParameters(capacity: number, falsePositiveRate: number): BloomParameters {
  const problems: string[] = [];
  if (!Number.isSafeInteger(capacity) || capacity < 1)
    problems.push("bloom capacity: expected a positive integer");
  if (!(falsePositiveRate > 0 && falsePositiveRate < 1))
    problems.push("bloom falsePositiveRate: expected a number between 0 and 1 (exclusive)");
  if (problems.length > 0) throw new ConfigError(problems);
  const optimalBits = Math.ceil((-capacity * Math.log(falsePositiveRate)) / Math.LN2 ** 2);
  const bits = Math.min(Math.max(optimalBits, 1), MAX_BLOOM_BITS);
  const hashes = Math.min(Math.max(Math.round((bits / capacity) * Math.LN2), 1), MAX_BLOOM_HASHES);
  return { bits, hashes };
}

/**
 * The `hashes` bit offsets (each in [0, bits)) of `item`, by double hashing (Kirsch & Mitzenmacher,
 * "Less Hashing, Same Performance: Building a Better Bloom Filter", 2006): gᵢ = (h₁ + i·h₂) mod m
 * for i = 0…k−1, where h₁ and h₂ are the first two big-endian 64-bit words of SHA-256(UTF-8 item).
 * h₂ ≡ 0 (mod m) is replaced by 1 so the k offsets never collapse into one. Offsets may repeat
 * (harmless: a repeated bit is set or probed twice). Deterministic across runtimes and versions.
 */
export function bloomPositions(item: string, bits: number, hashes: number): number[] {
  const digest = sha256(utf8Encode(item));
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const m = BigInt(bits);
  // Reduce the 64-bit words once in BigInt; afterwards a, b < m ≤ 2^32 and a + i·b < 2^38 stays exact in a double.
  const a = Number(view.getBigUint64(0) % m);
  const b = Number(view.getBigUint64(8) % m) || 1;
  const positions: number[] = new Array(hashes);
  for (let i = 0; i < hashes; i++) positions[i] = (a + i * b) % bits;
  return positions;
}

/** Options of {@link createBloomFilter}. */
export interface BloomFilterOptions {
  /** Base Redis key, e.g. `User1:bloom:email`; the bitmap lives at {@link BloomFilter.storageKey}. */
  key: string;
  /** Expected number of items (n). Beyond it the false-positive rate rises (see `stats`). */
  capacity: number;
  /** Target false-positive rate (p) at `capacity` items, e.g. 0.01. */
  falsePositiveRate: number;
  /**
   * Called (synchronously, must not throw) each time a probe answers `"unknown"`, so the caller
   * can log or alert: such a filter costs every probe a store read until it is rebuilt.
   */
  onMissing?: () => void;
}

/** Statistics of the live bitmap; the count-based fields are `null` when the Kv has no `bitCount`. */
export interface BloomStats {
  bits: number;
  hashes: number;
  /** Bits set to 1 (BITCOUNT; the completeness mark of a rebuilt bitmap included). */
  setBits: number | null;
  /** setBits / bits, in [0, 1]. */
  fill: number | null;
  /**
   * Chance that an absent item is reported present now: fill^k (each of the k probed bits is set
   * with probability ≈ fill; Broder & Mitzenmacher 2004 §2.1). Compare with the configured rate.
   */
  estimatedFalsePositiveRate: number | null;
  /**
   * Distinct items added, estimated from the fill: n ≈ −(m/k)·ln(1 − X/m) (Swamidass & Baldi,
   * "Mathematical correction for fingerprint similarity measures", 2007). `Infinity` when full.
   */
  estimatedItems: number | null;
}

/**
 * A Bloom filter in Redis: "maybe present" or "certainly absent", never a false "absent". It is
 * only ever an optimisation (issue #14 item 8): it answers "absent" only from a bitmap that a
 * {@link BloomFilter.rebuild} built complete from the store (its completeness mark); a missing,
 * empty or partly re-created bitmap answers "maybe", so losing the key costs store reads, not
 * accounts. `add` and `addMany` keep a complete bitmap complete but never make one so.
 */
export interface BloomFilter {
  /** Size derived from the options. */
  readonly parameters: BloomParameters;
  /**
   * Redis key of the bitmap: `<key>:v1:<bits>:<hashes>`. The size is part of the name because bit
   * positions depend on it: instances running with different settings (a rolling deploy after a
   * capacity change) then use separate bitmaps instead of corrupting one. A new size starts empty,
   * so a settings change must be followed by {@link BloomFilter.rebuild}.
   */
  readonly storageKey: string;
  /** Sets the item's k bits: one Kv call (`setBits`). Throws on Kv failure. */
  add(item: string): Promise<void>;
  /**
   * `false` means certainly never added; `true` means maybe, and is also the answer when the
   * bitmap is missing or not complete (see {@link BloomFilter.probe}). One Kv call. Throws on Kv failure.
   */
  mightContain(item: string): Promise<boolean>;
  /**
   * The probe with "no complete bitmap" told apart: one Kv call (`evalScript`, one BITFIELD in
   * Redis). Calls `onMissing` on `"unknown"`. Throws on Kv failure.
   */
  probe(item: string): Promise<BloomProbe>;
  /**
   * Adds every item into the live bitmap, ⌊8192/k⌋ items per Kv call, sequentially; returns how
   * many items were read. Safe while readers and writers run: a Bloom filter only gains bits, so no
   * reader ever sees a false "absent" because of it.
   */
  addMany(items: AsyncIterable<string> | Iterable<string>): Promise<number>;
  /** Fill and estimated false-positive rate of the live bitmap (one BITCOUNT when supported). */
  stats(): Promise<BloomStats>;
  /**
   * Rebuilds from the source of truth, dropping bits of removed items: writes all `items` into
   * `<storageKey>:next` (deleted first), then RENAMEs it over the live key, so readers switch
   * atomically from the old bitmap to the complete new one, and sets the completeness mark that
   * lets probes answer "absent". With no items the live key is deleted (an empty filter, which
   * probes answer as "unknown": see {@link BloomProbe}). Returns the number of items.
   *
   * Race to know: an `add` to the live key while the rebuild runs is lost by the swap unless
   * `items` also yielded it. Iterate a source that includes records created during the run (or
   * re-add records created since the rebuild began, after it returns), and use the filter only
   * where the store remains the authority (e.g. the unique email index). Run one rebuild at a
   * time per key (one scheduled job); two concurrent ones only union their bits.
   *
   * @throws Error when the Kv adapter has no `rename`.
   */
  rebuild(items: AsyncIterable<string> | Iterable<string>): Promise<number>;
  /**
   * {@link BloomFilter.rebuild} split into parts that may run in different invocations (a
   * scheduled job with a time budget): the first part (`from: null`) empties the run's staging
   * bitmap `<storageKey>:next:<runId>`, every part adds its items to it and commits its
   * `checkpoint`, and the `last` part sets the completeness mark and RENAMEs the staging bitmap
   * over the live key in one script, so readers switch atomically from the old bitmap to the
   * complete new one. With {@link BloomFilter.rebuild}, the only code that sets the mark.
   *
   * A part that does not start where the previous one committed (its staging state expired after
   * {@link REBUILD_STAGING_TTL_SECONDS}, or was flushed) adds nothing and answers `lost`, so a run can
   * never swap in a bitmap that misses a part. Repeating a part is harmless (a Bloom filter only
   * gains bits; a repeated final part answers `swapped` without touching the live key). The race
   * described at {@link BloomFilter.rebuild} applies to the whole run. Costs: one GET (parts after
   * the first), ⌈items·k/8192⌉ SETBIT scripts, one commit script.
   * @throws TypeError for a malformed `runId`.
   */
  rebuildPart(part: BloomRebuildPart): Promise<BloomRebuildOutcome>;
}

/**
 * Builds a {@link BloomFilter} over the {@link Kv} port; sizing per {@link bloomParameters},
 * positions per {@link bloomPositions}. Makes no Kv call until a method is used.
 *
 * @throws ConfigError for an invalid capacity or false-positive rate.
 * @example
 * const emails = createBloomFilter(kv, { key: redisKeys.emailBloom(kind), capacity: 1e6, falsePositiveRate: 0.01 });
 * if (!(await emails.mightContain(emailIndex))) { ... certainly a new email ... }
 */
export function createBloomFilter(kv: Kv, opts: BloomFilterOptions): BloomFilter {
  const parameters = bloomParameters(opts.capacity, opts.falsePositiveRate);
  const { bits, hashes } = parameters;
  const storageKey = `${opts.key}:${LAYOUT_VERSION}:${bits}:${hashes}`;
  const positions = (item: string) => bloomPositions(item, bits, hashes);
  const itemsPerCall = Math.max(1, Math.floor(OFFSETS_PER_CALL / hashes));

  async function addAllInto(key: string, items: AsyncIterable<string> | Iterable<string>): Promise<number> {
    let count = 0;
    let batch: number[] = [];
    for await (const item of items) {
      for (const position of positions(item)) batch.push(position);
      count++;
      if (count % itemsPerCall === 0) {
        await kv.setBits(key, batch);
        batch = [];
      }
    }
    if (batch.length > 0) await kv.setBits(key, batch);
    return count;
  }

  async function probe(item: string): Promise<BloomProbe> {
    const reply = Number(await kv.evalScript(PROBE, [storageKey], [...positions(item), bits]));
    if (reply === 1) return "maybe";
    if (reply === 0) return "absent";
    // -1 (or anything unexpected): never read as "absent".
    opts.onMissing?.();
    return "unknown";
  }

  return {
    parameters,
    storageKey,
    async add(item) {
      await kv.setBits(storageKey, positions(item));
    },
    probe,
    async mightContain(item) {
      return (await probe(item)) !== "absent";
    },
    addMany(items) {
      return addAllInto(storageKey, items);
    },
    async stats() {
      if (kv.bitCount === undefined)
        return {
          bits,
          hashes,
          setBits: null,
          fill: null,
          estimatedFalsePositiveRate: null,
          estimatedItems: null,
        };
      const setBits = await kv.bitCount(storageKey);
      const fill = setBits / bits;
      return {
        bits,
        hashes,
        setBits,
        fill,
        estimatedFalsePositiveRate: fill ** hashes,
        estimatedItems: fill >= 1 ? Number.POSITIVE_INFINITY : (-bits / hashes) * Math.log1p(-fill),
      };
    },
    async rebuildPart(part) {
      if (!RUN_ID.test(part.runId)) throw new TypeError("runId must match [A-Za-z0-9_-]{1,64}");
      const staging = `${storageKey}:next:${part.runId}`;
      const checkpointKey = `${staging}:at`;
      if (part.from === null) await kv.del(staging, checkpointKey);
      else {
        const at = await kv.get(checkpointKey);
        if (at === "!swapped") return { status: "swapped", added: 0 };
        // Adding to a lost staging bitmap would re-create it without a TTL: refuse first.
        if (at !== `@${part.from}`) return { status: "lost", added: 0 };
      }
      const added = await addAllInto(staging, part.items);
      const reply = Number(
        await kv.evalScript(
          COMMIT_PART,
          [staging, checkpointKey, storageKey],
          [part.from ?? "", part.checkpoint, REBUILD_STAGING_TTL_SECONDS, part.last ? "1" : "0", bits],
        ),
      );
      if (reply === 0) return { status: "continued", added };
      if (reply === 1 || reply === 2) return { status: "swapped", added };
      return { status: "lost", added: 0 };
    },
    async rebuild(items) {
      if (kv.rename === undefined) throw new Error("Bloom filter rebuild needs a Kv adapter with rename()");
      const nextKey = `${storageKey}:next`;
      await kv.del(nextKey);
      const count = await addAllInto(nextKey, items);
      if (count === 0) await kv.del(storageKey);
      else {
        await kv.setBits(nextKey, [bits]); // the completeness mark, before readers can see the bitmap
        await kv.rename(nextKey, storageKey);
      }
      return count;
    },
  };
}
