/**
 * The kit's repair of the Deno kernel's message order: one implementation, used by the notebook
 * runner's client (`kernel.ts`) and by the kernel relay Jupyter starts (`relay.ts`).
 *
 * What Deno 2.9.6's kernel gets wrong, and what {@link OrderRepair} does about it:
 * - printed lines (`console.log`, `console.error`) travel through a queue inside the kernel and
 *   are labelled with the request running when they leave it, not when they were printed: under
 *   load a cell's last lines arrive labelled as the next request. So stream text is routed by
 *   position, not by label. When the kernel has finished a cell (reply and `status: idle`), a
 *   marker cell that prints one unique line is run (with the `console.log` that the setup cell,
 *   `setup.ts`, saved under {@link OrderRepair.logKey}, so a notebook that replaces
 *   `console.log` does not break it); stdout and stderr
 *   share the queue, so everything before the marker line was printed while that cell (or an
 *   earlier one) ran, everything after it later. A cell is complete when its reply, its idle,
 *   its marker line and its marker cell's idle have all arrived; a frontend sees its idle only
 *   then. Text that arrives when every cell is complete belongs to the last cell started (as
 *   ipykernel does: a timer set in cell k that prints while cell k+1 runs belongs to k+1);
 * - a cell's `execute_result` may arrive after its `status: idle`: it is still before the
 *   completion above (waiting for the marker cell's idle gives it that time);
 * - the marker cells' traffic is swallowed: their `execute_input`, status and replies never
 *   reach the frontend, and they run with `store_history: false`, which does not move the
 *   execution count.
 *
 * The class does no I/O: the caller feeds it the kernel's messages and acts on its events.
 * (What else the kit repairs lives beside the kernel process, in `inner.ts`: the setup cell
 * that reports throws in timers and unhandled rejections, and the diagnosis of a bare
 * "Execution failed".)
 *
 * @module
 */
import { type Header, helperContent, type Message, newHeader, OUTPUT_TYPES } from "./wire.ts";

/** What {@link OrderRepair} asks its caller to do. */
export type RepairEvent<C> =
  /** Show or record `msg` under `cell`; `rewritten` when it is not the kernel's message as sent. */
  | { type: "output"; cell: C; msg: Message; rewritten: boolean; late: boolean }
  /** The cell's `execute_reply` (a relay holds it until "complete"). */
  | { type: "reply"; cell: C; msg: Message }
  /** The kernel finished the cell: send this marker `execute_request` now. */
  | { type: "marker"; cell: C; header: Header; content: Record<string, unknown> }
  /** Every output of the cell has arrived. */
  | { type: "complete"; cell: C }
  /** An IOPub or shell message about a request the repair does not track. */
  | { type: "foreign"; msg: Message };

interface CellState<C> {
  ctx: C;
  request: Header;
  replied: boolean;
  idle: boolean;
  markerSent: boolean;
  markerIdle: boolean;
  markerSeen: boolean;
  complete: boolean;
  marker: string;
}

/**
 * Routes the Deno kernel's messages to the cells they belong to (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { OrderRepair, type RepairEvent } from "./repair.ts";
 * import { newHeader, type Message } from "./wire.ts";
 * const events: RepairEvent<string>[] = [];
 * const repair = new OrderRepair<string>((e) => events.push(e), "s");
 * const a = newHeader("execute_request", "s");
 * repair.start("A", a);
 * const msg = (type: string, parent: string, content: Record<string, unknown>): Message => ({
 *   identities: [], header: newHeader(type, "k"), parent_header: { msg_id: parent },
 *   metadata: {}, content, buffers: [],
 * });
 * repair.onShell(msg("execute_reply", a.msg_id, { status: "ok" }));
 * repair.onIopub(msg("status", a.msg_id, { execution_state: "idle" }));
 * const marker = events.find((e) => e.type === "marker")!;
 * assert.ok(marker.type === "marker");
 * const markerLine = /"(kit-end-of-cell-[^"]+)"/.exec(String(marker.content.code))![1];
 * // The cell's last line arrives labelled as the marker cell, before the marker line.
 * repair.onIopub(msg("stream", marker.header.msg_id, {
 *   name: "stdout", text: `tail\n${markerLine}\n`,
 * }));
 * repair.onIopub(msg("status", marker.header.msg_id, { execution_state: "idle" }));
 * const out = events.find((e) => e.type === "output")!;
 * assert.ok(out.type === "output" && out.cell === "A" && out.msg.content.text === "tail\n");
 * assert.equal(events.at(-1)?.type, "complete");
 * ```
 */
export class OrderRepair<C> {
  #emit: (e: RepairEvent<C>) => void;
  #session: string;
  #cells = new Map<string, CellState<C>>();
  #markers = new Map<string, CellState<C>>();
  /** Cells started whose marker line has not arrived yet, oldest first. */
  #open: CellState<C>[] = [];
  #last: CellState<C> | null = null;
  /**
   * The key under which the kernel's setup cell saved console.log (`Symbol.for(logKey)`): the
   * marker cells print with it. Pass it to the kernel's start (`InnerKernel.start`).
   */
  readonly logKey = `kit.log.${crypto.randomUUID()}`;

  /** `session` is put in the headers of marker requests. */
  constructor(emit: (e: RepairEvent<C>) => void, session: string) {
    this.#emit = emit;
    this.#session = session;
  }

  /** A user cell's `execute_request` (with this header) was sent to the kernel. */
  start(ctx: C, request: Header): void {
    const s: CellState<C> = {
      ctx,
      request,
      replied: false,
      idle: false,
      markerSent: false,
      markerIdle: false,
      markerSeen: false,
      complete: false,
      marker: `kit-end-of-cell-${crypto.randomUUID()}`,
    };
    this.#cells.set(request.msg_id, s);
    this.#open.push(s);
    this.#last = s;
  }

  /** True once every message of the cell has arrived. */
  isComplete(request: Header): boolean {
    return this.#cells.get(request.msg_id)?.complete ?? false;
  }

  /** Which of the cell's completion conditions are still missing (for error messages). */
  missing(request: Header): string[] {
    const s = this.#cells.get(request.msg_id);
    if (!s) return ["unknown cell"];
    const out: string[] = [];
    if (!s.replied) out.push("execute_reply");
    if (!s.idle) out.push("status: idle");
    if (!s.markerSeen) out.push("end-of-cell marker line");
    if (!s.markerIdle) out.push("marker cell idle");
    return out;
  }

  /** Forgets a cell (the kernel died or was restarted): its later messages are foreign. */
  forget(request: Header): void {
    const s = this.#cells.get(request.msg_id);
    if (!s) return;
    s.complete = true;
    this.#open = this.#open.filter((x) => x !== s);
    if (this.#last === s) this.#last = null;
  }

  /** Forgets every cell (after a kernel restart). */
  reset(): void {
    for (const s of this.#cells.values()) this.forget(s.request);
    this.#cells.clear();
    this.#markers.clear();
    this.#open = [];
    this.#last = null;
  }

  /** A message from the kernel's shell channel. */
  onShell(msg: Message): void {
    const parent = msg.parent_header?.msg_id ?? "";
    if (this.#markers.has(parent)) return; // kept: a marker's idle may still come after its reply
    const s = this.#cells.get(parent);
    if (s && msg.header.msg_type === "execute_reply") {
      s.replied = true;
      this.#emit({ type: "reply", cell: s.ctx, msg });
      this.#advance(s);
      return;
    }
    this.#emit({ type: "foreign", msg });
  }

  /** A message from the kernel's IOPub channel. */
  onIopub(msg: Message): void {
    const type = msg.header.msg_type;
    const parent = msg.parent_header?.msg_id ?? "";
    if (type === "stream") return this.#stream(msg);
    const marked = this.#markers.get(parent);
    if (marked) {
      if (type === "status" && msg.content.execution_state === "idle") {
        marked.markerIdle = true;
        this.#advance(marked);
      } else if (OUTPUT_TYPES.has(type)) {
        // e.g. a rejection reported while the marker cell ran: it belongs to the user's cell.
        this.#output(marked, msg, true);
      }
      return;
    }
    const s = this.#cells.get(parent);
    if (!s) return this.#emit({ type: "foreign", msg });
    if (type === "status" && msg.content.execution_state === "idle") {
      s.idle = true;
      this.#advance(s);
      return;
    }
    this.#output(s, msg, false);
  }

  #output(s: CellState<C>, msg: Message, relabel: boolean): void {
    const out = relabel ? { ...msg, parent_header: s.request } : msg;
    this.#emit({ type: "output", cell: s.ctx, msg: out, rewritten: relabel, late: s.complete });
  }

  #advance(s: CellState<C>): void {
    if (s.complete) return;
    if (s.replied && s.idle && !s.markerSent) {
      s.markerSent = true;
      const header = newHeader("execute_request", this.#session);
      this.#markers.set(header.msg_id, s);
      this.#emit({
        type: "marker",
        cell: s.ctx,
        header,
        content: helperContent(
          `(globalThis[Symbol.for(${JSON.stringify(this.logKey)})] ?? console.log)(${
            JSON.stringify(s.marker)
          });`,
        ),
      });
    }
    if (s.markerIdle && s.markerSeen) {
      s.complete = true;
      this.#emit({ type: "complete", cell: s.ctx });
    }
  }

  /** Splits stream text at marker lines and gives each piece to the cell it belongs to. */
  #stream(msg: Message): void {
    const name = msg.content.name === "stderr" ? "stderr" : "stdout";
    let text = String(msg.content.text ?? "");
    let piece = 0;
    const label = msg.parent_header?.msg_id ?? "";
    while (text) {
      const owner = this.#open[0] ?? this.#last;
      if (!owner) {
        if (this.#markers.has(label)) return;
        return this.#emit({ type: "foreign", msg });
      }
      const line = `${owner.marker}\n`;
      const at = owner === this.#open[0] && name === "stdout" ? text.indexOf(line) : -1;
      const mine = at < 0 ? text : text.slice(0, at);
      if (mine) {
        const whole = piece === 0 && at < 0 && label === owner.request.msg_id;
        const out: Message = whole ? msg : {
          ...msg,
          header: { ...msg.header, msg_id: piece === 0 ? msg.header.msg_id : crypto.randomUUID() },
          parent_header: owner.request,
          content: { ...msg.content, name, text: mine },
        };
        piece++;
        this.#emit({ type: "output", cell: owner.ctx, msg: out, rewritten: !whole, late: false });
      }
      if (at < 0) return;
      this.#open.shift();
      owner.markerSeen = true;
      this.#advance(owner);
      text = text.slice(at + line.length);
    }
  }
}
