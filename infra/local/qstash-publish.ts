import { createHash } from "node:crypto";
import type { DeliverySpec } from "./qstash-delivery";

/** QStash's default retry count when `Upstash-Retries` is absent. */
export const DEFAULT_RETRIES = 3;
/** Upper bound accepted for `Upstash-Retries` (QStash plans cap it; this keeps tests sane). */
const MAX_RETRIES = 20;
/** Per-attempt timeout when `Upstash-Timeout` is absent, milliseconds. */
const DEFAULT_TIMEOUT_MS = 30_000;
const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]);
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A parsed publish request: what to deliver, and the deduplication key when one applies. */
export type ParsedPublish =
  | { ok: true; spec: DeliverySpec; dedupKey?: string }
  | { ok: false; error: string };

/**
 * Parses a QStash duration such as `10s`, `3m`, `2h30m` or `1d` into milliseconds.
 *
 * @returns milliseconds, or `null` when the text is not a duration.
 */
export function parseDurationMs(text: string): number | null {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return null;
  let total = 0;
  for (const match of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? 0);
  }
  return total;
}

/**
 * Takes the destination from a raw publish URL: everything after `/v2/publish/` (or
 * `/v2/schedules/`), query included, because the Client puts the destination's own query string
 * in the outer URL (protocols.md §2). A percent-encoded destination is decoded.
 *
 * @returns an absolute http(s) URL, or `null` when there is none.
 */
export function destinationFromUrl(rawUrl: string, marker: string): string | null {
  const at = rawUrl.indexOf(marker);
  if (at < 0) return null;
  let destination = rawUrl.slice(at + marker.length);
  if (/^https?%3A/i.test(destination)) {
    try {
      destination = decodeURIComponent(destination);
    } catch {
      return null;
    }
  }
  return isHttpUrl(destination) ? destination : null;
}

/** True for an absolute `http:` or `https:` URL. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Lower-cased headers without `authorization`: what the emulator records as "seen". */
export function recordableHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    if (key !== "authorization") out[key] = value;
  });
  return out;
}

/**
 * Interprets the `Upstash-*` headers of a publish (or a schedule firing) the way QStash does:
 * `Upstash-Method` (default POST), `Upstash-Delay` / `Upstash-Not-Before` (Unix seconds; wins over
 * the delay), `Upstash-Retries` (default 3), `Upstash-Timeout`, `Upstash-Deduplication-Id`,
 * `Upstash-Content-Based-Deduplication`, and `Upstash-Forward-<name>` (delivered as `<name>`).
 * `Content-Type` is passed through unchanged. Other headers are not forwarded.
 *
 * @returns the delivery spec, or an error message for a 400 answer.
 */
export function parsePublish(
  destination: string,
  headers: Headers,
  body: Uint8Array,
  nowMs: number,
  scheduleId?: string,
): ParsedPublish {
  const method = (headers.get("upstash-method") ?? "POST").toUpperCase();
  if (!METHODS.has(method)) return { ok: false, error: `invalid Upstash-Method: ${method}` };

  const retriesText = headers.get("upstash-retries");
  const retries = retriesText === null ? DEFAULT_RETRIES : Number(retriesText);
  if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
    return { ok: false, error: `invalid Upstash-Retries: ${retriesText}` };
  }

  let notBeforeMs = nowMs;
  const delayText = headers.get("upstash-delay");
  if (delayText !== null) {
    const delayMs = parseDurationMs(delayText);
    if (delayMs === null) return { ok: false, error: `invalid Upstash-Delay: ${delayText}` };
    notBeforeMs = nowMs + delayMs;
  }
  const notBeforeText = headers.get("upstash-not-before");
  if (notBeforeText !== null) {
    const seconds = Number(notBeforeText);
    if (!Number.isInteger(seconds) || seconds < 0) {
      return { ok: false, error: `invalid Upstash-Not-Before: ${notBeforeText}` };
    }
    notBeforeMs = seconds * 1000;
  }

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeoutText = headers.get("upstash-timeout");
  if (timeoutText !== null) {
    const parsed = parseDurationMs(timeoutText);
    if (parsed === null || parsed === 0)
      return { ok: false, error: `invalid Upstash-Timeout: ${timeoutText}` };
    timeoutMs = parsed;
  }

  const deliveryHeaders: Record<string, string> = {};
  const contentType = headers.get("content-type");
  if (contentType !== null) deliveryHeaders["content-type"] = contentType;
  headers.forEach((value, key) => {
    if (key.startsWith("upstash-forward-") && key.length > "upstash-forward-".length) {
      deliveryHeaders[key.slice("upstash-forward-".length)] = value;
    }
  });

  const spec: DeliverySpec = {
    destination,
    method,
    publishHeaders: recordableHeaders(headers),
    deliveryHeaders,
    body,
    retries,
    notBeforeMs,
    timeoutMs,
    ...(scheduleId === undefined ? {} : { scheduleId }),
  };

  // Schedules fire a fresh message each time, so deduplication never applies to them.
  if (scheduleId !== undefined) return { ok: true, spec };
  const dedupId = headers.get("upstash-deduplication-id");
  if (dedupId !== null && dedupId !== "") return { ok: true, spec, dedupKey: `id:${dedupId}` };
  if (headers.get("upstash-content-based-deduplication") === "true") {
    const digest = createHash("sha256")
      .update(JSON.stringify([destination, method, Object.entries(deliveryHeaders).sort()]))
      .update(body)
      .digest("hex");
    return { ok: true, spec, dedupKey: `content:${digest}` };
  }
  return { ok: true, spec };
}
