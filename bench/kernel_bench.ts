// Kernel client costs: start-up (spawn to the first kernel_info_reply and the setup cell) plus
// shutdown, and a trivial cell round trip (reply and every output, the marker included), timed in
// a child process (see _kernel_child.ts, also for the untimed cell between start-up and shutdown).
import { KernelChild } from "./_kernel_child.ts";
import { bench } from "./_stats.ts";

const child = new KernelChild();
globalThis.addEventListener("unload", () => child.kill());

bench({
  group: "kernel",
  name: "kernel: start + shutdown",
  n: 5,
  warmup: 1,
  fn: async () => await child.run({ cmd: "start" }),
});

bench({
  group: "kernel",
  name: "kernel: execute `1 + 1` (reply, outputs, end-of-cell marker)",
  n: 50,
  warmup: 5,
  fn: async () => await child.run({ cmd: "execute", code: "1 + 1" }),
});
