/**
 * Version-transition claims: what makes the MongoDB user store's compare-and-set update exclusive on
 * every MongoDB wire-protocol server, not only on those whose filtered update is atomic.
 *
 * Why: MongoDB applies `findOneAndUpdate({_id, version: v}, …)` atomically, so of several concurrent
 * updates expecting version `v` exactly one matches. A compatible server may instead read the
 * matching document, apply the update in memory and write the whole document back by `_id`
 * (FerretDB v1 does: its SQLite/PostgreSQL backends run `UPDATE … WHERE _id = ?`), so every
 * concurrent updater that read version `v` "succeeds" and the last write silently wins: a password
 * reset could be undone by a profile update racing it. The server reports no capability that tells
 * the two apart, so the adapter does not branch: it always claims the transition first.
 *
 * How: before updating a record from version `v`, the updater inserts `{_id: "<id>#<v+1>"}` into a
 * claims collection. Insertion into a unique `_id` is atomic on every such server, so one updater
 * per transition holds the claim; the others are told `busy` (their compare-and-set would lose).
 * The holder releases it after its update. A claim carries a lease: a claim left by a process that
 * died between claiming and releasing (a Lambda killed at its timeout) is expired after
 * {@link CLAIM_LEASE_MS}, and the next updater contends for a successor key derived from the dead
 * claim's nonce, so exactly one updater takes it over. Leftover claims of dead processes are a few
 * bytes each and never block a later version (every version has its own key).
 */
import { randomBytes } from "node:crypto";
import type { Collection } from "mongodb";
import { isDuplicateKeyError } from "./mongo-user-doc";

/** A claim document. */
export interface ClaimDoc {
  /** `<record id>#<version being created>`, or a successor key `<dead claim key>~<its nonce>`. */
  _id: string;
  /** Random, so a successor key names one particular dead claim. */
  nonce: string;
  /** Epoch milliseconds after which the claim counts as left by a dead process. */
  expiresAtMs: number;
}

/**
 * How long a claim protects a transition, milliseconds: three times the longest account function
 * timeout (10 s), so a live holder is never taken over.
 */
export const CLAIM_LEASE_MS = 30_000;

/** Insert attempts at most (each failed one needs another updater's claim, live or dead). */
const MAX_ATTEMPTS = 16;

/** The outcome of {@link withTransitionClaim}: the work's result, or `busy` when another live updater holds it. */
export type ClaimOutcome<T> = { claimed: true; value: T } | { claimed: false };

/**
 * Runs `work` while holding the claim on the transition of record `id` from `expectedVersion` to
 * the next version; releases the claim afterwards (also when `work` throws).
 *
 * @param nowMs clock, epoch milliseconds (tests move it).
 * @returns `{claimed: false}` when a live claim of another updater holds the transition.
 * @throws what the driver throws (the claim is released first when it was taken).
 */
export async function withTransitionClaim<T>(
  claims: Collection<ClaimDoc>,
  id: string,
  expectedVersion: number,
  work: () => Promise<T>,
  nowMs: () => number = Date.now,
): Promise<ClaimOutcome<T>> {
  let key = `${id}#${expectedVersion + 1}`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const nonce = randomBytes(12).toString("base64url");
    try {
      await claims.insertOne({ _id: key, nonce, expiresAtMs: nowMs() + CLAIM_LEASE_MS });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const held = await claims.findOne({ _id: key });
      // Released between our insert and this read: try the same key again.
      if (held === null) continue;
      if (held.expiresAtMs > nowMs()) return { claimed: false };
      key = `${key}~${held.nonce}`;
      continue;
    }
    try {
      return { claimed: true, value: await work() };
    } finally {
      // A release that fails is left to the lease: the claim then only holds back this one
      // transition until it expires, and it is ours alone (takeovers use successor keys), so the
      // work's own result or error is what the caller must see.
      await claims.deleteOne({ _id: key, nonce }).catch(() => undefined);
    }
  }
  throw new Error(`no claim on the update of a record after ${MAX_ATTEMPTS} attempts`);
}
