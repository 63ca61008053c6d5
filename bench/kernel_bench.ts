// Kernel client costs: start-up (spawn to first kernel_info_reply) and a trivial cell round trip.
import { Kernel } from "../tools/kernel.ts";

Deno.bench({
  name: "kernel: start + shutdown",
  group: "kernel",
  n: 5,
  warmup: 1,
  async fn() {
    const k = await Kernel.start();
    await k.shutdown();
  },
});

const shared = await Kernel.start();
Deno.bench({
  name: "kernel: execute `1 + 1` (reply + idle)",
  group: "kernel",
  n: 50,
  warmup: 5,
  async fn() {
    const r = await shared.execute("1 + 1");
    if (r.status !== "ok") throw new Error(`cell failed: ${r.status}`);
  },
});
globalThis.addEventListener("unload", () => shared.killSync());
