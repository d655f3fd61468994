import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { readDevState } from "../../infra/local/dev-state";
import { totpCode } from "../../shared/crypto/totp";
import { GENEROUS_RATE_LIMITS, testEnv } from "../helpers/env";
import { targetOfDevState, triggerSchedule } from "../helpers/jobs";
import { type ApiRequestInit, apiClient } from "../helpers/local-server";
import { type ServerProcess, startServerProcess } from "../helpers/server-process";

/**
 * Logs never carry personal data or secrets (DESIGN.md §9, OWASP Logging Cheat Sheet), proven on
 * the real thing: the local runtime runs in a CHILD process at LOG_LEVEL=debug, its stdout and
 * stderr are captured whole, EVERY route of the manifest is driven (the server's own request log
 * lines prove which were reached: the test fails if one was not), and then every captured line is
 * searched for the test users' emails, phones, names and passwords, every access, refresh,
 * verification and reset token, every OTP code, and the configured secrets.
 */
const KINDS = ["User1", "User2"];
// No reuse grace: presenting a used refresh token again is reuse at once (detected, the session ends).
const env = testEnv({
  RATE_LIMITS: GENEROUS_RATE_LIMITS,
  LOG_LEVEL: "debug",
  REFRESH_REUSE_GRACE_SECONDS: "0",
});
const SECRETS = ["JWT_SECRET", "ENCRYPTION_KEY", "EMAIL_SALT", "OPS_TOKEN"].map(
  (name) => env[name] as string,
);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess(env);
});
afterAll(async () => {
  await server?.stop();
});

/** Everything a log line must never contain, collected while the flows run. */
const needles = new Set<string>(SECRETS);
/** OTP codes: 6 digits, searched as whole numbers only (a UUID may contain any 6 digits by chance). */
const codes = new Set<string>();

function remember(...values: (string | undefined)[]) {
  for (const value of values) {
    if (!value) continue;
    needles.add(value);
    // The parts of a JWT that are unique to it (payload, signature), in case one is logged alone.
    if (/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/.test(value))
      for (const part of value.split(".").slice(1)) needles.add(part);
  }
}

/** One request to the server process (the shared test client; every value sent is in the test's control). */
function call(method: string, path: string, init: ApiRequestInit = {}) {
  return apiClient(server.url).request(method, path, init);
}

interface Outbox {
  emails: { to: string; links: string[] }[];
  sms: { id: string; to: string; body: string }[];
}

/** Polls the child's dev outbox (`/_dev/outbox.json`) until `find` returns something. */
async function waitFor<T>(find: (outbox: Outbox) => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const outbox = (await (await fetch(`${server.url}/_dev/outbox.json`)).json()) as Outbox;
    const found = find(outbox);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const linkTo = (email: string, fragment: string) =>
  waitFor(
    (o) => o.emails.find((e) => e.to === email)?.links.find((l) => l.includes(fragment)),
    `${fragment} mail`,
  );
const tokenOf = (link: string) => new URL(link).searchParams.get("token") as string;

async function login(kind: string, email: string, password: string) {
  const res = await call("POST", `/${kind}/login`, { form: { username: email, password } });
  expect(res.status, res.text).toBe(200);
  remember(res.json.access_token as string, res.json.refresh_token as string);
  return { access: res.json.access_token as string, refresh: res.json.refresh_token as string };
}

/** Drives every account route of one kind through a whole account life. */
async function accountLife(kind: string, n: number) {
  const tag = randomBytes(4).toString("hex");
  const user = {
    first_name: `Zebulon${tag}`,
    last_name: `Quixotefield${tag}`,
    email: `Scan.Subject.${tag}@Example.com`,
    phone: `+1415555${2000 + n}`,
    country_code: "US",
    password: `Tr0ub4dor&3-horse-${tag}`,
  };
  const passwords = [user.password, `Correct-Staple-Orbit-${tag}`, `Velvet-Harbor-Quartz-${tag}`];
  const wrongPassword = `Wrong-Guess-${tag}`;
  const renamed = `Zebediah${tag}`;
  remember(
    user.first_name,
    user.last_name,
    renamed,
    user.email,
    user.email.toLowerCase(),
    ...passwords,
    wrongPassword,
  );
  remember(user.phone, user.phone.slice(1), user.phone.slice(2));

  expect((await call("POST", `/${kind}/create`, { json: user })).status).toBe(201);
  const verifyLink = await linkTo(user.email, "/verify?token=");
  remember(tokenOf(verifyLink));
  // The link's page (verifies nothing), then its button's POST.
  expect((await call("GET", new URL(verifyLink).pathname + new URL(verifyLink).search)).status).toBe(200);
  expect(
    (await call("POST", new URL(verifyLink).pathname, { json: { token: tokenOf(verifyLink) } })).status,
  ).toBe(200);

  expect(
    (await call("POST", `/${kind}/login`, { form: { username: user.email, password: wrongPassword } }))
      .status,
  ).toBe(401);
  let session = await login(kind, user.email, passwords[0] as string);
  expect((await call("GET", `/${kind}/`, { token: session.access })).status).toBe(200);
  expect(
    (await call("PUT", `/${kind}/update`, { token: session.access, json: { first_name: renamed } })).status,
  ).toBe(200);

  // Phone verification: a code, a refused second send (cool-down), a wrong code, the right code.
  expect((await call("POST", `/${kind}/otp_phone`, { token: session.access })).status).toBe(202);
  expect((await call("POST", `/${kind}/otp_phone`, { token: session.access, json: {} })).status).toBe(429);
  const code = await waitFor(
    (o) => /\b(\d{6})\b/.exec(o.sms.find((s) => s.to === user.phone)?.body ?? "")?.[1],
    "an SMS code",
  );
  const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  codes.add(code);
  codes.add(wrongCode);
  expect(
    (await call("GET", `/${kind}/verify_otp_phone?otp=${wrongCode}`, { token: session.access })).status,
  ).toBe(400);
  expect(
    (await call("POST", `/${kind}/verify_otp_phone`, { token: session.access, json: { otp: code } })).status,
  ).toBe(200);

  // Refresh rotation, then reuse of the used token (detected: the session ends).
  const rotated = await call("POST", `/${kind}/token`, {
    form: { grant_type: "refresh_token", refresh_token: session.refresh },
  });
  expect(rotated.status, rotated.text).toBe(200);
  remember(rotated.json.access_token as string, rotated.json.refresh_token as string);
  const reused = await call("POST", `/${kind}/token`, {
    form: { grant_type: "refresh_token", refresh_token: session.refresh },
  });
  expect(reused.status).toBe(401);

  // Password reset by mailed link (both request forms), form page, reset.
  expect((await call("GET", `/${kind}/forget_password?email=${encodeURIComponent(user.email)}`)).status).toBe(
    200,
  );
  expect((await call("POST", `/${kind}/forget_password`, { json: { email: user.email } })).status).toBe(200);
  const resetLink = await linkTo(user.email, "/reset_password_form?token=");
  const resetToken = tokenOf(resetLink);
  remember(resetToken);
  expect((await call("GET", new URL(resetLink).pathname + new URL(resetLink).search)).status).toBe(200);
  const reset = await call("POST", `/${kind}/reset_password`, {
    json: { token: resetToken, password: passwords[1] },
  });
  expect(reset.status, reset.text).toBe(200);

  session = await login(kind, user.email, passwords[1] as string);
  const changed = await call("POST", `/${kind}/change_password`, {
    token: session.access,
    json: { current_password: passwords[1], new_password: passwords[2] },
  });
  expect(changed.status, changed.text).toBe(200);
  remember(changed.json.access_token as string, changed.json.refresh_token as string);

  const a = await login(kind, user.email, passwords[2] as string);
  const b = await login(kind, user.email, passwords[2] as string);
  expect((await call("GET", `/${kind}/logout`, { token: a.access })).status).toBe(200);
  expect((await call("POST", `/${kind}/logout`, { token: b.access })).status).toBe(200);
  const c = await login(kind, user.email, passwords[2] as string);
  expect((await call("POST", `/${kind}/logout_all`, { token: c.access })).status).toBe(200);
  await secondFactorLife(kind, user.email, passwords[2] as string);
  const d = await login(kind, user.email, passwords[2] as string);
  expect(
    (await call("DELETE", `/${kind}/delete`, { token: d.access, json: { password: passwords[2] } })).status,
  ).toBe(200);
}

/**
 * Drives every second-factor route (issue #16) for an account with a verified phone, and leaves it
 * without a factor: TOTP setup and enable, the 403 login step, the SMS challenge, verification with
 * recovery codes, status, a new set of codes, SMS enable, and disabling both factors. The secret, its
 * URI, every MFA token, recovery code and TOTP code are needles.
 */
async function secondFactorLife(kind: string, email: string, password: string) {
  const form = { username: email, password };
  const first = await login(kind, email, password);
  const setup = await call("POST", `/${kind}/mfa/totp/setup`, { token: first.access });
  expect(setup.status, setup.text).toBe(200);
  const secret = setup.json.secret as string;
  remember(secret, setup.json.otpauth_uri as string);
  const totp = totpCode(secret, Date.now());
  codes.add(totp);
  const enabled = await call("POST", `/${kind}/mfa/totp/enable`, {
    token: first.access,
    json: { code: totp, password },
  });
  expect(enabled.status, enabled.text).toBe(200);
  const recovery = enabled.json.recovery_codes as string[];
  remember(...recovery, ...recovery.map((c) => c.replace("-", "")));

  const pending = await call("POST", `/${kind}/login`, { form });
  expect(pending.status).toBe(403);
  remember(pending.json.mfa_token as string);
  const smsRefused = await call("POST", `/${kind}/mfa/challenge`, {
    json: { mfa_token: pending.json.mfa_token, method: "sms" },
  });
  expect(smsRefused.status).toBe(422); // SMS is not enrolled yet
  const verified = await call("POST", `/${kind}/mfa/verify`, {
    json: { mfa_token: pending.json.mfa_token, method: "recovery_code", code: recovery[0] },
  });
  expect(verified.status, verified.text).toBe(200);
  remember(verified.json.access_token as string, verified.json.refresh_token as string);
  const session = verified.json.access_token as string;
  expect((await call("GET", `/${kind}/mfa`, { token: session })).status).toBe(200);
  const fresh = await call("POST", `/${kind}/mfa/recovery_codes`, { token: session, json: { password } });
  expect(fresh.status, fresh.text).toBe(200);
  const codesNow = fresh.json.recovery_codes as string[];
  remember(...codesNow, ...codesNow.map((c) => c.replace("-", "")));
  expect((await call("POST", `/${kind}/mfa/sms/enable`, { token: session, json: { password } })).status).toBe(
    200,
  );

  const again = await call("POST", `/${kind}/login`, { form });
  expect(again.status).toBe(403);
  remember(again.json.mfa_token as string);
  const challenge = await call("POST", `/${kind}/mfa/challenge`, {
    json: { mfa_token: again.json.mfa_token, method: "sms" },
  });
  expect([202, 429]).toContain(challenge.status); // 429 while the phone code's cool-down runs
  const next = await call("POST", `/${kind}/mfa/verify`, {
    json: { mfa_token: again.json.mfa_token, method: "recovery_code", code: codesNow[0] },
  });
  expect(next.status, next.text).toBe(200);
  remember(next.json.access_token as string, next.json.refresh_token as string);
  for (const [method, code] of [
    ["totp", codesNow[1]],
    ["sms", codesNow[2]],
  ]) {
    const off = await call("POST", `/${kind}/mfa/disable`, {
      token: next.json.access_token as string,
      json: { method, password, code },
    });
    expect(off.status, off.text).toBe(200);
  }
}

/** The captured output as lines, once the request carrying `marker` as its request id has been logged. */
async function capturedLines(marker: string): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (!server.output().includes(`"request_id":"${marker}"`)) {
    if (Date.now() > deadline) throw new Error("the last request never reached the log");
    await new Promise((r) => setTimeout(r, 50));
  }
  return server
    .output()
    .split("\n")
    .filter((l) => l.trim() !== "");
}

/** Lines containing a needle (or an OTP code as a whole number), with what they leaked. */
function findLeaks(lines: string[], values: Iterable<string>, otpCodes: Iterable<string>) {
  const leaks: { line: string; leaked: string }[] = [];
  const all = [...values].filter((v) => v.length >= 4);
  const digitRuns = [...otpCodes].map((c) => ({ c, re: new RegExp(`(?<!\\d)${c}(?!\\d)`) }));
  for (const line of lines) {
    const lower = line.toLowerCase();
    for (const value of all) if (lower.includes(value.toLowerCase())) leaks.push({ line, leaked: value });
    for (const { c, re } of digitRuns) if (re.test(line)) leaks.push({ line, leaked: c });
  }
  return leaks;
}

describe("logs under every endpoint", () => {
  let lines: string[] = [];
  const opsToken = env.OPS_TOKEN as string;

  beforeAll(async () => {
    for (const [n, kind] of KINDS.entries()) await accountLife(kind, n);
    expect((await call("GET", "/health")).status).toBe(200);
    expect((await call("GET", "/health/detailed", { token: opsToken })).status).toBe(200);
    expect((await call("GET", "/metrics", { token: opsToken })).status).toBe(200);
    expect((await call("GET", "/.well-known/jwks.json")).status).toBe(200);
    const docs = (await buildManifest(KINDS)).find((f) => f.name === "Docs")?.routes ?? [];
    for (const route of docs) expect((await call(route.method, route.path)).status, route.path).toBe(200);
    // Forged deliveries (the real ones came from the QStash emulator during the flows).
    expect((await call("POST", "/jobs/email", { json: { to: "x" } })).status).toBe(401);
    expect(
      (await call("POST", "/jobs/sms", { headers: { "upstash-signature": "eyJ.forged.sig" } })).status,
    ).toBe(401);
    // Every scheduled job, fired as its cron would through the server's QStash emulator.
    const state = readDevState(server.dataDir);
    if (!state) throw new Error("the server left no dev-runtime.json");
    for (const job of ["bloom-rebuild", "purge-unverified", "rotate-keys", "audit-retention"]) {
      expect((await triggerSchedule(targetOfDevState(state), job)).state).toBe("done");
    }
    expect((await call("POST", "/jobs/rotate-keys", { json: {} })).status).toBe(401);
    // The server makes its own request ids (a client's X-Request-Id is not adopted without trusted
    // proxies): the last request's id, from its response, marks the end of the log to scan.
    const last = await call("GET", "/health");
    expect(last.status).toBe(200);
    lines = await capturedLines(last.headers.get("x-request-id") ?? "");
    if (process.env.LOG_SCAN_DUMP)
      (await import("node:fs")).writeFileSync(process.env.LOG_SCAN_DUMP, lines.join("\n"));
  }, 180_000);

  it("reached every route of the manifest (by the server's own request log lines)", async () => {
    const logged = new Set(
      lines
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { event?: string; method?: string; route?: string })
        .filter((l) => l.event === "http_request")
        .map((l) => `${l.method} ${l.route}`),
    );
    const manifest = (await buildManifest(KINDS)).flatMap((f) =>
      f.routes.map((r) => `${r.method} ${r.path}`),
    );
    expect(manifest.length).toBeGreaterThan(40);
    expect(manifest.filter((route) => !logged.has(route))).toEqual([]);
  });

  it("writes structured JSON lines with request id, function, cold-start flag and, on account routes, the kind", async () => {
    const records = lines
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = records.filter((r) => r.event === "http_request");
    expect(requests.length).toBeGreaterThanOrEqual(
      (await buildManifest(KINDS)).flatMap((f) => f.routes).length,
    );
    for (const r of requests) {
      expect(typeof r.request_id).toBe("string");
      expect(typeof r.function).toBe("string");
      expect(typeof r.cold_start).toBe("boolean");
      expect(["debug", "info", "warn", "error"]).toContain(r.level);
      const kind = /^\/(User1|User2)\//.exec(String(r.route))?.[1];
      expect(r.kind).toBe(kind);
    }
    expect(requests.some((r) => r.cold_start === true)).toBe(true);
    expect(records.some((r) => r.level === "debug")).toBe(true); // LOG_LEVEL=debug was in effect
  });

  it("contains no email, phone, name, password, token, OTP code or configured secret anywhere", () => {
    expect(needles.size).toBeGreaterThan(50);
    expect(codes.size).toBe(6); // per kind: a right and a wrong SMS code, and a TOTP code
    expect(findLeaks(lines, needles, codes)).toEqual([]);
  });

  it("would notice a leak: the scanner finds planted values", () => {
    const [email] = [...needles].filter((v) => v.includes("@"));
    const [code] = [...codes];
    const planted = [
      `{"msg":"login ${email?.toUpperCase()}"}`,
      `{"msg":"code ${code}"}`,
      `{"x":"${SECRETS[0]}"}`,
    ];
    expect(findLeaks(planted, needles, codes).length).toBeGreaterThanOrEqual(3);
  });
});
