import { ConfigError } from "../errors";
import { ALL_SECRETS, SECRET_ENV, type SecretName } from "./secrets";

/**
 * Least privilege for secrets (DESIGN.md §2): a function is granted the secrets its endpoint spec
 * lists (`secrets`), and its configuration holds nothing else. Every configuration field a secret
 * feeds is listed here; for a secret that is not granted, each of those fields becomes an accessor
 * that throws {@link SecretWithheldError}, so code that needs an ungranted secret fails loudly and
 * names the spec to fix, instead of running on a default (an unset `MONGO_URL` would otherwise mean
 * "use SQLite").
 */

/** A configuration field, as its path from the root of the configuration (one or two levels). */
type FieldPath = readonly [string] | readonly [string, string];

/** The configuration fields each secret feeds. A test checks that every secret variable is covered. */
export const SECRET_FIELDS: Record<SecretName, readonly FieldPath[]> = {
  // `JWT_PRIVATE_JWK` (EdDSA/ES256) is not an `sst.Secret` yet, and the JWKS function derives the
  // public key from it: it is not withheld with the HS256 secret.
  JwtSecret: [["jwt", "secret"]],
  EncryptionKey: [["encryption"]],
  EmailSalt: [["blindIndexKey"]],
  UpstashRedisRestUrl: [["redis", "restUrl"]],
  UpstashRedisRestToken: [["redis", "restToken"]],
  MongoUrl: [["store", "mongoUrl"]],
  QstashToken: [["qstash", "token"]],
  QstashCurrentSigningKey: [["qstash", "currentSigningKey"]],
  QstashNextSigningKey: [["qstash", "nextSigningKey"]],
  ResendApiKey: [["mail", "resendApiKey"]],
  TwilioSid: [
    ["sms", "twilioSid"],
    ["sms", "twilioNumber"],
  ],
  TwilioAuthToken: [["sms", "twilioAuthToken"]],
  OpsToken: [["opsToken"]],
};

/**
 * Variables that go with a secret: the same secret in another form (the key ring
 * `ENCRYPTION_KEYS` with `EncryptionKey`, `BLIND_INDEX_KEY` with `EmailSalt`) or what only its
 * holder needs (the SMS sender number with the Twilio account, which production otherwise requires
 * of every function). Withholding the secret withholds them too.
 */
const SIBLING_VARIABLES: Partial<Record<SecretName, readonly string[]>> = {
  EncryptionKey: ["ENCRYPTION_KEYS", "ENCRYPTION_ACTIVE_KEY_ID"],
  EmailSalt: ["BLIND_INDEX_KEY"],
  TwilioSid: ["TWILIO_NUMBER"],
};

/** A read of a configuration field fed by a secret this function was not granted. */
export class SecretWithheldError extends ConfigError {
  /** The `sst.Secret` name, e.g. `MongoUrl`. */
  readonly secret: SecretName;
  constructor(secret: SecretName) {
    super([
      `${SECRET_ENV[secret]}: secret ${secret} is not granted to this function ` +
        "(add it to `secrets` in its functions/<name>.endpoint.ts)",
    ]);
    this.name = "SecretWithheldError";
    this.secret = secret;
  }
}

/** Options of {@link restrictConfig}. */
export interface RestrictOptions {
  /** Called with the secret's name on every read of a granted secret's field (tests derive grants from it). */
  onSecretRead?: (secret: SecretName) => void;
}

/**
 * A view of `config` for a function granted `granted`: the fields of every other secret throw
 * {@link SecretWithheldError} when read; everything else reads through. Objects on a secret's path
 * are copied (the input is not changed); other values are shared.
 */
export function restrictConfig<C extends object>(
  config: C,
  granted: readonly SecretName[],
  options: RestrictOptions = {},
): C {
  const view: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  const grantedSet = new Set(granted);
  const copied = new Set<string>();
  for (const secret of ALL_SECRETS) {
    const isGranted = grantedSet.has(secret);
    if (isGranted && !options.onSecretRead) continue;
    for (const [top, field] of SECRET_FIELDS[secret]) {
      let holder = view;
      let key: string = top;
      if (field !== undefined) {
        // Copy the section object once, then define the accessor on the copy.
        if (!copied.has(top)) {
          view[top] = Object.defineProperties({}, Object.getOwnPropertyDescriptors(view[top] as object));
          copied.add(top);
        }
        holder = view[top] as Record<string, unknown>;
        key = field;
      }
      const value = isGranted ? holder[key] : undefined;
      Object.defineProperty(holder, key, {
        enumerable: true,
        configurable: true,
        get: isGranted
          ? () => {
              options.onSecretRead?.(secret);
              return value;
            }
          : () => {
              throw new SecretWithheldError(secret);
            },
      });
    }
  }
  return view as C;
}

/**
 * The environment a function with `granted` secrets parses: every other secret variable (and its
 * {@link SIBLING_VARIABLES}) removed and replaced by a generated stand-in that passes the format
 * rules, so the sections that require it still parse. The stand-ins are never readable: the parsed
 * configuration must then go through {@link restrictConfig}, which turns their fields into throwing
 * accessors. Fresh random values per call (WebCrypto): a stand-in is never a usable constant.
 */
export function withholdSecrets(
  source: Record<string, string | undefined>,
  granted: readonly SecretName[],
): Record<string, string | undefined> {
  const env = { ...source };
  const grantedSet = new Set(granted);
  for (const secret of ALL_SECRETS) {
    if (grantedSet.has(secret)) continue;
    for (const sibling of SIBLING_VARIABLES[secret] ?? []) delete env[sibling];
    Object.assign(env, standIns(secret));
  }
  return env;
}

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
const randomBase64 = (bytes: number) =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));

/** Values of the secret's format for its variables (never read: see {@link withholdSecrets}). */
function standIns(secret: SecretName): Record<string, string> {
  const variable = SECRET_ENV[secret];
  switch (secret) {
    case "EncryptionKey":
      return { [variable]: randomBase64(32) };
    case "UpstashRedisRestUrl":
      return { [variable]: "https://withheld.invalid" };
    case "MongoUrl":
      return { [variable]: "mongodb://withheld.invalid" };
    case "TwilioSid":
      // A number reserved for fiction (ITU-T E.164 "+1 555 01xx"), never dialled.
      return { [variable]: `AC${randomHex(16)}`, TWILIO_NUMBER: "+15555550100" };
    default:
      return { [variable]: randomHex(32) };
  }
}
