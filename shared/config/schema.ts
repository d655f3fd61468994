import * as z from "zod";
import { ConfigError } from "../errors";
import { restrictConfig, withholdSecrets } from "./grants";
import { appUrlOf, type HttpConfig, httpEnv, parseHttp } from "./http";
import { type JobsConfig, jobsEnv, parseJobs } from "./jobs";
import { type JwtConfig, jwtEnv, parseJwt } from "./jwt";
import { type KeysConfig, keysEnv, parseKeys } from "./keys";
import { type OperationsConfig, operationsEnv, parseOperations } from "./operations";
import { type PasswordConfig, parsePassword, passwordEnv } from "./password";
import { type ProvidersConfig, parseProviders, providersEnv } from "./providers";
import type { SecretName } from "./secrets";
import { formatProblem, parseEnvironment, valuesOf } from "./section";
import { parseService, type ServiceConfig, serviceEnv } from "./service";
import { parseSms, type SmsConfig, smsEnv } from "./sms";
import { parseStores, type StoresConfig, storesEnv } from "./stores";
import { parseTokens, type TokensConfig, tokensEnv } from "./tokens";

export { decodeBase64 } from "./keys";

/**
 * The service configuration, parsed from the environment by {@link parseConfig}. Units are in the
 * names (`Seconds`, `Bytes`, `KiB`). Secrets are kept as given; decoding into keys happens here so
 * a malformed key fails at cold start, not at the first request. Each part is documented in the
 * module of its section: `service`, `http`, `jwt`, `keys`, `password`, `stores`, `providers`,
 * `tokens`, `operations`, `sms` (the SMS rules), `jobs` (all under `shared/config/`).
 */
export interface Config
  extends ServiceConfig,
    HttpConfig,
    JwtConfig,
    KeysConfig,
    PasswordConfig,
    StoresConfig,
    ProvidersConfig,
    TokensConfig,
    OperationsConfig,
    SmsConfig,
    JobsConfig {}

/** Every variable the configuration reads: the variables of all sections. */
const envSchema = z.object({
  ...serviceEnv.shape,
  ...httpEnv.shape,
  ...jwtEnv.shape,
  ...keysEnv.shape,
  ...passwordEnv.shape,
  ...storesEnv.shape,
  ...providersEnv.shape,
  ...tokensEnv.shape,
  ...operationsEnv.shape,
  ...smsEnv.shape,
  ...jobsEnv.shape,
});

/** Names of every environment variable the configuration reads (documented in `.env.example`). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * Parses and validates the environment into a {@link Config}. Pure: pass any `Record<string, string | undefined>`.
 *
 * Rules: `JWT_SECRET` (HS256, ≥32 bytes) or `JWT_PRIVATE_JWK` (EdDSA/ES256), `ENCRYPTION_KEY(S)`, and
 * `EMAIL_SALT`/`BLIND_INDEX_KEY` (≥16 bytes, sharing no key bytes with another secret) are required in every
 * environment (the local runtime generates development values). With `ENVIRONMENT=production`,
 * weak or placeholder secrets are refused, `APP_URL` (or `APP_DOMAIN`) must be https, and the cloud
 * services (Upstash Redis, MongoDB, QStash, Resend, Twilio) must be configured.
 *
 * Every section is checked, even after another one failed, so the one error names every offending
 * variable: first the malformed ones (in the order of the sections), then what each section's rules
 * refuse.
 *
 * With `options.secrets`, the configuration of one function granted exactly those secrets (least
 * privilege, `shared/config/grants.ts`): every other secret's variables are ignored and the
 * fields they feed throw `SecretWithheldError` when read. Without it, every secret is granted
 * (the local runtime, scripts, tests of the whole service).
 *
 * @throws ConfigError whose message names every offending variable and what it expects.
 */
export function parseConfig(
  source: Record<string, string | undefined>,
  options: { secrets?: readonly SecretName[] } = {},
): Config {
  if (options.secrets === undefined) return parseAll(source);
  return restrictConfig(parseAll(withholdSecrets(source, options.secrets)), options.secrets);
}

function parseAll(source: Record<string, string | undefined>): Config {
  const { env, problems, malformed } = parseEnvironment(envSchema, source);
  const production = env.ENVIRONMENT === "production";
  const appUrl = appUrlOf(env, { production });
  const sections = {
    service: parseService(env),
    http: parseHttp(env, { production }),
    jwt: parseJwt(env, { production, appUrl }),
    keys: parseKeys(env, { production }),
    password: parsePassword(env),
    stores: parseStores(env, { production }),
    providers: parseProviders(env, { production, appName: env.APP_NAME }),
    tokens: parseTokens(env, { production }),
    operations: parseOperations(env, { production }),
    smsRules: parseSms(env),
    jobs: parseJobs(env),
  };
  // A rule's problem with a malformed variable adds nothing: the variable is already named.
  const refused = Object.values(sections).flatMap((section) => section.problems);
  problems.push(...refused.filter((p) => !malformed.has(p.variable)).map(formatProblem));
  const values = valuesOf(sections);
  if (problems.length > 0 || values === undefined) throw new ConfigError(problems);
  return {
    ...values.service,
    ...values.http,
    ...values.jwt,
    ...values.keys,
    ...values.password,
    ...values.stores,
    ...values.providers,
    ...values.tokens,
    ...values.operations,
    ...values.smsRules,
    ...values.jobs,
  };
}
