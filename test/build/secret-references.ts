import { SECRET_ENV, type SecretName } from "../../infra/functions";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The secrets a bundled function can read, found in its bundle's text: a secret counts when the
 * bundle names its environment variable as a whole word (`JWT_SECRET`, as `shared/config` reads
 * `process.env`) or reads it as an SST link (`Resource.JwtSecret`, `Resource["JwtSecret"]`, the
 * `sst` SDK's form; esbuild may suffix the binding, `Resource2`). Names survive bundling and
 * minification as property keys and strings, so an absent name means the function cannot read it
 * by that name; a computed name (`process.env[prefix + "SECRET"]`) would escape this check.
 *
 * @param code the text of one function bundle (all its chunks joined when split).
 * @returns secret names in {@link SECRET_ENV} order.
 */
export function secretsReadBy(code: string): SecretName[] {
  return (Object.entries(SECRET_ENV) as [SecretName, string][])
    .filter(([name, env]) => {
      const envName = new RegExp(`\\b${escapeRegExp(env)}\\b`);
      const link = new RegExp(
        `\\bResource\\d*\\s*(?:\\.\\s*${escapeRegExp(name)}\\b|\\[\\s*["'\`]${escapeRegExp(name)}["'\`]\\s*\\])`,
      );
      return envName.test(code) || link.test(code);
    })
    .map(([name]) => name);
}
