/**
 * The password byte cap (`PASSWORD_MAX_BYTES`) in one small module: what the hasher and the
 * use-cases that set a password check, with one answer. No Argon2 here, so importing it loads
 * nothing heavy.
 */
import { AuthError } from "../errors";
import { utf8Encode } from "./encoding";

/**
 * Whether `password` is longer than `maxBytes` bytes of UTF-8. UTF-8 never has fewer bytes than
 * UTF-16 code units, so a long string is refused without encoding it.
 */
export function exceedsPasswordBytes(password: string, maxBytes: number): boolean {
  return password.length > maxBytes || utf8Encode(password).length > maxBytes;
}

/**
 * The one answer to a password over the byte cap: 422 `password_too_long`, with the cap (bytes of
 * UTF-8) in `max_bytes`. Used by the hasher and by the use-cases that set a password, so login,
 * registration, reset, change and deletion all answer it alike.
 */
export function passwordTooLong(maxBytes: number): AuthError {
  return new AuthError("password_too_long", {
    detail: `The password must be at most ${maxBytes} bytes (UTF-8)`,
    extensions: { max_bytes: maxBytes },
  });
}
