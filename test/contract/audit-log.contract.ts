/**
 * The one contract every {@link AuditLog} adapter must pass (SQLite always; MongoDB when
 * `MONGO_URL` is set). Call {@link runAuditLogContract} from an adapter's `*.test.ts`.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent, AuditLog } from "../../shared/ports/audit";

/** A fresh event with a random id and actor; `atMs` a fixed past time unless overridden. */
export function makeEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `aud_${randomBytes(16).toString("base64url")}`,
    atMs: 1_700_000_000_000,
    kind: "User1",
    action: "login",
    outcome: "failure",
    actor: `usr_${randomBytes(16).toString("base64url")}`,
    client: "203.0.113.0/24",
    code: "invalid_credentials",
    requestId: "req-1",
    ...overrides,
  };
}

/**
 * Registers the contract for one adapter. `open` returns a fresh, empty log (retention long
 * enough that nothing the tests write expires on its own).
 */
export function runAuditLogContract(name: string, open: () => Promise<AuditLog>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    beforeEach(async () => {
      log = await open();
    });
    afterEach(async () => {
      await log.close();
    });

    it("returns what was recorded, field for field", async () => {
      const event = makeEvent({ kind: "User2", action: "register", outcome: "success", code: null });
      await log.record(event);
      expect(await log.listForActor("User2", event.actor as string, 10)).toEqual([event]);
    });

    it("keeps nulls as nulls (an event with no kind, actor, client, code or request id)", async () => {
      const event = makeEvent({ kind: null, actor: null, client: null, code: null, requestId: null });
      await log.record(event);
      const other = makeEvent({ actor: "usr_someone_else_entirely_x" });
      await log.record(other);
      expect(await log.listForActor("User1", "usr_someone_else_entirely_x", 10)).toEqual([other]);
    });

    it("lists one actor of one kind only, newest first, at most `limit`", async () => {
      const actor = `eidx_${randomBytes(32).toString("base64url")}`;
      const times = [3000, 1000, 5000, 2000, 4000];
      const mine = times.map((t) => makeEvent({ actor, atMs: 1_700_000_000_000 + t }));
      for (const event of mine) await log.record(event);
      await log.record(makeEvent({ actor, kind: "User2" }));
      await log.record(makeEvent());
      const listed = await log.listForActor("User1", actor, 3);
      expect(listed.map((e) => e.atMs - 1_700_000_000_000)).toEqual([5000, 4000, 3000]);
      expect((await log.listForActor("User1", actor, 100)).length).toBe(5);
      expect(await log.listForActor("User1", "usr_nobody_at_all_here_xx", 10)).toEqual([]);
    });

    it("ignores a second write of the same id", async () => {
      const event = makeEvent();
      await log.record(event);
      await log.record({ ...event, outcome: "success" });
      expect(await log.listForActor("User1", event.actor as string, 10)).toEqual([event]);
    });

    it("counts repeated writes of an aggregated event in ONE event, keeping its first fields", async () => {
      const event = makeEvent({ action: "signature_rejected", requestId: "req-first" });
      await log.recordAggregated(event);
      expect(await log.listForActor("User1", event.actor as string, 10)).toEqual([event]); // count 1: absent
      await log.recordAggregated({ ...event, requestId: "req-second" });
      await Promise.all(
        Array.from({ length: 8 }, () => log.recordAggregated({ ...event, requestId: "req-n" })),
      );
      await log.recordAggregated({ ...event, count: 5 });
      expect(await log.listForActor("User1", event.actor as string, 10)).toEqual([{ ...event, count: 15 }]);
    });

    it("starts an aggregated event with the count it is given, apart from ordinary events", async () => {
      const actor = `usr_${randomBytes(16).toString("base64url")}`;
      const aggregated = makeEvent({ actor, atMs: 1_700_000_001_000, count: 3 });
      const ordinary = makeEvent({ actor, atMs: 1_700_000_000_000 });
      await log.recordAggregated(aggregated);
      await log.record(ordinary);
      expect(await log.listForActor("User1", actor, 10)).toEqual([aggregated, ordinary]);
      await expect(log.recordAggregated(makeEvent({ count: 0 }))).rejects.toThrow(TypeError);
    });

    it("purges exactly the events older than the cut-off and reports how many", async () => {
      const actor = `usr_${randomBytes(16).toString("base64url")}`;
      const cutoff = 1_700_000_500_000;
      const old = [makeEvent({ actor, atMs: cutoff - 1 }), makeEvent({ actor, atMs: cutoff - 86_400_000 })];
      const kept = [makeEvent({ actor, atMs: cutoff }), makeEvent({ actor, atMs: cutoff + 1 })];
      for (const event of [...old, ...kept]) await log.record(event);
      expect(await log.purgeOlderThan(cutoff)).toBe(2);
      expect((await log.listForActor("User1", actor, 10)).map((e) => e.id).sort()).toEqual(
        kept.map((e) => e.id).sort(),
      );
      expect(await log.purgeOlderThan(cutoff)).toBe(0);
    });

    it("treats hostile strings as data, never as query syntax", async () => {
      const hostile = ['{"$ne":null}', "' OR 1=1 --", "%", "$where"];
      for (const actor of hostile) await log.record(makeEvent({ actor }));
      for (const actor of hostile) expect((await log.listForActor("User1", actor, 10)).length).toBe(1);
      expect(await log.listForActor("User1", ".*", 10)).toEqual([]);
    });

    it("refuses malformed events and limits (programming errors)", async () => {
      await expect(log.record(makeEvent({ id: "nope" }))).rejects.toThrow(TypeError);
      await expect(log.record(makeEvent({ action: "drop_table" as AuditEvent["action"] }))).rejects.toThrow(
        TypeError,
      );
      await expect(log.record(makeEvent({ actor: { $ne: null } as unknown as string }))).rejects.toThrow(
        TypeError,
      );
      await expect(log.listForActor("User1", "x", 0)).rejects.toThrow(RangeError);
      await expect(log.listForActor("User1", "x", 1001)).rejects.toThrow(RangeError);
    });
  });
}
