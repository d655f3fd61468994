import { nodeAesGcm } from "../../shared/adapters/node-aes-gcm";
import { type AesGcmCipher, importAesGcmKey, randomIv, webCryptoAesGcm } from "../../shared/crypto/aes-gcm";

/**
 * AES-256-GCM decryption of a cached-profile-sized envelope body (300 bytes) with each of the two
 * implementations (`webCryptoAesGcm`, Node functions' `nodeAesGcm`): CPU and wall time per call,
 * in microseconds, medians of 5 rounds of 20 000 calls, the two interleaved. Prints; asserts
 * nothing. Run: `npx tsx test/bench/aes-gcm.ts` (or `npm run bench`).
 */
const CALLS = 20_000;
const ROUNDS = 5;
const key = await importAesGcmKey(crypto.getRandomValues(new Uint8Array(32)));
const iv = randomIv();
const aad = new TextEncoder().encode("v1.k1.seal|User1:usr_bench");
const sealed = await webCryptoAesGcm.encrypt(key, iv, crypto.getRandomValues(new Uint8Array(300)), aad);

async function round(cipher: AesGcmCipher): Promise<{ cpuUs: number; wallUs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) await cipher.decrypt(key, iv, sealed, aad);
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / CALLS, wallUs: ((performance.now() - start) * 1000) / CALLS };
}

const implementations = { WebCrypto: webCryptoAesGcm, "node:crypto": nodeAesGcm };
const results = new Map<string, { cpuUs: number; wallUs: number }[]>();
for (const cipher of Object.values(implementations)) await round(cipher); // warm-up
for (let r = 0; r < ROUNDS; r++)
  for (const [name, cipher] of Object.entries(implementations))
    results.set(name, [...(results.get(name) ?? []), await round(cipher)]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`AES-256-GCM decrypt, 300-byte body, median of ${ROUNDS} interleaved rounds of ${CALLS} calls:`);
for (const [name, rounds] of results)
  console.log(
    `  ${name.padEnd(12)} ${median(rounds.map((x) => x.cpuUs)).toFixed(1)} µs CPU, ${median(rounds.map((x) => x.wallUs)).toFixed(1)} µs wall per call`,
  );
