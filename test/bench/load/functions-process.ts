/**
 * Child process of the load benchmark: the functions alone (the local runtime's HTTP server,
 * every manifest function), pointed at the stand-ins of another process through its environment
 * (`UPSTASH_REDIS_REST_URL`, `QSTASH_TOKEN`, `RESEND_API_KEY`, `TWILIO_SID` set: the runtime starts
 * none of its own). Answers `cpu` over IPC with its `process.cpuUsage()` (microseconds), so the
 * benchmark charges each scenario exactly this process's CPU. Stops on SIGTERM or when the parent
 * goes away. `profileStart` / `profileStop(file)` take a V8 CPU profile of a window (JSON to `file`).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { startLocalRuntime } from "../../../infra/local/runtime";
import { serveIpc } from "./ipc";

const runtime = await startLocalRuntime({ port: 0, persistRedis: false });
// V8's CPU profiler over one scenario's measured window (`--cpu-prof <dir>` of the benchmark),
// connected only when asked for, so an unprofiled run has no inspector session attached.
let inspector: Session | undefined;
serveIpc({
  url: () => runtime.url,
  cpu: () => process.cpuUsage(),
  profileStart: async () => {
    inspector ??= new Session();
    inspector.connect();
    await inspector.post("Profiler.enable");
    await inspector.post("Profiler.setSamplingInterval", { interval: 100 });
    await inspector.post("Profiler.start");
  },
  profileStop: async (file) => {
    if (!inspector) throw new Error("profileStop without profileStart");
    const { profile } = await inspector.post("Profiler.stop");
    inspector.disconnect();
    writeFileSync(String(file), JSON.stringify(profile));
  },
});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void runtime.stop().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.once("disconnect", stop);
process.send?.({ ready: true });
