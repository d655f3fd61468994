/**
 * `bloom-rebuild` (daily): rebuilds each kind's registered-email Bloom filter from the user store
 * (DESIGN.md §6), streaming the store's email indexes in pages into a fresh staging bitmap that
 * replaces the live one atomically ({@link BloomFilter.rebuildPart}); sized from `BLOOM_CAPACITY`
 * and `BLOOM_FALSE_POSITIVE_RATE`; reports the new bitmap's fill and estimated false-positive rate.
 *
 * Registrations racing the run: the scan is by email index, so an account created during the run
 * with an index below the cursor is not in the pages. Every record created since the run began
 * (minus {@link RECENT_MARGIN_MS} for clock skew between instances) is therefore added to the
 * staging bitmap before the swap, and again to the live bitmap right after it (a registration
 * between the two set its bits in the bitmap the swap replaced). A run whose staging state was
 * lost (expired, flushed) starts its kind again; a lost live key answers "maybe" meanwhile.
 */
import { type BloomFilter, createBloomFilter } from "../accounts/bloom-filter";
import { redisKeys } from "../accounts/keys";
import type { UserStore } from "../ports/user-store";
import { defineJob, type JobStepResult } from "./job";

/** How far before the run's start "created since the run began" reaches, milliseconds (clock skew). */
export const RECENT_MARGIN_MS = 5 * 60_000;
/** Email indexes per step: this many times `JOB_BATCH_SIZE` (an index is a few bytes, a record ~1 KB). */
export const INDEXES_PER_RECORD = 10;
/** A cursor that starts the kind again with a fresh staging bitmap. */
const RESTART = "!restart";

interface BloomRebuildDeps {
  store: UserStore;
  bloom(kind: string): BloomFilter;
}

/** Every email index of a kind created at or after `sinceMs`, in pages of 1000. */
async function createdSince(store: UserStore, kind: string, sinceMs: number): Promise<string[]> {
  const out: string[] = [];
  let afterId: string | null = null;
  do {
    const page = await store.scan(kind, { createdSinceMs: sinceMs }, { afterId, limit: 1000 });
    for (const record of page.records) out.push(record.emailIndex);
    afterId = page.next;
  } while (afterId !== null);
  return out;
}

/** See the file comment. Counts: `items` (indexes streamed), `recent` (re-added after the swap), `restarts`. */
export const bloomRebuildJob = defineJob<BloomRebuildDeps>({
  name: "bloom-rebuild",
  perKind: true,
  async deps(ctx) {
    const store = await ctx.store();
    const filters = new Map<string, BloomFilter>();
    return {
      store,
      bloom(kind) {
        let filter = filters.get(kind);
        if (!filter) {
          filter = createBloomFilter(ctx.kv(), {
            key: redisKeys.emailBloom(kind),
            capacity: ctx.config.bloom.capacity,
            falsePositiveRate: ctx.config.bloom.falsePositiveRate,
          });
          filters.set(kind, filter);
        }
        return filter;
      },
    };
  },
  async step({ store, bloom }, { kind, cursor, run, batchSize }): Promise<JobStepResult> {
    if (kind === null) throw new Error("bloom-rebuild runs per kind");
    const filter = bloom(kind);
    const from = cursor === null || cursor === RESTART ? null : cursor;
    const size = batchSize * INDEXES_PER_RECORD;
    const page: string[] = [];
    for await (const index of store.emailIndexes(kind, from ?? undefined)) {
      page.push(index);
      if (page.length >= size) break;
    }
    const lastIndex = page.at(-1);
    if (page.length >= size && lastIndex !== undefined) {
      const part = await filter.rebuildPart({
        runId: run.id,
        from,
        items: page,
        checkpoint: lastIndex,
        last: false,
      });
      if (part.status === "lost") return { cursor: RESTART, counts: { restarts: 1 } };
      return { cursor: lastIndex, counts: { items: page.length } };
    }
    const sinceMs = run.startedAtMs - RECENT_MARGIN_MS;
    const recentBefore = await createdSince(store, kind, sinceMs);
    const part = await filter.rebuildPart({
      runId: run.id,
      from,
      items: [...page, ...recentBefore],
      checkpoint: "",
      last: true,
    });
    if (part.status === "lost") return { cursor: RESTART, counts: { restarts: 1 } };
    const recentAfter = await createdSince(store, kind, sinceMs);
    await filter.addMany(recentAfter);
    const stats = await filter.stats();
    return {
      cursor: null,
      counts: { items: page.length, recent: recentAfter.length },
      report: {
        bits: stats.bits,
        hashes: stats.hashes,
        set_bits: stats.setBits,
        fill: stats.fill,
        estimated_false_positive_rate: stats.estimatedFalsePositiveRate,
      },
    };
  },
});
