import { beforeAll, describe, expect, it } from "vitest";
import { utf8Encode } from "../../../shared/crypto/encoding";
import {
  type Argon2Backend,
  type Argon2Params,
  loadPasswordHasher,
  OWASP_ARGON2ID,
  type PasswordHasher,
} from "../../../shared/crypto/password";
import { createNativeArgon2 } from "../../../shared/crypto/password-native";
import { createWasmArgon2 } from "../../../shared/crypto/password-wasm";
import { parsePhc } from "../../../shared/crypto/phc";
import { AuthError, ConfigError } from "../../../shared/errors";

// phc-winner-argon2 src/test.c: argon2id, v=0x13, m=2^16 KiB, t=2, p=1, "password" / "somesalt".
const REFERENCE_PHC =
  "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
const FAST: Argon2Params = { memoryKiB: 1024, iterations: 1, parallelism: 1 };
const MAX_BYTES = 64;
const BACKENDS = ["native", "wasm"] as const;
type BackendName = (typeof BACKENDS)[number];

const load = (backend: BackendName, params: Argon2Params = FAST) =>
  loadPasswordHasher({ backend, params, maxPasswordBytes: MAX_BYTES });

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe("OWASP defaults", () => {
  it("are m=19456 KiB, t=2, p=1, 32-byte hash, 16-byte salt", () => {
    expect(OWASP_ARGON2ID).toEqual({
      memoryKiB: 19456,
      iterations: 2,
      parallelism: 1,
      hashLengthBytes: 32,
      saltLengthBytes: 16,
    });
  });
});

describe.each(BACKENDS)("Argon2id password hasher on the %s backend", (name) => {
  let hasher: PasswordHasher;
  let backend: Argon2Backend;

  beforeAll(async () => {
    hasher = await load(name);
    backend = name === "native" ? await createNativeArgon2() : createWasmArgon2();
  });

  it("loads the backend it was asked for", () => {
    expect(hasher.backend).toBe(name);
    expect(backend.name).toBe(name);
  });

  it("reproduces the phc-winner-argon2 reference vector byte for byte", async () => {
    const reference = {
      algorithm: "argon2id",
      memoryKiB: 65536,
      iterations: 2,
      parallelism: 1,
      hashLengthBytes: 32,
    } as const;
    const phc = await backend.hashEncoded(utf8Encode("password"), utf8Encode("somesalt"), reference);
    expect(phc).toBe(REFERENCE_PHC);
  });

  it("verifies the reference PHC string with its own parameters, and rejects a wrong password", async () => {
    expect(await hasher.verify(REFERENCE_PHC, "password")).toBe(true);
    expect(await hasher.verify(REFERENCE_PHC, "passwore")).toBe(false);
  });

  it("writes a PHC string with the configured parameters, a 16-byte salt and a 32-byte hash", async () => {
    const phc = await hasher.hash("correct horse battery staple");
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const parsed = parsePhc(phc)!;
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.hash).toHaveLength(32);
  });

  it("salts every hash: the same password hashes differently and both verify", async () => {
    const [a, b] = [await hasher.hash("same password"), await hasher.hash("same password")];
    expect(a).not.toBe(b);
    expect(await hasher.verify(a, "same password")).toBe(true);
    expect(await hasher.verify(b, "same password")).toBe(true);
  });

  it("rejects a wrong password, including a one-character change and the empty string", async () => {
    const phc = await hasher.hash("Tr0ub4dor&3");
    expect(await hasher.verify(phc, "Tr0ub4dor&4")).toBe(false);
    expect(await hasher.verify(phc, "")).toBe(false);
    expect(await hasher.verify(phc, "Tr0ub4dor&3")).toBe(true);
  });

  it("hashes the exact UTF-8 bytes: non-ASCII round-trips, no Unicode normalisation is applied", async () => {
    const phc = await hasher.hash("Zo\u00eb-密码-🦊");
    expect(await hasher.verify(phc, "Zo\u00eb-密码-🦊")).toBe(true);
    expect(await hasher.verify(phc, "Zoe\u0308-密码-🦊")).toBe(false);
  });

  it("stays correct under concurrent calls", async () => {
    const passwords = ["p0", "p1", "p2", "p3"];
    const hashes = await Promise.all(passwords.map((p) => hasher.hash(p)));
    const results = await Promise.all(hashes.map((h, i) => hasher.verify(h, passwords[i]!)));
    const crossed = await Promise.all(hashes.map((h, i) => hasher.verify(h, passwords[(i + 1) % 4]!)));
    expect(results).toEqual([true, true, true, true]);
    expect(crossed).toEqual([false, false, false, false]);
  });

  it("reads parameters in node-argon2's order (m,p,t) and legacy argon2i hashes", async () => {
    const phc = await hasher.hash("order");
    expect(await hasher.verify(phc.replace("m=1024,t=1,p=1", "m=1024,p=1,t=1"), "order")).toBe(true);
    const settings = {
      algorithm: "argon2i",
      memoryKiB: 1024,
      iterations: 2,
      parallelism: 1,
      hashLengthBytes: 32,
    } as const;
    const legacy = await backend.hashEncoded(utf8Encode("old"), new Uint8Array(16).fill(5), settings);
    expect(legacy.startsWith("$argon2i$v=19$")).toBe(true);
    expect(await hasher.verify(legacy, "old")).toBe(true);
    expect(hasher.needsRehash(legacy)).toBe(true);
  });

  it("returns false (never throws) for unparsable or unsupported PHC strings", async () => {
    const good = await hasher.hash("pw");
    const [, , , , salt, hash] = good.split("$");
    const bad = [
      "",
      "garbage",
      "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
      `$argon2id$v=16$m=1024,t=1,p=1$${salt}$${hash}`,
      `$argon2id$m=1024,t=1,p=1$${salt}$${hash}`,
      `$argon2id$v=19$m=1024,t=1$${salt}$${hash}`,
      `$argon2id$v=19$m=1024,t=1,p=1,t=1$${salt}$${hash}`,
      `$argon2id$v=19$m=1024,t=1,p=1,x=1$${salt}$${hash}`,
      `$argon2id$v=19$m=1024,t=1,p=1$${salt}=$${hash}`,
      `$argon2id$v=19$m=99999999,t=1,p=1$${salt}$${hash}`,
      `$argon2id$v=19$m=1024,t=1,p=1$${salt}$${hash!.slice(0, 16)}`,
      `$scrypt$v=19$m=1024,t=1,p=1$${salt}$${hash}`,
    ];
    for (const phc of bad) expect(await hasher.verify(phc, "pw")).toBe(false);
  });

  it("needsRehash is false for its own hashes and true when any parameter or the algorithm differs", async () => {
    const phc = await hasher.hash("pw");
    expect(hasher.needsRehash(phc)).toBe(false);
    for (const changed of [
      { ...FAST, memoryKiB: 2048 },
      { ...FAST, iterations: 2 },
      { ...FAST, parallelism: 2 },
      { ...FAST, hashLengthBytes: 48 },
      { ...FAST, saltLengthBytes: 32 },
    ]) {
      expect((await load(name, changed)).needsRehash(phc)).toBe(true);
    }
    expect(hasher.needsRehash("not a hash")).toBe(true);
    expect(hasher.needsRehash(REFERENCE_PHC)).toBe(true);
  });

  it("refuses a password over maxPasswordBytes (UTF-8 bytes, not characters) before hashing", async () => {
    const phc = await hasher.hash("a".repeat(MAX_BYTES));
    expect(await hasher.verify(phc, "a".repeat(MAX_BYTES))).toBe(true);
    expect(await hasher.hash("€".repeat(21))).toMatch(/^\$argon2id\$/); // 63 bytes
    for (const tooLong of ["a".repeat(MAX_BYTES + 1), "€".repeat(22), "x".repeat(100_000)]) {
      for (const attempt of [
        hasher.hash(tooLong),
        hasher.verify(phc, tooLong),
        hasher.dummyVerify(tooLong),
      ]) {
        const error = await rejection(attempt);
        expect(error.code).toBe("password_too_long");
        expect(error.status).toBe(422);
      }
    }
    // Same refusal whether or not the stored hash is usable: the length check comes first.
    expect((await rejection(hasher.verify("garbage", "a".repeat(65)))).code).toBe("password_too_long");
  });

  it("an empty password is refused by hash (invalid_password) and never verifies", async () => {
    expect((await rejection(hasher.hash(""))).code).toBe("invalid_password");
    // A hash of the empty password made elsewhere (native libargon2 allows it) still does not verify.
    const native = await createNativeArgon2();
    const settings = {
      algorithm: "argon2id",
      memoryKiB: 1024,
      iterations: 1,
      parallelism: 1,
      hashLengthBytes: 32,
    } as const;
    const emptyHash = await native.hashEncoded(new Uint8Array(0), new Uint8Array(16).fill(1), settings);
    expect(await hasher.verify(emptyHash, "")).toBe(false);
  });

  it("dummyVerify returns false for any password", async () => {
    expect(await hasher.dummyVerify("whatever")).toBe(false);
    expect(await hasher.dummyVerify("")).toBe(false);
  });
});

describe("the two backends are interchangeable", () => {
  it.each([
    ["native", "wasm"],
    ["wasm", "native"],
  ] as const)(
    "a PHC string written by %s verifies on %s (and a wrong password does not)",
    async (writer, reader) => {
      const phc = await (await load(writer)).hash("shared secret ✓");
      const verifier = await load(reader);
      expect(await verifier.verify(phc, "shared secret ✓")).toBe(true);
      expect(await verifier.verify(phc, "shared secret ✗")).toBe(false);
      expect(verifier.needsRehash(phc)).toBe(false);
    },
  );

  it("both backends produce the same raw hash for the same salt and settings", async () => {
    const settings = {
      algorithm: "argon2id",
      memoryKiB: 1024,
      iterations: 2,
      parallelism: 2,
      hashLengthBytes: 32,
    } as const;
    const salt = new Uint8Array(16).fill(9);
    const pw = utf8Encode("same");
    const native = await (await createNativeArgon2()).hashEncoded(pw, salt, settings);
    expect(await createWasmArgon2().hashEncoded(pw, salt, settings)).toBe(native);
  });
});

describe("loadPasswordHasher configuration", () => {
  it("auto loads the native backend where @node-rs/argon2 is installed (this machine)", async () => {
    const hasher = await loadPasswordHasher({ backend: "auto", params: FAST, maxPasswordBytes: 64 });
    expect(hasher.backend).toBe("native");
  });

  it.each([
    ["memory below 8 KiB per lane", { ...FAST, memoryKiB: 8, parallelism: 2 }],
    ["zero iterations", { ...FAST, iterations: 0 }],
    ["fractional memory", { ...FAST, memoryKiB: 1024.5 }],
    ["short hash", { ...FAST, hashLengthBytes: 8 }],
    ["short salt", { ...FAST, saltLengthBytes: 8 }],
  ])("rejects %s with ConfigError", async (_why, params) => {
    await expect(
      loadPasswordHasher({ backend: "wasm", params, maxPasswordBytes: 64 }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it("rejects a non-positive maxPasswordBytes with ConfigError", async () => {
    await expect(
      loadPasswordHasher({ backend: "wasm", params: FAST, maxPasswordBytes: 0 }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});
