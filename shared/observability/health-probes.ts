/**
 * Dependency probes for the health endpoints: each runs a cheap call with a deadline and reports
 * whether it answered and how long it took. Runtime-neutral (fetch, `performance`).
 */

/** What one probe found. */
export interface ProbeResult {
  status: "healthy" | "unhealthy";
  /** Wall time of the call (or until the deadline), milliseconds, one decimal. */
  latencyMs: number;
  /** Why it is unhealthy: `timeout` or the error's name (never its message, which may carry a URL or key). */
  error?: string;
}

/** How long a probe may take before it counts as unhealthy, milliseconds. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * Runs `check` with a deadline and measures it. Never rejects.
 * @param timeoutMs deadline in milliseconds. @default PROBE_TIMEOUT_MS
 */
export async function probeDependency(
  check: () => Promise<unknown>,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const outcome = await Promise.race([check().then(() => "ok" as const), deadline]);
    if (outcome === "timeout") return { status: "unhealthy", latencyMs: elapsed(), error: "timeout" };
    return { status: "healthy", latencyMs: elapsed() };
  } catch (err) {
    return { status: "unhealthy", latencyMs: elapsed(), error: err instanceof Error ? err.name : "error" };
  } finally {
    clearTimeout(timer);
  }
}

/** QStash's API when `QSTASH_URL` is not set (the SDK's default). */
export const QSTASH_DEFAULT_URL = "https://qstash.upstash.io";

/**
 * Checks that QStash is reachable AND accepts our token: `GET <base>/v2/schedules` with the bearer
 * token, the cheapest authenticated read both the real API and the local emulator answer
 * (`GET /v2/keys` would also work but returns the signing keys, which have no business crossing the
 * wire for a health check). The response body is discarded unread.
 *
 * @throws Error when the answer is not 2xx (401: the token is refused), or the call fails.
 */
export async function pingQstash(options: {
  baseUrl: string | undefined;
  token: string | undefined;
  timeoutMs?: number;
}): Promise<void> {
  if (!options.token) throw new Error("QSTASH_TOKEN is not set");
  const url = `${(options.baseUrl ?? QSTASH_DEFAULT_URL).replace(/\/+$/, "")}/v2/schedules`;
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${options.token}` },
    signal: AbortSignal.timeout(options.timeoutMs ?? PROBE_TIMEOUT_MS),
  });
  await res.body?.cancel();
  if (!res.ok) {
    const error = new Error(`QStash answered ${res.status}`);
    error.name = res.status === 401 || res.status === 403 ? "QstashUnauthorized" : "QstashHttpError";
    throw error;
  }
}
