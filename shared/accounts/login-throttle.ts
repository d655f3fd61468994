import type { LoginThrottlePort, LoginThrottleVerdict } from "../ports/accounts";
import type { Kv, KvScript } from "../ports/kv";

export type { LoginAttempt, LoginThrottleVerdict } from "../ports/accounts";

/** Options of {@link createLoginThrottle}. All durations in seconds. */
export interface LoginThrottleOptions {
  /** Attempts per (account, client address) that lock that pair. @default 5 */
  perAddress?: number;
  /** Attempts per account, from all addresses together, that lock the whole account. @default 100 */
  perAccount?: number;
  /** Attempts are counted over this many seconds. @default 900 */
  windowSeconds?: number;
  /** The first lock lasts this long; each further attempt doubles it. @default 30 */
  baseDelaySeconds?: number;
  /** Upper bound of one lock. @default 900 */
  maxDelaySeconds?: number;
  /** Clock, epoch milliseconds (tests inject one). @default Date.now */
  now?: () => number;
}

/** Per-account and per-(account, address) password-attempt throttle (see {@link createLoginThrottle}). */
export type LoginThrottle = LoginThrottlePort;

/** Attempt counter of an account (an integer, TTL = the counting window, never extended). */
const accountCountKey = (kind: string, emailIndex: string) => `${kind}:lt:${emailIndex}`;
/** Lock of an account: epoch ms until which attempts are refused (TTL = the lock). A separate segment so no index can name it. */
const accountLockKey = (kind: string, emailIndex: string) => `${kind}:lt-lock:${emailIndex}`;
/** Attempt counter of one (account, address subject) pair (TTL = the window, restarted by each lock). */
const pairCountKey = (kind: string, emailIndex: string, subject: string) =>
  `${kind}:lt-pair:${emailIndex}|${subject}`;
/** Lock of one (account, address subject) pair: epoch ms until which attempts are refused. */
const pairLockKey = (kind: string, emailIndex: string, subject: string) =>
  `${kind}:lt-pair-lock:${emailIndex}|${subject}`;

/**
 * KEYS: pair count, pair lock, account count, account lock.
 * ARGV: now (epoch ms), perAddress, perAccount, windowSeconds, baseDelaySeconds, maxDelaySeconds.
 * Refuses (`{0, waitMs}`) while either lock runs, counting nothing. Otherwise counts the attempt on
 * both counters (the window starts with the first attempt), locks each scope whose count reached
 * its threshold for base × 2^(count − threshold) seconds (capped), and answers `{1, accountLock}`:
 * the account lock value this attempt set, or "" (so a success can lift a lock it caused itself).
 * The pair counter lives window + lock, so one address cannot wait the window out during its lock;
 * the account counter keeps its first window, so attempts from elsewhere decay.
 */
const RESERVE: KvScript = {
  source: `
local now = tonumber(ARGV[1])
local wait = 0
local locks = redis.call('MGET', KEYS[2], KEYS[4])
local pl = tonumber(locks[1] or '0') or 0
if pl > now then wait = pl - now end
local al = tonumber(locks[2] or '0') or 0
if al > now and al - now > wait then wait = al - now end
if wait > 0 then return {0, string.format('%.0f', wait)} end
local window = tonumber(ARGV[4])
local base = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local function delay(n, max)
  local e = n - max
  if e > 30 then e = 30 end
  local d = base * 2 ^ e
  if d > cap then d = cap end
  return d
end
local p = redis.call('INCR', KEYS[1])
if p == 1 then redis.call('EXPIRE', KEYS[1], window) end
local a = redis.call('INCR', KEYS[3])
if a == 1 then redis.call('EXPIRE', KEYS[3], window) end
local pmax = tonumber(ARGV[2])
if p >= pmax then
  local d = delay(p, pmax)
  redis.call('SET', KEYS[2], string.format('%.0f', now + d * 1000), 'EX', d)
  redis.call('EXPIRE', KEYS[1], window + d)
end
local set = ''
local amax = tonumber(ARGV[3])
if a >= amax then
  local d = delay(a, amax)
  set = string.format('%.0f', now + d * 1000)
  redis.call('SET', KEYS[4], set, 'EX', d)
end
return {1, set}
`,
};

/**
 * KEYS: pair count, pair lock, account count, account lock. ARGV: the account lock value the
 * reservation set, or "". Forgets the pair (counter and lock), refunds the attempt on the account
 * counter, and lifts the account lock only if it is still the one the reservation set.
 */
const SUCCEED: KvScript = {
  source: `
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('DECR', KEYS[3]) < 0 then redis.call('DEL', KEYS[3]) end
if ARGV[1] ~= '' and redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return 1
`,
};

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`createLoginThrottle: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Password-attempt throttling on the {@link Kv} port, keyed by the email's blind index (no email is
 * stored) and the client's address subject (IPv4 address, IPv6 /64: `rateLimitSubject`). OWASP
 * Authentication Cheat Sheet "Account lockout"; NIST SP 800-63B §5.2.2 "Rate limiting".
 *
 * Policy (defaults in brackets):
 * - Every password verification is preceded by {@link LoginThrottlePort.reserve}, which counts the
 *   attempt atomically (one Lua script) BEFORE the password is checked, so N parallel guesses cost
 *   N attempts: once a threshold is reached, every further request is refused without a
 *   verification.
 * - `perAddress` [5] attempts per (account, address) within `windowSeconds` [900] lock that pair;
 *   `perAccount` [100] attempts from all addresses together lock the account as a whole. A lock
 *   lasts `baseDelaySeconds × 2^(attempts − threshold)` [30 s, 60 s, 120 s …], capped at
 *   `maxDelaySeconds` [900]. After a lock ends, one more attempt is allowed and (if it fails)
 *   re-locks with the doubled delay.
 * - A stranger's failures therefore lock only the stranger's own pair; the owner's address stays
 *   open unless `perAccount` attempts arrive within one window (the account counter is not extended
 *   by its locks, so a trickle below `perAccount` per window never locks the account).
 * - A correct password ({@link LoginThrottlePort.succeeded}) forgets the pair's counter and lock and
 *   refunds its attempt on the account counter.
 * - Unknown accounts are counted exactly like real ones (the caller passes a stand-in index).
 *
 * Keys: `<kind>:lt:<index>` / `<kind>:lt-lock:<index>` (account counter / lock until, epoch ms),
 * `<kind>:lt-pair:<index>|<subject>` / `<kind>:lt-pair-lock:<index>|<subject>` (pair).
 * Redis cost: `reserve` one EVALSHA; a failure nothing more; a success one more EVALSHA.
 * Every method throws what the Kv throws on transport failure; callers fail closed.
 *
 * @throws Error when an option is not a positive integer, `maxDelaySeconds < baseDelaySeconds` or
 *   `perAccount < perAddress`.
 */
export function createLoginThrottle(kv: Kv, opts: LoginThrottleOptions = {}): LoginThrottle {
  const perAddress = positiveInteger("perAddress", opts.perAddress ?? 5);
  const perAccount = positiveInteger("perAccount", opts.perAccount ?? 100);
  const windowSeconds = positiveInteger("windowSeconds", opts.windowSeconds ?? 900);
  const baseDelaySeconds = positiveInteger("baseDelaySeconds", opts.baseDelaySeconds ?? 30);
  const maxDelaySeconds = positiveInteger("maxDelaySeconds", opts.maxDelaySeconds ?? 900);
  if (maxDelaySeconds < baseDelaySeconds) {
    throw new Error("createLoginThrottle: maxDelaySeconds must be at least baseDelaySeconds");
  }
  if (perAccount < perAddress) {
    throw new Error("createLoginThrottle: perAccount must be at least perAddress");
  }
  const now = opts.now ?? Date.now;
  const keysOf = (kind: string, emailIndex: string, subject: string) => [
    pairCountKey(kind, emailIndex, subject),
    pairLockKey(kind, emailIndex, subject),
    accountCountKey(kind, emailIndex),
    accountLockKey(kind, emailIndex),
  ];

  return {
    async reserve(kind, emailIndex, subject): Promise<LoginThrottleVerdict> {
      const reply = (await kv.evalScript(RESERVE, keysOf(kind, emailIndex, subject), [
        now(),
        perAddress,
        perAccount,
        windowSeconds,
        baseDelaySeconds,
        maxDelaySeconds,
      ])) as [number | string, string | null];
      if (Number(reply[0]) !== 1) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(reply[1]) / 1000)) };
      }
      return { allowed: true, attempt: { kind, emailIndex, subject, accountLock: reply[1] ?? "" } };
    },

    async succeeded(attempt) {
      const { kind, emailIndex, subject, accountLock } = attempt;
      await kv.evalScript(SUCCEED, keysOf(kind, emailIndex, subject), [accountLock]);
    },

    async reset(kind, emailIndex, subject) {
      const keys = [accountCountKey(kind, emailIndex), accountLockKey(kind, emailIndex)];
      if (subject !== undefined)
        keys.push(pairCountKey(kind, emailIndex, subject), pairLockKey(kind, emailIndex, subject));
      await kv.del(...keys);
    },
  };
}
