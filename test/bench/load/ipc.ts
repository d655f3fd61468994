/**
 * A tiny request/response protocol over a child process's IPC channel, so the benchmark can ask
 * its children for figures (CPU used, counters) at exact moments without touching their HTTP ports.
 * Messages: `{ id, type, payload }` → `{ id, ok: true, result }` | `{ id, ok: false, error }`.
 */
import type { ChildProcess } from "node:child_process";

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Handlers a child serves, by message type. */
export type Handlers = Record<string, (payload: unknown) => unknown>;

/**
 * The child side: answers every message from the parent with its handler's (awaited) result.
 * @throws Error when this process has no IPC channel (not spawned with `"ipc"` in `stdio`).
 */
export function serveIpc(handlers: Handlers): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("no IPC channel: spawn this script with stdio 'ipc'");
  process.on("message", (message: { id: number; type: string; payload?: unknown }) => {
    const handler = handlers[message.type];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown message type ${message.type}`);
        return handler(message.payload);
      })
      .then(
        (result) => send({ id: message.id, ok: true, result } satisfies Reply),
        (err: unknown) => send({ id: message.id, ok: false, error: String(err) } satisfies Reply),
      );
  });
}

/** The parent side: `call(type, payload)` resolves with the child's result. */
export function ipcClient(child: ChildProcess) {
  let next = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on("message", (reply: Reply) => {
    const entry = waiting.get(reply.id);
    if (entry === undefined) return;
    waiting.delete(reply.id);
    if (reply.ok) entry.resolve(reply.result);
    else entry.reject(new Error(reply.error));
  });
  child.once("exit", (code, signal) => {
    for (const entry of waiting.values()) entry.reject(new Error(`child exited (${code ?? signal})`));
    waiting.clear();
  });
  return {
    call<T>(type: string, payload?: unknown): Promise<T> {
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, type, payload });
      });
    },
  };
}
