import { beforeAll, describe, expect, it } from "vitest";
import { base64UrlDecode, base64UrlEncode } from "../../../shared/crypto/encoding";
import {
  createKeyRing,
  type DataKey,
  dataKeyAad,
  envelopeKeyId,
  fieldAad,
  importDataKey,
  type KeyRing,
} from "../../../shared/crypto/envelope";
import { ConfigError, CryptoError } from "../../../shared/errors";

const key = (fill: number) => new Uint8Array(32).fill(fill);
const K1 = { id: "k1", key: key(1) };
const K2 = { id: "k2", key: key(2) };

/** Awaits a promise that must fail, returning the error. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

async function expectOpaqueCryptoError(promise: Promise<unknown>): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe("decryption_failed");
  expect((error as CryptoError).message).toBe(new CryptoError().message);
}

/** Rebuilds an envelope with one part's bytes changed. */
function flipByte(envelope: string, part: 2 | 3, index: number): string {
  const parts = envelope.split(".");
  const bytes = base64UrlDecode(parts[part]!);
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ 0x01;
  parts[part] = base64UrlEncode(bytes);
  return parts.join(".");
}

function replacePart(envelope: string, part: number, value: string): string {
  const parts = envelope.split(".");
  parts[part] = value;
  return parts.join(".");
}

describe("field envelopes (per-record data key)", () => {
  let ring: KeyRing;
  let dataKey: DataKey;
  const aad = fieldAad("User1", "usr_abc", "email");
  let envelope: string;

  beforeAll(async () => {
    ring = await createKeyRing({ keys: [K1], activeKeyId: "k1" });
    dataKey = await ring.unwrapDataKey(
      await ring.wrapDataKey(ring.generateDataKey(), dataKeyAad("User1", "usr_abc")),
      dataKeyAad("User1", "usr_abc"),
    );
    envelope = await dataKey.encryptField("alice@example.com", aad);
  });

  it("has the documented format v1.dk.<96-bit iv>.<ct||tag> and round-trips", async () => {
    expect(envelope).toMatch(/^v1\.dk\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(base64UrlDecode(envelope.split(".")[3]!).length).toBe("alice@example.com".length + 16);
    expect(await dataKey.decryptField(envelope, aad)).toBe("alice@example.com");
  });

  it("uses a fresh IV per encryption (same plaintext never gives the same envelope)", async () => {
    const again = await dataKey.encryptField("alice@example.com", aad);
    expect(again).not.toBe(envelope);
    expect(again.split(".")[2]).not.toBe(envelope.split(".")[2]);
  });

  it("round-trips empty and non-ASCII text", async () => {
    for (const text of ["", "Zoë Ångström 🦊", "x".repeat(5000)]) {
      expect(await dataKey.decryptField(await dataKey.encryptField(text, aad), aad)).toBe(text);
    }
  });

  it("tampering with any part (version, kid, iv, ciphertext, tag) gives the same opaque CryptoError", async () => {
    const tampered = [
      replacePart(envelope, 0, "v2"),
      replacePart(envelope, 1, "k1"),
      replacePart(envelope, 1, "zz"),
      flipByte(envelope, 2, 0),
      flipByte(envelope, 2, -1),
      flipByte(envelope, 3, 0), // first ciphertext byte
      flipByte(envelope, 3, -1), // last tag byte
      flipByte(envelope, 3, -16), // first tag byte
    ];
    for (const bad of tampered) {
      expect(bad).not.toBe(envelope);
      await expectOpaqueCryptoError(dataKey.decryptField(bad, aad));
    }
  });

  it("malformed strings (bad base64url, padding, wrong part count, empty) give the same CryptoError", async () => {
    const [v, kid, iv, ct] = envelope.split(".");
    const malformed = [
      "",
      "garbage",
      `${v}.${kid}.${iv}`,
      `${envelope}.extra`,
      `${v}.${kid}.${iv}.${ct}=`,
      `${v}.${kid}.${iv!.slice(0, -1)}!.${ct}`,
      `${v}.${kid}.${iv}.${ct!.slice(0, 10)}`,
      `${v}.${kid}.${iv!.slice(0, 8)}.${ct}`,
      `${v}..${iv}.${ct}`,
      ` ${envelope}`,
    ];
    for (const bad of malformed) await expectOpaqueCryptoError(dataKey.decryptField(bad, aad));
    await expectOpaqueCryptoError(dataKey.decryptField(undefined as unknown as string, aad));
  });

  it("a ciphertext copied to another record, field or user kind fails to decrypt", async () => {
    for (const other of [
      fieldAad("User1", "usr_abd", "email"),
      fieldAad("User1", "usr_abc", "phone"),
      fieldAad("User2", "usr_abc", "email"),
    ]) {
      await expectOpaqueCryptoError(dataKey.decryptField(envelope, other));
    }
  });

  it("another record's data key cannot open this record's fields", async () => {
    const otherKey = await importDataKey(ring.generateDataKey());
    await expectOpaqueCryptoError(otherKey.decryptField(envelope, aad));
  });

  it("the key ring cannot open a field envelope (kid dk is not a ring key)", async () => {
    await expectOpaqueCryptoError(ring.open(envelope, aad));
  });
});

describe("fieldAad / dataKeyAad encode the context unambiguously", () => {
  it("encodes kind, record and field and refuses separator or foreign characters", () => {
    expect(fieldAad("User1", "usr_a-B", "first_name")).toBe("User1|usr_a-B|first_name");
    expect(dataKeyAad("User2", "usr_x")).toBe("User2|usr_x");
    for (const [kind, id, field] of [
      ["User1|x", "usr_a", "email"],
      ["User1", "usr_a|email", "x"],
      ["User1", "usr_a", ""],
      ["", "usr_a", "email"],
      ["User1", "usr a", "email"],
      ["User1", "usr_a", "e.mail"],
    ]) {
      expect(() => fieldAad(kind!, id!, field!)).toThrow(TypeError);
    }
    expect(() => dataKeyAad("User1", "a:b")).toThrow(TypeError);
  });
});

describe("key ring: sealing, wrapping and rotation", () => {
  it("createKeyRing refuses bad sizes, duplicate or reserved ids and an unknown active id", async () => {
    const cases = [
      { keys: [{ id: "k1", key: new Uint8Array(16) }], activeKeyId: "k1" },
      { keys: [K1, { id: "k1", key: key(3) }], activeKeyId: "k1" },
      { keys: [K1], activeKeyId: "k9" },
      { keys: [{ id: "dk", key: key(3) }], activeKeyId: "dk" },
      { keys: [{ id: "bad.id", key: key(3) }], activeKeyId: "bad.id" },
      { keys: [], activeKeyId: "k1" },
    ];
    for (const spec of cases) await expect(createKeyRing(spec)).rejects.toBeInstanceOf(ConfigError);
  });

  it("exposes the active id and every key id", async () => {
    const ring = await createKeyRing({ keys: [K1, K2], activeKeyId: "k2" });
    expect(ring.activeKeyId).toBe("k2");
    expect(ring.keyIds).toEqual(["k1", "k2"]);
    expect(ring.generateDataKey()).toHaveLength(32);
  });

  it("seal/open round-trip bytes and text under the active key, bound to the AAD", async () => {
    const ring = await createKeyRing({ keys: [K1, K2], activeKeyId: "k2" });
    const sealed = await ring.seal("sms:+15551234567", "qstash|sms|msg_1");
    expect(envelopeKeyId(sealed)).toBe("k2");
    expect(await ring.openText(sealed, "qstash|sms|msg_1")).toBe("sms:+15551234567");
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(await ring.open(await ring.seal(bytes, "a"), "a")).toEqual(bytes);
    await expectOpaqueCryptoError(ring.open(sealed, "qstash|sms|msg_2"));
  });

  it("tampering with a ring envelope, or pointing its kid at another ring key, gives CryptoError", async () => {
    const ring = await createKeyRing({ keys: [K1, K2], activeKeyId: "k2" });
    const sealed = await ring.seal("payload", "ctx");
    for (const bad of [
      replacePart(sealed, 1, "k1"),
      replacePart(sealed, 1, "k3"),
      replacePart(sealed, 0, "v0"),
      flipByte(sealed, 2, 3),
      flipByte(sealed, 3, 1),
      flipByte(sealed, 3, -1),
    ]) {
      await expectOpaqueCryptoError(ring.open(bad, "ctx"));
    }
  });

  it("a sealed message cannot pass for a wrapped data key, nor the reverse (domain separation)", async () => {
    const ring = await createKeyRing({ keys: [K1], activeKeyId: "k1" });
    const aad = dataKeyAad("User1", "usr_abc");
    const sealedKey = await ring.seal(ring.generateDataKey(), aad);
    await expectOpaqueCryptoError(ring.unwrapDataKey(sealedKey, aad));
    const wrapped = await ring.wrapDataKey(ring.generateDataKey(), aad);
    await expectOpaqueCryptoError(ring.open(wrapped, aad));
  });

  it("a wrapped data key copied to another record or kind fails to unwrap", async () => {
    const ring = await createKeyRing({ keys: [K1], activeKeyId: "k1" });
    const wrapped = await ring.wrapDataKey(ring.generateDataKey(), dataKeyAad("User1", "usr_abc"));
    await expectOpaqueCryptoError(ring.unwrapDataKey(wrapped, dataKeyAad("User1", "usr_xyz")));
    await expectOpaqueCryptoError(ring.unwrapDataKey(wrapped, dataKeyAad("User2", "usr_abc")));
    await expectOpaqueCryptoError(ring.rewrapDataKey(wrapped, dataKeyAad("User2", "usr_abc")));
  });

  it("wrapDataKey refuses a data key that is not 32 bytes", async () => {
    const ring = await createKeyRing({ keys: [K1], activeKeyId: "k1" });
    await expect(ring.wrapDataKey(new Uint8Array(16), "x")).rejects.toThrow(RangeError);
  });

  it("rotation: data written under k1 still decrypts when k2 is active; rewrap moves the key to k2", async () => {
    const aadKey = dataKeyAad("User1", "usr_rot");
    const aadEmail = fieldAad("User1", "usr_rot", "email");
    const ring1 = await createKeyRing({ keys: [K1], activeKeyId: "k1" });
    const wrappedK1 = await ring1.wrapDataKey(ring1.generateDataKey(), aadKey);
    const emailEnvelope = await (await ring1.unwrapDataKey(wrappedK1, aadKey)).encryptField(
      "bob@example.com",
      aadEmail,
    );
    const sealedK1 = await ring1.seal("queued message", "msg");
    expect(envelopeKeyId(wrappedK1)).toBe("k1");

    const ring2 = await createKeyRing({ keys: [K1, K2], activeKeyId: "k2" });
    expect(await (await ring2.unwrapDataKey(wrappedK1, aadKey)).decryptField(emailEnvelope, aadEmail)).toBe(
      "bob@example.com",
    );
    expect(await ring2.openText(sealedK1, "msg")).toBe("queued message");

    const wrappedK2 = await ring2.rewrapDataKey(wrappedK1, aadKey);
    expect(envelopeKeyId(wrappedK2)).toBe("k2");
    expect(await ring2.rewrapDataKey(wrappedK2, aadKey)).toBe(wrappedK2);

    // k1 retired: the re-wrapped key still opens the untouched field envelope; the old one does not.
    const ring3 = await createKeyRing({ keys: [K2], activeKeyId: "k2" });
    expect(await (await ring3.unwrapDataKey(wrappedK2, aadKey)).decryptField(emailEnvelope, aadEmail)).toBe(
      "bob@example.com",
    );
    await expectOpaqueCryptoError(ring3.unwrapDataKey(wrappedK1, aadKey));
  });

  it("a key with the same id but different bytes cannot open old envelopes", async () => {
    const ring = await createKeyRing({ keys: [K1], activeKeyId: "k1" });
    const sealed = await ring.seal("x", "ctx");
    const impostor = await createKeyRing({ keys: [{ id: "k1", key: key(9) }], activeKeyId: "k1" });
    await expectOpaqueCryptoError(impostor.open(sealed, "ctx"));
  });
});

describe("envelopeKeyId", () => {
  it("reads the kid of a v1 envelope and nothing else", () => {
    expect(envelopeKeyId("v1.k7.AAAA.BBBB")).toBe("k7");
    expect(envelopeKeyId("v2.k7.AAAA.BBBB")).toBeUndefined();
    expect(envelopeKeyId("v1.k7.AAAA")).toBeUndefined();
    expect(envelopeKeyId("nonsense")).toBeUndefined();
  });
});
