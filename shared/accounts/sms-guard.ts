/**
 * The rules every SMS the service sends on a user's behalf passes first (DESIGN.md §9 "SMS goes only
 * to allowed countries and number types, under per-account, per-(number, account) and global
 * budgets"; security findings F4 SMS pumping, F10 a victim's number exhausted by other accounts).
 * Phone verification codes use it; so must any other sender of codes (a second factor by SMS).
 *
 * Destination rules (CPU only, from libphonenumber's full metadata):
 * - the number's region must be in `SMS_ALLOWED_COUNTRIES`; non-geographic calling codes (+800,
 *   +808, +870, +881 satellite, +882/+883 international networks, +888, +979) have no region and are
 *   always refused (422 `sms_country_not_allowed`);
 * - its range must be assigned to mobile lines (`MOBILE`, or `FIXED_LINE_OR_MOBILE` where the plan
 *   does not tell them apart, as in +1): premium-rate, shared-cost, toll-free, VoIP, personal,
 *   pager, UAN, voicemail, fixed-line and unassigned ranges are refused (422
 *   `sms_number_type_not_allowed`).
 *
 * Budgets (one Lua script, so checked and counted atomically, one command and one round trip):
 * - the sender's cool-down (429 `otp_cooldown`);
 * - per account per day, over all numbers (`SMS_ACCOUNT_DAILY_LIMIT`, 429 `sms_account_daily_limit`);
 * - per (number, account) per day (`SMS_NUMBER_ACCOUNT_DAILY_LIMIT`, 429
 *   `sms_number_account_daily_limit`);
 * - per number per day over all accounts of the kind (`OTP_DAILY_LIMIT`, 429 `otp_daily_limit`), the
 *   anti-bombing cap, enforced only on numbers that are NOT the sender's profile number: the
 *   account that has the number on its profile has its own budget (the two caps above), so other
 *   accounts cannot exhaust a victim's number (F10). Its sends still count toward the cap;
 * - for the whole service per hour, every kind together (`SMS_HOURLY_BUDGET`, 503
 *   `sms_budget_exhausted`: the spend ceiling; the service pauses rather than pays).
 * A refused request counts nothing; an allowed one counts on every counter (the cool-down starts).
 * Counters are fixed windows that start with their first send (TTL one day or one hour, never
 * extended); `Retry-After` is the time left on the counter that refused. Numbers appear in keys only
 * as a keyed hash (`phoneTag`). Fails closed: when Redis cannot answer, the Kv error propagates (503).
 *
 * Every refusal is counted in the metrics (`auth_sms_refusals_total{code,kind}`) by `onRefused`.
 */
import { AuthError, type AuthErrorOptions } from "../errors";
import type { Kv, KvScript } from "../ports/kv";
import { redisKeys } from "./keys";
import { phoneTag } from "./otp-keys";
import { type ParsedPhone, type PhoneNumberType, parsePhone } from "./phone";

/** Why the guard refused an SMS: a catalogue code. */
export type SmsRefusal =
  | "sms_country_not_allowed"
  | "sms_number_type_not_allowed"
  | "otp_cooldown"
  | "sms_account_daily_limit"
  | "sms_number_account_daily_limit"
  | "otp_daily_limit"
  | "sms_budget_exhausted";

/** Each refusal's error, built from a literal catalogue code (no code is chosen at run time). */
const REFUSALS = {
  sms_country_not_allowed: (o) => new AuthError("sms_country_not_allowed", o),
  sms_number_type_not_allowed: (o) => new AuthError("sms_number_type_not_allowed", o),
  otp_cooldown: (o) => new AuthError("otp_cooldown", o),
  sms_account_daily_limit: (o) => new AuthError("sms_account_daily_limit", o),
  sms_number_account_daily_limit: (o) => new AuthError("sms_number_account_daily_limit", o),
  otp_daily_limit: (o) => new AuthError("otp_daily_limit", o),
  sms_budget_exhausted: (o) => new AuthError("sms_budget_exhausted", o),
} satisfies Record<SmsRefusal, (options: AuthErrorOptions) => AuthError>;

/** The number types an SMS may go to. */
const SMS_NUMBER_TYPES: ReadonlySet<PhoneNumberType> = new Set(["MOBILE", "FIXED_LINE_OR_MOBILE"]);

const DAY_SECONDS = 86_400;
const HOUR_SECONDS = 3600;

/** Options of {@link createSmsGuard}. Limits are counts; windows are fixed (a day, an hour). */
export interface SmsGuardOptions {
  /** ISO 3166-1 alpha-2 regions SMS may go to (`SMS_ALLOWED_COUNTRIES`). */
  allowedCountries: readonly string[];
  /** SMS per account per day (`SMS_ACCOUNT_DAILY_LIMIT`). */
  accountDailyLimit: number;
  /** SMS per (number, account) per day (`SMS_NUMBER_ACCOUNT_DAILY_LIMIT`). */
  numberAccountDailyLimit: number;
  /** SMS per number per day over all accounts of a kind, for numbers not on the sender's profile (`OTP_DAILY_LIMIT`). */
  numberDailyLimit: number;
  /** SMS per hour for the whole service (`SMS_HOURLY_BUDGET`). */
  hourlyBudget: number;
  /** HMAC key of the number tags in counter keys (the OTP key: `otp-keys.ts`). */
  otpKey: Uint8Array;
  /** Called once per refusal, before it is thrown (metrics). Must not throw. */
  onRefused?: (code: SmsRefusal, kind: string) => void;
}

/** One SMS a caller wants to send. */
export interface SmsSendRequest {
  kind: string;
  /** The account the SMS is sent for (the token's subject). */
  userId: string;
  /** Destination, E.164 (e.g. `+447400123456`); parsed again here, so any stored number can be passed. */
  phone: string;
  /** Whether `phone` is the number on the account's profile (it then has its own budget: see the file comment). */
  ownNumber: boolean;
  /** The caller's cool-down for this purpose: a Redis key of its own and its length, seconds. */
  cooldown: { key: string; seconds: number };
}

/** Checks and counts SMS sends (see the file comment). */
export interface SmsGuard {
  /**
   * Refuses the SMS or counts it as sent. Call it right before queueing the SMS.
   * @throws AuthError `sms_country_not_allowed` / `sms_number_type_not_allowed` (422);
   *   `otp_cooldown`, `sms_account_daily_limit`, `sms_number_account_daily_limit`, `otp_daily_limit`
   *   (429, `Retry-After`); `sms_budget_exhausted` (503, `Retry-After`). KvUnavailableError (503)
   *   when Redis cannot answer.
   */
  reserve(request: SmsSendRequest): Promise<void>;
}

/**
 * The destination rule alone (no I/O): `null` when an SMS may go to the number, else why not.
 * @param parsed the number as {@link parsePhone} read it (unparsable: `sms_number_type_not_allowed`).
 */
export function smsDestinationRefusal(
  parsed: ParsedPhone | { ok: false },
  allowedCountries: ReadonlySet<string>,
): "sms_country_not_allowed" | "sms_number_type_not_allowed" | null {
  if (!parsed.ok) return "sms_number_type_not_allowed";
  if (parsed.country === null || !allowedCountries.has(parsed.country)) return "sms_country_not_allowed";
  if (parsed.type === undefined || !SMS_NUMBER_TYPES.has(parsed.type)) return "sms_number_type_not_allowed";
  return null;
}

/** Codes of the budget script's refusals, in the order of its counter keys (KEYS[2] … KEYS[5]). */
const BUDGET_CODES = [
  "sms_account_daily_limit",
  "sms_number_account_daily_limit",
  "otp_daily_limit",
  "sms_budget_exhausted",
] as const satisfies readonly SmsRefusal[];

/**
 * KEYS: cool-down mark, then the counters: account/day, (number, account)/day, number/day, service/hour.
 * ARGV: cool-down seconds, then per counter its limit (0 = counted but not enforced) and its window
 * seconds, in KEYS order. Replies `{0, 0}` when sent and counted, `{i, ttl}` when refused by the
 * cool-down (`i` = 1) or the counter KEYS[i] (`ttl` = seconds left on that key). Nothing is written
 * on a refusal.
 */
const RESERVE: KvScript = {
  source: `
local ttl = redis.call('TTL', KEYS[1])
if ttl ~= -2 then
  if ttl < 1 then ttl = tonumber(ARGV[1]) end
  return {1, ttl}
end
for i = 2, #KEYS do
  local limit = tonumber(ARGV[2 * i - 2])
  if limit > 0 and tonumber(redis.call('GET', KEYS[i]) or '0') >= limit then
    ttl = redis.call('TTL', KEYS[i])
    if ttl < 1 then ttl = tonumber(ARGV[2 * i - 1]) end
    return {i, ttl}
  end
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
for i = 2, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 1]) end
end
return {0, 0}
`,
};

/**
 * Builds the {@link SmsGuard} over the {@link Kv} port. Redis cost of `reserve`: nothing when a
 * destination rule refuses; otherwise one EVALSHA (one command, one round trip).
 * @throws Error when a limit is not a positive integer or no country is allowed.
 */
export function createSmsGuard(kv: Kv, options: SmsGuardOptions): SmsGuard {
  const limits = [
    options.accountDailyLimit,
    options.numberAccountDailyLimit,
    options.numberDailyLimit,
    options.hourlyBudget,
  ];
  if (!limits.every((n) => Number.isInteger(n) && n > 0))
    throw new Error("createSmsGuard: every limit must be a positive integer");
  if (options.allowedCountries.length === 0) throw new Error("createSmsGuard: no country is allowed");
  const allowed = new Set(options.allowedCountries);
  /** The refusal to throw, counted first. */
  const refusal = (code: SmsRefusal, kind: string, retryAfterSeconds?: number): AuthError => {
    options.onRefused?.(code, kind);
    return REFUSALS[code](retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
  };

  return {
    async reserve({ kind, userId, phone, ownNumber, cooldown }) {
      const parsed = parsePhone(phone);
      const destination = smsDestinationRefusal(parsed, allowed);
      if (destination || !parsed.ok) throw refusal(destination ?? "sms_number_type_not_allowed", kind);
      const tag = phoneTag(options.otpKey, kind, parsed.e164);
      const keys = [
        cooldown.key,
        redisKeys.smsAccountDaily(kind, userId),
        redisKeys.smsNumberAccountDaily(kind, tag, userId),
        redisKeys.otpDaily(kind, tag),
        redisKeys.smsHourlyBudget(),
      ];
      const args = [
        cooldown.seconds,
        options.accountDailyLimit,
        DAY_SECONDS,
        options.numberAccountDailyLimit,
        DAY_SECONDS,
        ownNumber ? 0 : options.numberDailyLimit,
        DAY_SECONDS,
        options.hourlyBudget,
        HOUR_SECONDS,
      ];
      const [index, ttl] = (await kv.evalScript(RESERVE, keys, args)) as [number, number];
      const refusedBy = Number(index);
      if (refusedBy === 0) return;
      const retryAfterSeconds = Math.max(1, Number(ttl));
      const code = refusedBy === 1 ? "otp_cooldown" : (BUDGET_CODES[refusedBy - 2] ?? "sms_budget_exhausted");
      throw refusal(code, kind, retryAfterSeconds);
    },
  };
}
