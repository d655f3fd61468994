/**
 * In-memory outbox of the local runtime: what the app sent through the real Resend and Twilio SDKs
 * to the capture endpoints (provider-capture.ts), newest first, plus a test hook that makes the
 * next sends fail so retry paths run over real HTTP. Local runtime and tests only.
 */

/** Which capture endpoint a forced failure applies to. */
export type CaptureProvider = "email" | "sms";

/** An email captured at the Resend endpoint. */
export interface CapturedEmail {
  /** Resend email id (UUID) returned to the sender. */
  id: string;
  /** Recipients joined with `", "` (the service always sends to one). */
  to: string;
  from: string;
  subject: string;
  html: string;
  text: string;
  /** Absolute http(s) `href`s found in the HTML, in document order, entities decoded. */
  links: string[];
  tags: { name: string; value: string }[];
  /** The `Idempotency-Key` header, when sent. */
  idempotencyKey?: string;
  /** ISO 8601 capture time. */
  createdAt: string;
}

/** An SMS captured at the Twilio endpoint. */
export interface CapturedSms {
  /** Twilio message SID (`SM` + 32 hex). */
  id: string;
  to: string;
  from: string;
  body: string;
  /** ISO 8601 capture time. */
  createdAt: string;
}

/** A failure the next sends to one provider will get instead of being captured. */
export interface ForcedFailure {
  provider: CaptureProvider;
  /** HTTP status to answer, e.g. 500, 422, 429 (email) or 400 (SMS). */
  status: number;
  /** How many consecutive sends fail. @default 1 */
  times?: number;
  /** JSON error body; defaults to the provider's shape for `status` (Resend `{statusCode,name,message}`, Twilio `{code,message,status}`). */
  body?: Record<string, unknown>;
}

/** The outbox: read by tests and the dev page, written by the capture endpoints. */
export interface Outbox {
  /** Captured emails, newest first. */
  emails(): CapturedEmail[];
  /** Captured SMS, newest first. */
  sms(): CapturedSms[];
  /** Forgets captured messages and pending forced failures. */
  clear(): void;
  /** Makes the next `times` sends to `provider` fail with `status`. */
  failNext(failure: ForcedFailure): void;
  /** Capture side: stores an email (links are extracted here). */
  addEmail(email: Omit<CapturedEmail, "links" | "createdAt">): CapturedEmail;
  /** Capture side: stores an SMS. */
  addSms(sms: Omit<CapturedSms, "createdAt">): CapturedSms;
  /** Capture side: consumes one forced failure for `provider`, if any is pending. */
  takeFailure(provider: CaptureProvider): { status: number; body?: Record<string, unknown> } | undefined;
}

interface PendingFailure {
  provider: CaptureProvider;
  status: number;
  times: number;
  body?: Record<string, unknown>;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the HTML character references that can appear in an attribute value. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code =
        ref[1] === "x" || ref[1] === "X" ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

/**
 * Lists the absolute http(s) links of an HTML document: every `href` attribute (quoted or not),
 * entity-decoded, kept only when it parses as an `http:`/`https:` URL (so `mailto:` and
 * `javascript:` never become clickable on the outbox page).
 */
export function extractLinks(html: string): string[] {
  const links: string[] = [];
  for (const match of html.matchAll(/\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`=]+))/gi)) {
    const href = decodeEntities((match[1] ?? match[2] ?? match[3] ?? "").trim());
    try {
      const url = new URL(href);
      if (url.protocol === "http:" || url.protocol === "https:") links.push(url.href);
    } catch {
      // Relative or malformed: nothing a person could follow from the outbox.
    }
  }
  return links;
}

/** Creates an empty in-memory {@link Outbox}. */
export function createOutbox(): Outbox {
  let emails: CapturedEmail[] = [];
  let sms: CapturedSms[] = [];
  let failures: PendingFailure[] = [];

  return {
    emails: () => emails.map((e) => ({ ...e, links: [...e.links], tags: e.tags.map((t) => ({ ...t })) })),
    sms: () => sms.map((s) => ({ ...s })),
    clear() {
      emails = [];
      sms = [];
      failures = [];
    },
    failNext(failure) {
      const times = failure.times ?? 1;
      if (!Number.isInteger(times) || times < 1)
        throw new RangeError("failNext: times must be a positive integer");
      if (!Number.isInteger(failure.status) || failure.status < 400 || failure.status > 599) {
        throw new RangeError("failNext: status must be a 4xx or 5xx code");
      }
      failures.push({
        provider: failure.provider,
        status: failure.status,
        times,
        ...(failure.body ? { body: failure.body } : {}),
      });
    },
    addEmail(email) {
      const captured: CapturedEmail = {
        ...email,
        links: extractLinks(email.html),
        createdAt: new Date().toISOString(),
      };
      emails = [captured, ...emails];
      return captured;
    },
    addSms(message) {
      const captured: CapturedSms = { ...message, createdAt: new Date().toISOString() };
      sms = [captured, ...sms];
      return captured;
    },
    takeFailure(provider) {
      const failure = failures.find((f) => f.provider === provider);
      if (!failure) return undefined;
      failure.times -= 1;
      if (failure.times === 0) failures = failures.filter((f) => f !== failure);
      return { status: failure.status, ...(failure.body ? { body: failure.body } : {}) };
    },
  };
}
