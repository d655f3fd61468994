/**
 * Argon2id hash and verify cost at OWASP parameters (m=19456 KiB, t=2, p=1) on both backends.
 * Run: `npx tsx test/bench/password-hashing.ts`. Prints medians in ms; asserts nothing.
 * 1 warm-up + 10 measured iterations per operation, run sequentially (one core per hash).
 */
import { loadPasswordHasher, OWASP_ARGON2ID, type PasswordHasher } from "../../shared/crypto/password";

const ITERATIONS = 10;
const PASSWORD = "correct horse battery staple";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeMs(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: WASM compile, memory growth, JIT
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

async function measure(hasher: PasswordHasher): Promise<{ hashMs: number; verifyMs: number }> {
  const phc = await hasher.hash(PASSWORD);
  const hashMs = median(await timeMs(() => hasher.hash(PASSWORD)));
  const verifyMs = median(
    await timeMs(async () => {
      if (!(await hasher.verify(phc, PASSWORD))) throw new Error("verify returned false");
    }),
  );
  return { hashMs, verifyMs };
}

async function main(): Promise<void> {
  const { memoryKiB, iterations, parallelism } = OWASP_ARGON2ID;
  console.log(
    `Argon2id m=${memoryKiB} KiB, t=${iterations}, p=${parallelism}; median of ${ITERATIONS} (+1 warm-up)`,
  );
  const results: Record<string, { hashMs: number; verifyMs: number }> = {};
  for (const backend of ["native", "wasm"] as const) {
    const hasher = await loadPasswordHasher({ backend, params: OWASP_ARGON2ID, maxPasswordBytes: 1024 });
    results[backend] = await measure(hasher);
    const r = results[backend];
    console.log(
      `${backend.padEnd(6)}  hash ${r.hashMs.toFixed(1).padStart(7)} ms   verify ${r.verifyMs.toFixed(1).padStart(7)} ms`,
    );
  }
  const { native, wasm } = results;
  if (native !== undefined && wasm !== undefined) {
    console.log(
      `wasm/native  hash ×${(wasm.hashMs / native.hashMs).toFixed(1)}   verify ×${(wasm.verifyMs / native.verifyMs).toFixed(1)}`,
    );
  }
}

await main();
