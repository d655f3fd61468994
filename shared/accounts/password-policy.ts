/**
 * Password acceptance rules after NIST SP 800-63B §3.1.1.2 (rev. 4; rev. 3 §5.1.1.2): a minimum
 * length in characters, a generous maximum, no composition rules ("one digit, one symbol"), and
 * a check against lists of commonly used, expected or compromised values plus context-specific
 * words (the user's own names and email). The list check is zxcvbn (`@zxcvbn-ts/core` v4 with the
 * common and English dictionaries), which also catches keyboard walks, dates, repeats and l33t.
 *
 * Runtime-neutral (pure JS, no `node:*`). The dictionaries weigh several MB: only the functions
 * that set passwords should import this module.
 */
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary as commonDictionary } from "@zxcvbn-ts/language-common";
import { dictionary as englishDictionary, translations } from "@zxcvbn-ts/language-en";
import { utf8Encode } from "../crypto/encoding";
import { ConfigError } from "../errors";

/**
 * zxcvbn's cost grows steeply with length and with l33t characters (zxcvbn-ts issues #31, #164,
 * #228: crafted 50-character inputs took seconds, a server-side DoS). Only the first
 * {@link ANALYSED_CODE_POINTS} code points are scored, as Dropbox's zxcvbn README advises for
 * long inputs; a weak prefix still fails, and a strong prefix is strong whatever follows.
 */
export const ANALYSED_CODE_POINTS = 64;
/**
 * Cleaned variants the l33t matcher tries (library default 100). On a sample of l33t passwords
 * ("P@ssw0rd!", "Dr@g0nF1r3", "5up3rm4n!", ...) 4 gave the same scores as 100 at a fraction of the
 * worst-case time; 0 would disable l33t detection and let most of them pass.
 */
const L33T_MAX_SUBSTITUTIONS = 4;
/** Bounds the per-call user dictionary zxcvbn builds from the context. */
const MAX_CONTEXT_WORDS = 32;
const MAX_CONTEXT_WORD_CHARS = 100;
/** Shorter pieces of names and emails would match almost anywhere and say nothing. */
const MIN_CONTEXT_PIECE_CHARS = 3;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]+/gu;
const GENERIC_WEAK =
  "This password is too easy to guess. Add more words or characters that are hard to predict.";

/** Options of {@link createPasswordPolicy}. */
export interface PasswordPolicyOptions {
  /**
   * Fewest characters, counted as Unicode code points (NIST counts characters, not bytes).
   * NIST SP 800-63B rev. 4 asks for 15 when the password is the only factor, 8 with MFA.
   * @default 8 (the seed's rule; set by configuration)
   */
  minLength: number;
  /**
   * Most UTF-8 bytes accepted: caps the Argon2 input and request cost. 256 bytes admits 64 code
   * points of any script, which NIST says SHOULD be allowed. @default 256
   */
  maxBytes: number;
  /** Lowest acceptable zxcvbn score, 0 (too guessable) … 4 (very unguessable). @default 3 */
  minScore: number;
}

/**
 * Outcome of a check. `reasons` are short sentences for the user, drawn only from fixed texts
 * (zxcvbn's English translations and this module's length rules), so they never echo the password.
 */
export type PasswordCheck = { ok: true } | { ok: false; reasons: string[] };

/** A password policy built once per cold start. */
export interface PasswordPolicy {
  /**
   * Judges a candidate password. `context` holds the user's own words (first and last name, the
   * email or its local part, ...): passwords built from them score lower. Never throws for any
   * string input; the password is neither stored nor logged.
   */
  check(password: string, context: string[]): PasswordCheck;
}

let zxcvbn: ZxcvbnFactory | undefined;

/** Built on first use (~0.1–0.3 s: it ranks the dictionaries), then shared by every check in the instance. */
function estimator(): ZxcvbnFactory {
  zxcvbn ??= new ZxcvbnFactory({
    dictionary: { ...commonDictionary, ...englishDictionary },
    graphs: adjacencyGraphs,
    translations,
    l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
    maxLength: 2 * ANALYSED_CODE_POINTS, // UTF-16 units; we already cut at code points
  });
  return zxcvbn;
}

/**
 * The context words, their letter/digit runs and each one's part before "@" with separators
 * removed, lowercased: "john.doe@example.com" → john.doe@example.com, john, doe, example, com,
 * johndoe (people often glue their names together the way their mailbox does).
 */
function contextWords(context: string[]): string[] {
  const words = new Set<string>();
  const addPiece = (piece: string) => {
    if ([...piece].length >= MIN_CONTEXT_PIECE_CHARS) words.add(piece);
  };
  for (const raw of context) {
    const word = raw.trim().slice(0, MAX_CONTEXT_WORD_CHARS).toLowerCase();
    if (word.length === 0) continue;
    words.add(word);
    for (const piece of word.split(NOT_LETTER_OR_DIGIT)) addPiece(piece);
    addPiece((word.split("@", 1)[0] ?? "").replaceAll(NOT_LETTER_OR_DIGIT, ""));
  }
  return [...words].slice(0, MAX_CONTEXT_WORDS);
}

/**
 * Builds a {@link PasswordPolicy}. Rules, in order: at least `minLength` code points, at most
 * `maxBytes` UTF-8 bytes (a too-long password is not analysed at all), and a zxcvbn score of at
 * least `minScore` for its first {@link ANALYSED_CODE_POINTS} code points with `context` as user
 * inputs. Reasons come from zxcvbn's feedback (warning, then suggestions) and the length rules.
 * Unicode normalisation for hashing is the hasher's concern, not this module's.
 *
 * @throws ConfigError when an option is out of range (minLength ≥ 1, maxBytes ≥ 4·minLength,
 *   minScore 0–4, all integers).
 * @example
 * const policy = createPasswordPolicy({ minLength: 8, maxBytes: 256, minScore: 3 });
 * policy.check("johndoe1985", ["John", "Doe", "john.doe@example.com"]); // { ok: false, reasons: [...] }
 */
export function createPasswordPolicy(opts: PasswordPolicyOptions): PasswordPolicy {
  const { minLength, maxBytes, minScore } = opts;
  const problems: string[] = [];
  if (!Number.isInteger(minLength) || minLength < 1)
    problems.push("password minLength: expected an integer ≥ 1");
  // 4 bytes per code point at most: any password of minLength characters must fit under the cap.
  if (!Number.isInteger(maxBytes) || maxBytes < 4 * minLength)
    problems.push("password maxBytes: expected an integer ≥ 4 × minLength");
  if (!Number.isInteger(minScore) || minScore < 0 || minScore > 4)
    problems.push("password minScore: expected an integer from 0 to 4");
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    check(password, context) {
      if (utf8Encode(password).length > maxBytes) {
        return {
          ok: false,
          reasons: [
            `Use a shorter password: at most ${maxBytes} bytes (${maxBytes} ASCII characters, fewer in other scripts).`,
          ],
        };
      }
      const codePoints = [...password];
      const reasons: string[] = [];
      if (codePoints.length < minLength) reasons.push(`Use at least ${minLength} characters.`);
      if (codePoints.length > 0) {
        const analysed = codePoints.slice(0, ANALYSED_CODE_POINTS).join("");
        const result = estimator().check(analysed, contextWords(context));
        if (result.score < minScore) {
          const { warning, suggestions } = result.feedback;
          const feedback = [...(warning ? [warning] : []), ...suggestions];
          reasons.push(...(feedback.length > 0 ? feedback : [GENERIC_WEAK]));
        }
      }
      return reasons.length === 0 ? { ok: true } : { ok: false, reasons: [...new Set(reasons)] };
    },
  };
}
