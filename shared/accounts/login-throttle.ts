import type { Kv } from "../ports/kv";

/** Options of {@link createLoginThrottle}. All durations in seconds. */
export interface LoginThrottleOptions {
  /** Failures tolerated before the account is locked. @default 5 */
  maxFailures?: number;
  /** Failures are counted over this many seconds (restarted by every lock). @default 900 */
  windowSeconds?: number;
  /** The first lock lasts this long; each later failure doubles it. @default 30 */
  baseDelaySeconds?: number;
  /** Upper bound of one lock. @default 900 */
  maxDelaySeconds?: number;
  /** Clock, epoch milliseconds (tests inject one). @default Date.now */
  now?: () => number;
}

/** Whether a login attempt for an account may proceed, and if not, for how many more seconds not. */
export type LoginThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Per-account login throttle (see {@link createLoginThrottle}). */
export interface LoginThrottle {
  /**
   * One MGET (lock and failure count). Call before verifying the password; refuse without
   * verifying when not allowed.
   */
  check(kind: string, emailIndex: string): Promise<LoginThrottleVerdict>;
  /** Counts one failed attempt; locks the account once the count reaches `maxFailures`. */
  recordFailure(kind: string, emailIndex: string): Promise<void>;
  /**
   * Forgets failures and any lock (after a successful login or a password reset): one DEL, skipped
   * when this instance's last `check` of the account found neither (the common login), so a
   * clean login costs no write.
   */
  reset(kind: string, emailIndex: string): Promise<void>;
}

/** Failure counter of an account (an integer, TTL = the counting window). */
const countKey = (kind: string, emailIndex: string) => `${kind}:lt:${emailIndex}`;
/** Lock of an account: epoch ms until which attempts are refused (TTL = the lock). A separate segment so no index can name it. */
const lockKey = (kind: string, emailIndex: string) => `${kind}:lt-lock:${emailIndex}`;

/**
 * Accounts whose last check on this instance found no failure count and no lock, so the `reset`
 * of the same login has nothing to delete. Bounded: cleared when full (a forgotten entry only
 * costs one DEL). An entry is trusted for {@link CLEAN_TRUST_MS} only, so a `reset` for another
 * reason later (a password reset) still deletes what other instances may have recorded since.
 */
const MAX_CLEAN_ENTRIES = 10_000;
/** How long a clean check lets `reset` skip its DEL, milliseconds (a login's check-to-reset span). */
const CLEAN_TRUST_MS = 10_000;

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`createLoginThrottle: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Per-account login throttling on the {@link Kv} port, keyed by the email's blind index so no email
 * is stored (OWASP Authentication Cheat Sheet "Account lockout"; NIST SP 800-63B §5.2.2 "Rate
 * limiting"). After `maxFailures` failures within `windowSeconds`, the account is refused for
 * `baseDelaySeconds × 2^(failures − maxFailures)` seconds, capped at `maxDelaySeconds`
 * (defaults: 5 failures in 15 min, then 30 s, 60 s, 120 s … 15 min), whatever address the attempts
 * come from: it takes no address, so distributing a guessing attack over many addresses does not help.
 *
 * Uniform for unknown accounts: the caller records failures for unknown emails (and unusable
 * input) under the same kind of key, so a locked unknown account and a locked real one look alike.
 * The lock is temporary and capped by design: anyone can lock a victim out, for at most
 * `maxDelaySeconds` at a time (the per-address limits slow that down).
 *
 * While locked, each recorded failure restarts the counting window (`windowSeconds` after the lock
 * ends), so an attacker cannot wait out the window to start again from 5 free attempts. Two
 * failures recorded at the same instant may count once (the window restart rewrites the counter);
 * the lock is set either way.
 *
 * Keys: `<kind>:lt:<emailIndex>` (counter) and `<kind>:lt-lock:<emailIndex>` (lock until, epoch ms).
 * Redis cost: `check` one MGET; a clean successful login nothing more (`reset` skips its DEL when
 * this instance's check saw no counter and no lock); a failure one INCR+EXPIRE transaction, plus
 * two SETs in one pipeline when it locks.
 * Every method throws what the Kv throws on transport failure; login should then fail closed.
 *
 * @throws Error when an option is not a positive integer or `maxDelaySeconds < baseDelaySeconds`.
 */
export function createLoginThrottle(kv: Kv, opts: LoginThrottleOptions = {}): LoginThrottle {
  const maxFailures = positiveInteger("maxFailures", opts.maxFailures ?? 5);
  const windowSeconds = positiveInteger("windowSeconds", opts.windowSeconds ?? 900);
  const baseDelaySeconds = positiveInteger("baseDelaySeconds", opts.baseDelaySeconds ?? 30);
  const maxDelaySeconds = positiveInteger("maxDelaySeconds", opts.maxDelaySeconds ?? 900);
  if (maxDelaySeconds < baseDelaySeconds) {
    throw new Error("createLoginThrottle: maxDelaySeconds must be at least baseDelaySeconds");
  }
  const now = opts.now ?? Date.now;
  /** Account → when its check found it clean (epoch ms, from `now`). */
  const clean = new Map<string, number>();
  const account = (kind: string, emailIndex: string) => `${kind}\n${emailIndex}`;

  return {
    async check(kind, emailIndex) {
      const [lock, count] = await kv.mget([lockKey(kind, emailIndex), countKey(kind, emailIndex)]);
      const id = account(kind, emailIndex);
      if (lock === null && count === null) {
        if (clean.size >= MAX_CLEAN_ENTRIES) clean.clear();
        clean.set(id, now());
      } else clean.delete(id);
      const until = Number(lock);
      const nowMs = now();
      if (!(until > nowMs)) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - nowMs) / 1000)) };
    },

    async recordFailure(kind, emailIndex) {
      clean.delete(account(kind, emailIndex));
      const failures = await kv.incr(countKey(kind, emailIndex), windowSeconds);
      if (failures < maxFailures) return;
      // The exponent is bounded so the product stays a finite number before the cap applies.
      const delaySeconds = Math.min(
        maxDelaySeconds,
        baseDelaySeconds * 2 ** Math.min(failures - maxFailures, 30),
      );
      await Promise.all([
        kv.set(lockKey(kind, emailIndex), String(now() + delaySeconds * 1000), { ttlSeconds: delaySeconds }),
        kv.set(countKey(kind, emailIndex), String(failures), { ttlSeconds: windowSeconds + delaySeconds }),
      ]);
    },

    async reset(kind, emailIndex) {
      // A failure another instance records between this instance's check and here stays counted
      // (stricter, never looser, than deleting it); a failure recorded here cleared the entry.
      const id = account(kind, emailIndex);
      const checkedAt = clean.get(id);
      clean.delete(id);
      if (checkedAt !== undefined && now() - checkedAt <= CLEAN_TRUST_MS) return;
      await kv.del(countKey(kind, emailIndex), lockKey(kind, emailIndex));
    },
  };
}
