/**
 * The one contract every {@link UserStore} adapter must pass (SQLite always; MongoDB when `MONGO_URL`
 * is set). Call {@link runUserStoreContract} from an adapter's `*.test.ts`.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UserRecord, UserStore } from "../../shared/ports/user-store";

/** Kinds every store handed to the contract must serve. */
export const CONTRACT_KINDS = ["User1", "User2"] as const;

/** Records the emailIndexes test writes; the adapter's page size must be smaller to cross pages. */
export const CONTRACT_INDEX_COUNT = 250;

/** Strings that would mean something to a query language if they were ever interpreted. */
const HOSTILE_STRINGS = [
  '{"$ne":null}',
  '{"$gt":""}',
  "$where",
  "'; DROP TABLE users_User1; --",
  '" OR 1=1 --',
  "% OR _",
  ".*",
] as const;

function b64url(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

function envelope(keyId = "k1"): string {
  return `v1.${keyId}.${b64url(12)}.${b64url(40)}`;
}

/** A fresh record with random id, blind index and envelopes; times fixed in the past so updates move them. */
export function makeRecord(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: `usr_${b64url(16)}`,
    emailIndex: randomBytes(32).toString("hex"),
    email: envelope(),
    firstName: envelope(),
    lastName: envelope(),
    phone: envelope(),
    countryCode: "+1",
    country: "US",
    passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${b64url(16)}$${b64url(32)}`,
    dataKey: envelope(),
    emailVerified: false,
    phoneVerified: true,
    createdAtMs: 1_700_000_000_123,
    updatedAtMs: 1_700_000_000_456,
    version: 1,
    mfa: null,
    ...overrides,
  };
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/**
 * Registers the contract suite for one adapter.
 * @param name adapter name shown in test titles.
 * @param makeStore returns a new, EMPTY store serving {@link CONTRACT_KINDS}, whose email-index page
 *   size is below {@link CONTRACT_INDEX_COUNT}; called before every test and closed after it.
 */
export function runUserStoreContract(name: string, makeStore: () => Promise<UserStore>): void {
  describe(`UserStore contract: ${name}`, () => {
    let store: UserStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it("round-trips every field exactly through create, findById and findByEmailIndex", async () => {
      const a = makeRecord({ emailVerified: true, phoneVerified: false, country: null, countryCode: "FR" });
      const b = makeRecord({
        emailVerified: false,
        phoneVerified: true,
        createdAtMs: 0,
        updatedAtMs: 2 ** 52,
      });
      expect(await store.create("User1", a)).toEqual({ ok: true });
      expect(await store.create("User1", b)).toEqual({ ok: true });
      expect(await store.findById("User1", a.id)).toStrictEqual(a);
      expect(await store.findByEmailIndex("User1", a.emailIndex)).toStrictEqual(a);
      expect(await store.findById("User1", b.id)).toStrictEqual(b);
      expect(await store.findByEmailIndex("User1", b.emailIndex)).toStrictEqual(b);
    });

    it("finds nothing for an absent id or email index", async () => {
      expect(await store.findById("User1", "usr_absent")).toBeNull();
      expect(await store.findByEmailIndex("User1", "absent")).toBeNull();
    });

    it("refuses a duplicate email index with duplicate_email and overwrites nothing", async () => {
      const first = makeRecord();
      const second = makeRecord({ emailIndex: first.emailIndex });
      await store.create("User1", first);
      expect(await store.create("User1", second)).toEqual({ ok: false, code: "duplicate_email" });
      expect(await store.findByEmailIndex("User1", first.emailIndex)).toStrictEqual(first);
      expect(await store.findById("User1", second.id)).toBeNull();
    });

    it("refuses a duplicate id with duplicate_id and overwrites nothing", async () => {
      const first = makeRecord();
      const second = makeRecord({ id: first.id });
      await store.create("User1", first);
      expect(await store.create("User1", second)).toEqual({ ok: false, code: "duplicate_id" });
      expect(await store.findById("User1", first.id)).toStrictEqual(first);
      expect(await store.findByEmailIndex("User1", second.emailIndex)).toBeNull();
    });

    it("lets exactly one of several concurrent creates with the same email index succeed", async () => {
      const emailIndex = randomBytes(32).toString("hex");
      const records = Array.from({ length: 6 }, () => makeRecord({ emailIndex }));
      const results = await Promise.all(records.map((r) => store.create("User1", r)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array.from({ length: 5 }, () => ({ ok: false, code: "duplicate_email" })),
      );
      const winner = records[results.findIndex((r) => r.ok)];
      expect(await store.findByEmailIndex("User1", emailIndex)).toStrictEqual(winner);
    });

    it("applies an update with the current version, bumping version and updatedAtMs, and persists it", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      const firstName = envelope();
      const beforeMs = Date.now();
      const result = await store.update("User1", record.id, 1, {
        firstName,
        emailVerified: true,
        phoneVerified: false,
        country: null,
      });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const expected = { ...record, firstName, emailVerified: true, phoneVerified: false, country: null };
      expect(result.record).toStrictEqual({
        ...expected,
        version: 2,
        updatedAtMs: result.record.updatedAtMs,
      });
      expect(result.record.updatedAtMs).toBeGreaterThan(record.updatedAtMs);
      expect(result.record.updatedAtMs).toBeGreaterThanOrEqual(beforeMs);
      expect(await store.findById("User1", record.id)).toStrictEqual(result.record);

      const again = await store.update("User1", record.id, 2, { country: "CA" });
      expect(again.ok && again.record.version).toBe(3);
      expect(again.ok && again.record.firstName).toBe(firstName);
    });

    it("stores, replaces and clears the second-factor envelope (mfa) like any other field", async () => {
      const withMfa = makeRecord({ mfa: envelope() });
      expect(await store.create("User1", withMfa)).toEqual({ ok: true });
      expect(await store.findById("User1", withMfa.id)).toStrictEqual(withMfa);
      const mfa = envelope();
      const set = await store.update("User1", withMfa.id, 1, { mfa });
      expect(set.ok && set.record.mfa).toBe(mfa);
      const cleared = await store.update("User1", withMfa.id, 2, { mfa: null });
      expect(cleared.ok && cleared.record.mfa).toBeNull();
      expect((await store.findById("User1", withMfa.id))?.mfa).toBeNull();
      await expect(store.update("User1", withMfa.id, 3, { mfa: 42 as never })).rejects.toThrow(TypeError);
    });

    it("refuses an update with a stale version as conflict and changes nothing", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      const first = await store.update("User1", record.id, 1, { lastName: envelope() });
      expect(first.ok).toBe(true);
      const stale = await store.update("User1", record.id, 1, { lastName: envelope(), emailVerified: true });
      expect(stale).toEqual({ ok: false, code: "conflict" });
      expect(await store.findById("User1", record.id)).toStrictEqual(first.ok ? first.record : null);
    });

    it("lets exactly one of several concurrent updates with the same version succeed", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      const names = Array.from({ length: 6 }, () => envelope());
      const results = await Promise.all(
        names.map((firstName) => store.update("User1", record.id, 1, { firstName })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array.from({ length: 5 }, () => ({ ok: false, code: "conflict" })),
      );
      const stored = await store.findById("User1", record.id);
      expect(stored?.version).toBe(2);
      expect(stored?.firstName).toBe(names[results.findIndex((r) => r.ok)]);
    });

    it("reports not_found when updating and false when deleting a missing id", async () => {
      expect(await store.update("User1", "usr_missing", 1, { firstName: envelope() })).toEqual({
        ok: false,
        code: "not_found",
      });
      expect(await store.delete("User1", "usr_missing")).toBe(false);
    });

    it("refuses a patch that tries to change id, emailIndex, version or timestamps", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      for (const field of ["id", "emailIndex", "version", "createdAtMs", "updatedAtMs", "role"]) {
        const patch = { [field]: "x" } as never;
        await expect(store.update("User1", record.id, 1, patch)).rejects.toThrow(TypeError);
      }
      await expect(store.update("User1", record.id, 1, { emailVerified: "yes" as never })).rejects.toThrow(
        TypeError,
      );
      expect(await store.findById("User1", record.id)).toStrictEqual(record);
    });

    it("deletes a record and frees its email index for a new record", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      expect(await store.delete("User1", record.id)).toBe(true);
      expect(await store.findById("User1", record.id)).toBeNull();
      expect(await store.findByEmailIndex("User1", record.emailIndex)).toBeNull();
      expect(await store.delete("User1", record.id)).toBe(false);
      const successor = makeRecord({ emailIndex: record.emailIndex });
      expect(await store.create("User1", successor)).toEqual({ ok: true });
      expect(await store.findByEmailIndex("User1", record.emailIndex)).toStrictEqual(successor);
    });

    it("isolates kinds: one email index may exist in each, and ids do not cross", async () => {
      const one = makeRecord();
      const two = makeRecord({ emailIndex: one.emailIndex });
      expect(await store.create("User1", one)).toEqual({ ok: true });
      expect(await store.create("User2", two)).toEqual({ ok: true });
      expect(await store.findByEmailIndex("User1", one.emailIndex)).toStrictEqual(one);
      expect(await store.findByEmailIndex("User2", one.emailIndex)).toStrictEqual(two);
      expect(await store.findById("User2", one.id)).toBeNull();
      expect(await store.update("User2", one.id, 1, { firstName: envelope() })).toEqual({
        ok: false,
        code: "not_found",
      });
      expect(await store.delete("User2", one.id)).toBe(false);
      expect(await store.findById("User1", one.id)).toStrictEqual(one);
      expect(await collect(store.emailIndexes("User2"))).toEqual([one.emailIndex]);
    });

    it(`yields every email index exactly once across pages (${CONTRACT_INDEX_COUNT} records)`, async () => {
      const records = Array.from({ length: CONTRACT_INDEX_COUNT }, () => makeRecord());
      for (const r of records) await store.create("User1", r);
      const yielded = await collect(store.emailIndexes("User1"));
      expect(yielded).toHaveLength(CONTRACT_INDEX_COUNT);
      expect([...yielded].sort()).toEqual(records.map((r) => r.emailIndex).sort());
      expect(await collect(store.emailIndexes("User2"))).toEqual([]);
    });

    it("treats operator-looking and SQL-looking strings as plain data", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      for (const hostile of HOSTILE_STRINGS) {
        expect(await store.findById("User1", hostile)).toBeNull();
        expect(await store.findByEmailIndex("User1", hostile)).toBeNull();
        expect(await store.update("User1", hostile, 1, { firstName: hostile })).toEqual({
          ok: false,
          code: "not_found",
        });
        expect(await store.delete("User1", hostile)).toBe(false);
      }
      // Stored as values, they come back verbatim and match only themselves.
      const odd = makeRecord({ id: HOSTILE_STRINGS[0], emailIndex: HOSTILE_STRINGS[3], firstName: "$set" });
      expect(await store.create("User1", odd)).toEqual({ ok: true });
      expect(await store.findById("User1", HOSTILE_STRINGS[0])).toStrictEqual(odd);
      expect(await store.findByEmailIndex("User1", HOSTILE_STRINGS[3])).toStrictEqual(odd);
      expect(await store.findById("User1", record.id)).toStrictEqual(record);
      expect((await collect(store.emailIndexes("User1"))).sort()).toEqual(
        [record.emailIndex, HOSTILE_STRINGS[3]].sort(),
      );
    });

    it("rejects a non-string id or email index instead of querying with it", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      const operator = { $ne: null } as unknown as string;
      await expect(store.findById("User1", operator)).rejects.toThrow(TypeError);
      await expect(store.findByEmailIndex("User1", operator)).rejects.toThrow(TypeError);
      await expect(store.update("User1", operator, 1, {})).rejects.toThrow(TypeError);
      await expect(store.delete("User1", operator)).rejects.toThrow(TypeError);
      await expect(store.create("User1", { ...makeRecord(), emailIndex: operator })).rejects.toThrow(
        TypeError,
      );
      expect(await store.findById("User1", record.id)).toStrictEqual(record);
    });

    it("throws for an unknown kind in every method", async () => {
      for (const kind of ["User3", "user1", "users_User1", "User1; DROP TABLE x", ""]) {
        await expect(store.create(kind, makeRecord())).rejects.toThrow(/unknown user kind/);
        await expect(store.findById(kind, "usr_x")).rejects.toThrow(/unknown user kind/);
        await expect(store.findByEmailIndex(kind, "x")).rejects.toThrow(/unknown user kind/);
        await expect(store.update(kind, "usr_x", 1, {})).rejects.toThrow(/unknown user kind/);
        await expect(store.delete(kind, "usr_x")).rejects.toThrow(/unknown user kind/);
        // Either a throw at the call or a rejection on the first page satisfies the port.
        const drain = async () => collect(store.emailIndexes(kind));
        await expect(drain()).rejects.toThrow(/unknown user kind/);
      }
    });

    it("deletes with an expected version only while the record still has it (compare-and-delete)", async () => {
      const record = makeRecord();
      await store.create("User1", record);
      const updated = await store.update("User1", record.id, 1, { emailVerified: true });
      expect(updated.ok).toBe(true);
      expect(await store.delete("User1", record.id, 1)).toBe(false);
      expect(await store.findById("User1", record.id)).not.toBeNull();
      expect(await store.delete("User1", record.id, 2)).toBe(true);
      expect(await store.findById("User1", record.id)).toBeNull();
      expect(await store.delete("User1", record.id, 2)).toBe(false);
    });

    it("lets a version-checked delete and an update of the same version not both win", async () => {
      for (let round = 0; round < 10; round += 1) {
        const record = makeRecord();
        await store.create("User1", record);
        const [deleted, updated] = await Promise.all([
          store.delete("User1", record.id, 1),
          store.update("User1", record.id, 1, { emailVerified: true }),
        ]);
        const survivor = await store.findById("User1", record.id);
        if (deleted) {
          expect(updated.ok).toBe(false);
          expect(survivor).toBeNull();
        } else {
          expect(survivor?.emailVerified).toBe(updated.ok);
        }
      }
    });

    it("resumes the email indexes strictly after a given one", async () => {
      const records = Array.from({ length: CONTRACT_INDEX_COUNT }, () => makeRecord());
      for (const r of records) await store.create("User1", r);
      const sorted = records.map((r) => r.emailIndex).sort();
      const from = sorted[99] as string;
      expect(await collect(store.emailIndexes("User1", from))).toEqual(sorted.slice(100));
      expect(await collect(store.emailIndexes("User1", sorted.at(-1)))).toEqual([]);
    });

    it("scans matching records in keyset pages that neither skip nor repeat, and counts them", async () => {
      const cutoff = 1_700_000_500_000;
      const stale = Array.from({ length: 7 }, () => makeRecord({ createdAtMs: cutoff - 1 }));
      const fresh = makeRecord({ createdAtMs: cutoff });
      const verified = makeRecord({ createdAtMs: cutoff - 1, emailVerified: true });
      for (const r of [...stale, fresh, verified]) await store.create("User1", r);
      const query = { emailVerified: false, createdBeforeMs: cutoff };
      const seen: string[] = [];
      let afterId: string | null = null;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await store.scan("User1", query, { afterId, limit: 3 });
        seen.push(...page.records.map((r) => r.id));
        if (page.next === null) break;
        afterId = page.next;
        // A record deleted ahead of the cursor between pages is not returned; nothing repeats.
        if (pages === 0)
          await store.delete(
            "User1",
            stale
              .map((r) => r.id)
              .sort()
              .at(-1) as string,
          );
      }
      const expected = stale
        .map((r) => r.id)
        .sort()
        .slice(0, 6);
      expect(seen).toEqual(expected);
      expect(await store.count("User1", query)).toBe(6);
      expect(await store.count("User1", { createdSinceMs: cutoff })).toBe(1);
      expect(await store.count("User1", {})).toBe(8);
      expect(await store.count("User2", {})).toBe(0);
      const first = await store.scan("User1", {}, { afterId: null, limit: 1000 });
      expect(first.next).toBeNull();
      expect(first.records).toHaveLength(8);
      expect(first.records.find((r) => r.id === fresh.id)).toStrictEqual(fresh);
    });

    it("selects records by the ring key their data key is wrapped under", async () => {
      const underK1 = [makeRecord({ dataKey: envelope("k1") }), makeRecord({ dataKey: envelope("k1") })];
      const underK2 = makeRecord({ dataKey: envelope("k2") });
      // A key id that is a prefix of another, and one with the characters LIKE treats as wildcards.
      const underK10 = makeRecord({ dataKey: envelope("k10") });
      const underOdd = makeRecord({ dataKey: envelope("k_1") });
      for (const r of [...underK1, underK2, underK10, underOdd]) await store.create("User1", r);
      expect(await store.count("User1", { dataKeyId: "k1" })).toBe(2);
      expect(await store.count("User1", { dataKeyId: "k_1" })).toBe(1);
      expect(await store.count("User1", { dataKeyIdNot: "k2" })).toBe(4);
      expect(await store.count("User1", { dataKeyId: "k1", dataKeyIdNot: "k2" })).toBe(2);
      const notK2 = await store.scan("User1", { dataKeyIdNot: "k2" }, { afterId: null, limit: 10 });
      expect(notK2.records.map((r) => r.id).sort()).toEqual(
        [...underK1, underK10, underOdd].map((r) => r.id).sort(),
      );
    });

    it("refuses a malformed query, cursor or limit instead of querying with it", async () => {
      await store.create("User1", makeRecord());
      const page = { afterId: null, limit: 10 };
      await expect(store.scan("User1", { dataKeyId: "k1.*" }, page)).rejects.toThrow(TypeError);
      await expect(store.scan("User1", { emailVerified: "false" as never }, page)).rejects.toThrow(TypeError);
      await expect(store.scan("User1", { createdBeforeMs: { $gt: 0 } as never }, page)).rejects.toThrow(
        TypeError,
      );
      await expect(store.scan("User1", { role: "admin" } as never, page)).rejects.toThrow(TypeError);
      await expect(store.scan("User1", {}, { afterId: { $ne: null } as never, limit: 10 })).rejects.toThrow(
        TypeError,
      );
      await expect(store.scan("User1", {}, { afterId: null, limit: 0 })).rejects.toThrow(TypeError);
      await expect(store.count("User1", { dataKeyIdNot: "" })).rejects.toThrow(TypeError);
      await expect(store.delete("User1", "usr_x", 0)).rejects.toThrow(TypeError);
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
