import { MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import {
  duplicateCodeOf,
  EMAIL_INDEX_NAME,
  fromUserDoc,
  isDuplicateKeyError,
  toSetDoc,
  toUserDoc,
  type UserDoc,
} from "../../shared/adapters/mongo-user-doc";
import type { UserPatch } from "../../shared/ports/user-store";
import { makeRecord } from "../contract/user-store.contract";

/** A duplicate-key error as the v7 driver raises it from an insert's first write error. */
function e11000(fields: Record<string, unknown>): MongoServerError {
  return new MongoServerError({ index: 0, code: 11000, ...fields });
}

describe("mongo user document mapping", () => {
  it("maps a record to a document with the id as _id and back without loss", () => {
    const record = makeRecord({ country: null, emailVerified: true });
    const doc = toUserDoc(record);
    expect(doc._id).toBe(record.id);
    expect(Object.hasOwn(doc, "id")).toBe(false);
    expect(fromUserDoc(doc)).toStrictEqual(record);
  });

  it("never copies foreign fields of a stored document into a record", () => {
    const record = makeRecord();
    const doc = { ...toUserDoc(record), role: "admin", $where: "1" } as UserDoc;
    expect(fromUserDoc(doc)).toStrictEqual(record);
  });

  it("reads a document without country as country null", () => {
    const { country: _omitted, ...doc } = toUserDoc(makeRecord());
    expect(fromUserDoc(doc as UserDoc).country).toBeNull();
  });

  it("builds $set from patch fields only, plus updatedAtMs, skipping undefined values", () => {
    expect(
      toSetDoc({ firstName: "v1.k.a.b", country: null, emailVerified: false, lastName: undefined }, 42),
    ).toEqual({ firstName: "v1.k.a.b", country: null, emailVerified: false, updatedAtMs: 42 });
  });

  it("refuses to $set id, emailIndex, version, an unknown field or an operator object", () => {
    for (const patch of [
      { _id: "x" },
      { emailIndex: "x" },
      { version: 9 },
      { role: "admin" },
      { $set: {} },
    ]) {
      expect(() => toSetDoc(patch as UserPatch, 1)).toThrow(TypeError);
    }
    expect(() => toSetDoc({ firstName: { $gt: "" } } as unknown as UserPatch, 1)).toThrow(TypeError);
  });
});

describe("mongo duplicate-key classification", () => {
  it("maps E11000 on the email index to duplicate_email by keyPattern", () => {
    const error = e11000({
      keyPattern: { emailIndex: 1 },
      keyValue: { emailIndex: "abc" },
      errmsg: "E11000",
    });
    expect(duplicateCodeOf(error)).toBe("duplicate_email");
  });

  it("maps E11000 on _id to duplicate_id by keyPattern", () => {
    expect(duplicateCodeOf(e11000({ keyPattern: { _id: 1 }, keyValue: { _id: "usr_x" } }))).toBe(
      "duplicate_id",
    );
  });

  it("falls back to the index name in the message when keyPattern is absent", () => {
    const email = `E11000 duplicate key error collection: auth.users_User1 index: ${EMAIL_INDEX_NAME} dup key: { emailIndex: "a" }`;
    const id =
      'E11000 duplicate key error collection: auth.users_User1 index: _id_ dup key: { _id: "usr_x" }';
    expect(duplicateCodeOf(e11000({ errmsg: email }))).toBe("duplicate_email");
    expect(duplicateCodeOf(e11000({ errmsg: id }))).toBe("duplicate_id");
  });

  it("recognises a bare E11000 that names no index (FerretDB v1) as a duplicate it cannot classify", () => {
    const bare = e11000({ errmsg: "E11000 duplicate key error collection: auth.users_User1" });
    expect(isDuplicateKeyError(bare)).toBe(true);
    expect(duplicateCodeOf(bare)).toBeNull();
    expect(isDuplicateKeyError(new MongoServerError({ code: 112, errmsg: "WriteConflict" }))).toBe(false);
    expect(isDuplicateKeyError("E11000")).toBe(false);
  });

  it("does not treat other errors, or duplicates on unknown indexes, as duplicates", () => {
    expect(duplicateCodeOf(new MongoServerError({ code: 112, errmsg: "WriteConflict" }))).toBeNull();
    expect(
      duplicateCodeOf(e11000({ keyPattern: { other: 1 }, errmsg: "index: other_1 dup key" })),
    ).toBeNull();
    expect(duplicateCodeOf(new Error("E11000 index: _id_ dup key"))).toBeNull();
    expect(duplicateCodeOf(null)).toBeNull();
    expect(duplicateCodeOf("E11000")).toBeNull();
  });
});
