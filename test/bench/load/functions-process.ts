/**
 * Child process of the load benchmark: the functions alone (the local runtime's HTTP server,
 * every manifest function), pointed at the stand-ins of another process through its environment
 * (`UPSTASH_REDIS_REST_URL`, `QSTASH_TOKEN`, `RESEND_API_KEY`, `TWILIO_SID` set: the runtime starts
 * none of its own). Answers `cpu` over IPC with its `process.cpuUsage()` (microseconds), so the
 * benchmark charges each scenario exactly this process's CPU. Stops on SIGTERM or when the parent
 * goes away.
 */
import { startLocalRuntime } from "../../../infra/local/runtime";
import { serveIpc } from "./ipc";

const runtime = await startLocalRuntime({ port: 0, persistRedis: false });
serveIpc({
  url: () => runtime.url,
  cpu: () => process.cpuUsage(),
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
