/**
 * What `GET /health/detailed` reports (operators only): dependency latencies, the email Bloom
 * filters' fill, queue reachability, key ring status and the build. Never key material, never
 * PII: key ids and counts, bit counts, latencies and error class names only.
 */
import type { Config } from "../config/schema";
import type { KeyRing } from "../crypto/envelope";
import { type ProbeResult, pingQstash, probeDependency } from "./health-probes";

/** What the report reads: the configuration and one probe per dependency. */
export interface DetailedHealthProbes {
  config: Pick<Config, "bloom" | "qstash" | "userKinds">;
  /** Rejects when the user store does not answer. */
  pingStore(): Promise<void>;
  /** Rejects when Redis does not answer. */
  pingRedis(): Promise<void>;
  keyRing(): Promise<Pick<KeyRing, "activeKeyId" | "keyIds">>;
  /** How many of a kind's records the user store holds, all or only those wrapped under one ring key. */
  countRecords(kind: string, query: { dataKeyId?: string }): Promise<number>;
  /** A kind's email Bloom filter: its sizing and a reading of its bitmap (one Redis command). */
  emailBloom(kind: string): {
    parameters: { bits: number; hashes: number };
    stats(): Promise<{
      setBits: number | null;
      fill: number | null;
      estimatedFalsePositiveRate: number | null;
      estimatedItems: number | null;
    }>;
  };
}

/** One dependency as reported. */
export interface DependencyReport {
  status: "healthy" | "unhealthy";
  latency_ms: number;
  error?: string;
}

/** One kind's email Bloom filter as reported (count-based fields `null` when unavailable). */
export interface BloomReport {
  capacity: number;
  target_false_positive_rate: number;
  bits: number;
  hashes: number;
  set_bits: number | null;
  fill: number | null;
  estimated_false_positive_rate: number | null;
  estimated_items: number | null;
  /** Why the statistics are missing (an error class name). */
  error?: string;
}

/**
 * How many records of one kind each ring key still wraps (what the `rotate-keys` job moves to the
 * active key), and how many are under a key that is not in the ring (`other`: unreadable until that
 * key is restored). A key id with 0 can be removed from `ENCRYPTION_KEYS`.
 */
export interface KeyUsageReport {
  by_key_id: Record<string, number> | null;
  other: number | null;
  /** Why the counts are missing (an error class name). */
  error?: string;
}

/** The body of `GET /health/detailed`. */
export interface DetailedHealthReport {
  status: "healthy" | "unhealthy";
  timestamp: string;
  version: string;
  build_sha: string | null;
  dependencies: { database: DependencyReport; redis: DependencyReport; queue: DependencyReport };
  bloom_filters: Record<string, BloomReport>;
  key_ring: {
    active_key_id: string;
    key_count: number;
    key_ids: string[];
    /** Per user kind: records per ring key id. */
    records: Record<string, KeyUsageReport>;
  };
}

const report = (p: ProbeResult): DependencyReport => ({
  status: p.status,
  latency_ms: p.latencyMs,
  ...(p.error ? { error: p.error } : {}),
});

/** A JSON-safe number: `Infinity` (a saturated filter's item estimate) becomes `null`. */
const finite = (n: number | null) => (n !== null && Number.isFinite(n) ? n : null);

/**
 * Probes every dependency concurrently (each with a 2 s deadline) and reads each kind's Bloom
 * statistics (one BITCOUNT each, auto-pipelined together) and key usage (one count per ring key
 * and one in all, per kind: a scan of the user table, fine for an operator's occasional look). `status` is `unhealthy` when any
 * dependency is; the Bloom and key ring sections are information, not health.
 *
 * Queue reachability is an authenticated `GET /v2/schedules` against `QSTASH_URL` (see
 * `pingQstash`): it proves both that QStash answers and that it accepts the token.
 */
export async function collectDetailedHealth(
  probes: DetailedHealthProbes,
  build: { version: string; buildSha: string | null },
): Promise<DetailedHealthReport> {
  const { config } = probes;
  const bloomOf = async (kind: string): Promise<[string, BloomReport]> => {
    const filter = probes.emailBloom(kind);
    const base = {
      capacity: config.bloom.capacity,
      target_false_positive_rate: config.bloom.falsePositiveRate,
      bits: filter.parameters.bits,
      hashes: filter.parameters.hashes,
    };
    try {
      const stats = await filter.stats();
      return [
        kind,
        {
          ...base,
          set_bits: stats.setBits,
          fill: stats.fill,
          estimated_false_positive_rate: stats.estimatedFalsePositiveRate,
          estimated_items: finite(stats.estimatedItems),
        },
      ];
    } catch (err) {
      const empty = {
        set_bits: null,
        fill: null,
        estimated_false_positive_rate: null,
        estimated_items: null,
      };
      return [kind, { ...base, ...empty, error: err instanceof Error ? err.name : "error" }];
    }
  };
  const ringPromise = probes.keyRing();
  const keyUsageOf = async (kind: string): Promise<[string, KeyUsageReport]> => {
    try {
      const ring = await ringPromise;
      const [total, ...perKey] = await Promise.all([
        probes.countRecords(kind, {}),
        ...ring.keyIds.map((dataKeyId) => probes.countRecords(kind, { dataKeyId })),
      ]);
      const byKeyId = Object.fromEntries(ring.keyIds.map((id, i) => [id, perKey[i] ?? 0]));
      const counted = perKey.reduce((sum, n) => sum + n, 0);
      return [kind, { by_key_id: byKeyId, other: Math.max(0, (total ?? 0) - counted) }];
    } catch (err) {
      return [kind, { by_key_id: null, other: null, error: err instanceof Error ? err.name : "error" }];
    }
  };
  const [database, redis, queue, blooms, ring, keyUsage] = await Promise.all([
    probeDependency(() => probes.pingStore()),
    probeDependency(() => probes.pingRedis()),
    probeDependency(() => pingQstash({ baseUrl: config.qstash.url, token: config.qstash.token })),
    Promise.all(config.userKinds.map(bloomOf)),
    ringPromise,
    Promise.all(config.userKinds.map(keyUsageOf)),
  ]);
  const dependencies = { database: report(database), redis: report(redis), queue: report(queue) };
  const healthy = Object.values(dependencies).every((d) => d.status === "healthy");
  return {
    status: healthy ? "healthy" : "unhealthy",
    timestamp: new Date().toISOString(),
    version: build.version,
    build_sha: build.buildSha,
    dependencies,
    bloom_filters: Object.fromEntries(blooms),
    key_ring: {
      active_key_id: ring.activeKeyId,
      key_count: ring.keyIds.length,
      key_ids: [...ring.keyIds],
      records: Object.fromEntries(keyUsage),
    },
  };
}
