import pino, { type DestinationStream } from "pino";

/**
 * Structured JSON logging (pino) with redaction by ALLOW-list: only the field names below are ever
 * written; any other field is replaced by `"[REDACTED]"`, so an email, phone, name, password, token,
 * OTP or key passed by mistake cannot reach the log. Free-text values that must be logged (error
 * messages) pass through {@link scrub}, which masks email addresses, long digit runs and long
 * token-like strings. (OWASP Logging Cheat Sheet: "data to exclude".)
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Field names that may appear in a log line. Values are identifiers, codes and measurements only. */
export const LOG_FIELD_ALLOW_LIST = new Set([
  "event",
  "request_id",
  "function",
  "cold_start",
  "kind",
  "route",
  "method",
  "status",
  "duration_ms",
  "code",
  "user_id",
  "message_id",
  "message_type",
  "attempt",
  "provider",
  "backend",
  "key_id",
  "service",
  "outcome",
  "action",
  "reason",
  "err_name",
  "err_message",
  "err_stack",
  "url",
  "port",
  "count",
  "version",
  // Scheduled jobs (shared/jobs/): which run, and its counts.
  "job",
  "run_id",
  "part",
  "parts",
  "items",
  "recent",
  "restarts",
  "scanned",
  "purged",
  "raced",
  "rewrapped",
  "conflicts",
  "unreadable",
  "deleted",
  "fill",
  "estimated_false_positive_rate",
]);

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+/g;
const DIGITS = /\+?\d[\d\s().-]{4,}\d/g;
const TOKENISH = /[A-Za-z0-9_\-+/=.]{24,}/g;

/** Masks emails, phone-like digit runs (≥6 digits) and long token-like strings in free text. */
export function scrub(text: string): string {
  return text.replace(EMAIL, "[email]").replace(TOKENISH, "[token]").replace(DIGITS, "[digits]");
}

function allowList(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (!LOG_FIELD_ALLOW_LIST.has(key)) out[key] = "[REDACTED]";
    else if (key === "err_message" || key === "err_stack") out[key] = scrub(String(value)).slice(0, 2000);
    else out[key] = typeof value === "object" && value !== null ? "[REDACTED]" : value;
  }
  return out;
}

/** A logger bound to some context fields (request id, function name, kind). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields` too. */
  child(fields: LogFields): Logger;
}

/**
 * {@link Logger} over a pino logger. A class, not an object of arrow functions: a child logger is
 * made per request, and the methods live once on the prototype instead of five new closures each
 * time (each also renamed by the `keepNames` helper of SST's bundles).
 */
class PinoLogger implements Logger {
  readonly #pino: pino.Logger;
  constructor(p: pino.Logger) {
    this.#pino = p;
  }
  debug(msg: string, fields?: LogFields): void {
    this.#pino.debug(fields ?? {}, scrub(msg));
  }
  info(msg: string, fields?: LogFields): void {
    this.#pino.info(fields ?? {}, scrub(msg));
  }
  warn(msg: string, fields?: LogFields): void {
    this.#pino.warn(fields ?? {}, scrub(msg));
  }
  error(msg: string, fields?: LogFields): void {
    this.#pino.error(fields ?? {}, scrub(msg));
  }
  child(fields: LogFields): Logger {
    return new PinoLogger(this.#pino.child(allowList(fields)));
  }
}

/**
 * Creates a JSON-lines logger. Writes to stdout (what Lambda ships to CloudWatch) unless a
 * destination stream is given (tests).
 * @param options.level minimum level; `silent` disables output.
 */
export function createLogger(
  options: { level?: string; destination?: DestinationStream; base?: LogFields } = {},
): Logger {
  const p = pino(
    {
      level: options.level ?? "info",
      base: null,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: allowList },
    },
    options.destination,
  );
  return new PinoLogger(options.base ? p.child(allowList(options.base)) : p);
}

/** Turns an unknown thrown value into log fields (name, scrubbed message and stack). */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    return { err_name: err.name, err_message: err.message, err_stack: err.stack ?? null };
  }
  return { err_name: typeof err, err_message: String(err) };
}
