import { parseUserKinds } from "../shared/config/user-kinds";
import { DOCS_ROUTE_PATHS, docsCopyFiles } from "../shared/http/docs-assets";

/** HTTP methods the API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** One route served by a function: method and production path (e.g. `POST /User1/login`). */
export interface RouteSpec {
  method: HttpMethod;
  path: string;
}

/**
 * Secrets a function may need. Each is an `sst.Secret` in production, handed to the function as
 * the environment variable of the same meaning (the names `shared/config` reads).
 */
export const SECRET_ENV = {
  JwtSecret: "JWT_SECRET",
  EncryptionKey: "ENCRYPTION_KEY",
  EmailSalt: "EMAIL_SALT",
  UpstashRedisRestUrl: "UPSTASH_REDIS_REST_URL",
  UpstashRedisRestToken: "UPSTASH_REDIS_REST_TOKEN",
  MongoUrl: "MONGO_URL",
  QstashToken: "QSTASH_TOKEN",
  QstashCurrentSigningKey: "QSTASH_CURRENT_SIGNING_KEY",
  QstashNextSigningKey: "QSTASH_NEXT_SIGNING_KEY",
  ResendApiKey: "RESEND_API_KEY",
  TwilioSid: "TWILIO_SID",
  TwilioAuthToken: "TWILIO_AUTH_TOKEN",
  OpsToken: "OPS_TOKEN",
} as const;

/** Name of an `sst.Secret`. */
export type SecretName = keyof typeof SECRET_ENV;

// --- issue #12 (deploy): runtime and `$default` route -------------------------------------------
/**
 * The Lambda runtime of every deployed function: the newest SST 4.17 offers (and its default,
 * `platform/src/components/aws/function.ts`). `sst.config.ts` deploys with it and the SST-faithful
 * build test (`test/build/sst-esbuild.ts`) derives esbuild's target from it.
 */
export const LAMBDA_NODE_RUNTIME = "nodejs24.x";
// --- end issue #12 ------------------------------------------------------------------------------

/** One deployed function: the single source of truth read by SST, the local server, OpenAPI and tests. */
export interface FunctionSpec {
  /** Resource name (PascalCase, unique), e.g. `Login`. */
  name: string;
  /** Module path from the repo root without extension; it exports `app` (Hono) and `handler` (Lambda). */
  module: string;
  /** Every route it serves, already expanded for every user kind. */
  routes: RouteSpec[];
  /** `edge` only for code that needs no Node built-in and hashes no password (DESIGN.md §2). */
  runtime: "node" | "edge";
  /** Lambda memory in MB (CPU scales with it: Argon2 wants more). */
  memoryMB: number;
  /** Lambda timeout in seconds. */
  timeoutSeconds: number;
  secrets: SecretName[];
  /** Native packages SST installs for the target architecture instead of bundling (e.g. `@node-rs/argon2`). */
  nodeInstall?: readonly string[];
  /** Files SST copies into the bundle as they are (`copyFiles`: paths from the repo root / bundle root). */
  copyFiles?: readonly { from: string; to: string }[];
  /**
   * issue #12: this function is the HTTP API's `$default` route (every method/path no other route
   * matches). It has no `routes`; the local server ignores it (it answers unknown paths itself).
   */
  gatewayDefault?: true;
}

/** A function template before kind expansion: `kindRoutes` are repeated under `/{kind}` for every kind. */
interface FunctionTemplate extends Omit<FunctionSpec, "routes"> {
  routes?: RouteSpec[];
  kindRoutes?: RouteSpec[];
}

/**
 * Secrets every function receives. The configuration is parsed whole at each cold start and, in
 * production, refuses to start without any of them (fail loudly at deploy time, not at the first
 * request that needs one), so every function gets the full set today. The per-entry `secrets`
 * field is where per-function least privilege will narrow it once configuration is sliced per function.
 */
const ALL_SECRETS = Object.keys(SECRET_ENV) as SecretName[];

/** Functions that hash passwords: native Argon2 installed by SST, and memory for CPU (Lambda scales CPU with it). */
const PASSWORD_FUNCTION = {
  runtime: "node",
  memoryMB: 1024,
  timeoutSeconds: 10,
  nodeInstall: ["@node-rs/argon2"],
} as const;

/**
 * Token-only account functions: no password hashing on their path, less memory. They still list the
 * native Argon2 package so the bundler never tries to inline its platform binary.
 */
const TOKEN_FUNCTION = {
  runtime: "node",
  memoryMB: 512,
  timeoutSeconds: 10,
  nodeInstall: ["@node-rs/argon2"],
} as const;

const TEMPLATES: FunctionTemplate[] = [
  {
    name: "Create",
    module: "functions/create",
    kindRoutes: [{ method: "POST", path: "/create" }],
    ...PASSWORD_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Verify",
    module: "functions/verify",
    kindRoutes: [{ method: "GET", path: "/verify" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Login",
    module: "functions/login",
    kindRoutes: [{ method: "POST", path: "/login" }],
    ...PASSWORD_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Profile",
    module: "functions/profile",
    kindRoutes: [{ method: "GET", path: "/" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Update",
    module: "functions/update",
    kindRoutes: [{ method: "PUT", path: "/update" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Logout",
    module: "functions/logout",
    kindRoutes: [
      { method: "GET", path: "/logout" },
      { method: "POST", path: "/logout" },
    ],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Delete",
    module: "functions/delete",
    kindRoutes: [{ method: "DELETE", path: "/delete" }],
    ...PASSWORD_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    // Web APIs only (jose): the one `edge` candidate today; a test bundles it for a browser platform.
    name: "Jwks",
    module: "functions/jwks",
    routes: [{ method: "GET", path: "/.well-known/jwks.json" }],
    runtime: "edge",
    memoryMB: 128,
    timeoutSeconds: 5,
    secrets: ALL_SECRETS,
  },
  {
    name: "ForgetPassword",
    module: "functions/forget-password",
    kindRoutes: [
      { method: "GET", path: "/forget_password" },
      { method: "POST", path: "/forget_password" },
    ],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "ResetPasswordForm",
    module: "functions/reset-password-form",
    kindRoutes: [{ method: "GET", path: "/reset_password_form" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "ResetPassword",
    module: "functions/reset-password",
    kindRoutes: [{ method: "POST", path: "/reset_password" }],
    ...PASSWORD_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "ChangePassword",
    module: "functions/change-password",
    kindRoutes: [{ method: "POST", path: "/change_password" }],
    ...PASSWORD_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "OtpPhone",
    module: "functions/otp-phone",
    kindRoutes: [{ method: "POST", path: "/otp_phone" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "VerifyOtpPhone",
    module: "functions/verify-otp-phone",
    kindRoutes: [
      { method: "GET", path: "/verify_otp_phone" },
      { method: "POST", path: "/verify_otp_phone" },
    ],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Token",
    module: "functions/token",
    kindRoutes: [{ method: "POST", path: "/token" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "LogoutAll",
    module: "functions/logout-all",
    kindRoutes: [{ method: "POST", path: "/logout_all" }],
    ...TOKEN_FUNCTION,
    secrets: ALL_SECRETS,
  },
  {
    name: "Health",
    module: "functions/health",
    routes: [{ method: "GET", path: "/health" }],
    runtime: "node",
    memoryMB: 256,
    timeoutSeconds: 10,
    secrets: ALL_SECRETS,
  },
  {
    // Operators only (OPS_TOKEN): dependency latencies, Bloom fill, queue reachability, key ring, build.
    name: "HealthDetailed",
    module: "functions/health-detailed",
    routes: [{ method: "GET", path: "/health/detailed" }],
    runtime: "node",
    memoryMB: 256,
    timeoutSeconds: 10,
    secrets: ALL_SECRETS,
  },
  {
    // Operators only (OPS_TOKEN): Prometheus text of the per-minute counters all instances keep in Redis.
    name: "Metrics",
    module: "functions/metrics",
    routes: [{ method: "GET", path: "/metrics" }],
    runtime: "node",
    memoryMB: 256,
    timeoutSeconds: 10,
    secrets: ALL_SECRETS,
  },
  {
    // OpenAPI document + Swagger UI / ReDoc / Scalar pages. It imports every documented function
    // module to read its route definitions (so it lists the native Argon2 package like they do);
    // the UI bundles (~6 MB) are copied, not bundled, and read from node_modules at run time.
    name: "Docs",
    module: "functions/docs",
    routes: DOCS_ROUTE_PATHS.map((path) => ({ method: "GET", path })),
    runtime: "node",
    memoryMB: 512,
    timeoutSeconds: 10,
    secrets: ALL_SECRETS,
    nodeInstall: ["@node-rs/argon2"],
    copyFiles: docsCopyFiles(),
  },
  // Background delivery (DESIGN.md §7): called by QStash only, verified by signature. 30 s leaves
  // room for a slow provider within QStash's request timeout; the consumer's send lock outlives it.
  {
    name: "NotifyEmail",
    module: "functions/notify-email",
    routes: [{ method: "POST", path: "/jobs/email" }],
    runtime: "node",
    memoryMB: 256,
    timeoutSeconds: 30,
    secrets: ALL_SECRETS,
  },
  {
    // The twilio SDK lives only here; 512 MB buys the CPU to load it faster on a cold start.
    name: "NotifySms",
    module: "functions/notify-sms",
    routes: [{ method: "POST", path: "/jobs/sms" }],
    runtime: "node",
    memoryMB: 512,
    timeoutSeconds: 30,
    secrets: ALL_SECRETS,
  },
  // --- issue #12 (deploy) ---
  {
    // API Gateway's `$default` route: 404 problem+json with the security headers, as locally.
    name: "NotFound",
    module: "functions/not-found",
    gatewayDefault: true,
    runtime: "node",
    memoryMB: 256,
    timeoutSeconds: 5,
    secrets: ALL_SECRETS,
  },
  // --- end issue #12 ---
];

/**
 * The function manifest for a list of user kinds (default: `USER_KINDS` or `User1,User2`).
 * @throws Error when `USER_KINDS` is malformed.
 */
export function buildManifest(kinds?: string[]): FunctionSpec[] {
  let resolved = kinds;
  if (!resolved) {
    const parsed = parseUserKinds(process.env.USER_KINDS);
    if (!parsed.ok) throw new Error(`USER_KINDS: ${parsed.problem}`);
    resolved = parsed.kinds;
  }
  const userKinds = resolved;
  return TEMPLATES.map(({ kindRoutes = [], routes = [], ...spec }) => ({
    ...spec,
    routes: [
      ...routes,
      ...userKinds.flatMap((kind) =>
        kindRoutes.map((r) => ({ method: r.method, path: `/${kind}${r.path === "/" ? "/" : r.path}` })),
      ),
    ],
  }));
}
