// The ordering repair (tools/jupyter/repair.ts) on message sequences written by hand, modelled on
// what Deno 2.9.6's kernel was seen sending. No kernel: these run in milliseconds.
import assert from "node:assert/strict";
import { OrderRepair, type RepairEvent } from "../tools/jupyter/repair.ts";
import { type Header, type Message, newHeader } from "../tools/jupyter/wire.ts";

function msg(type: string, parent: string, content: Record<string, unknown> = {}): Message {
  return {
    identities: [],
    header: newHeader(type, "kernel"),
    parent_header: parent ? { msg_id: parent } : {},
    metadata: {},
    content,
    buffers: [],
  };
}

/** A repair with its events recorded, and helpers to play the kernel's side. */
function setup() {
  const events: RepairEvent<string>[] = [];
  const repair = new OrderRepair<string>((e) => events.push(e), "client");
  const requests = new Map<string, Header>();
  const markers = new Map<string, { id: string; line: string }>();
  return {
    events,
    repair,
    start(cell: string) {
      const h = newHeader("execute_request", "client");
      requests.set(cell, h);
      repair.start(cell, h);
      return h.msg_id;
    },
    /** Reply + idle for the cell; returns its marker request id and marker line. */
    finish(cell: string) {
      const id = requests.get(cell)!.msg_id;
      repair.onShell(msg("execute_reply", id, { status: "ok" }));
      repair.onIopub(msg("status", id, { execution_state: "idle" }));
      const m = events.findLast((e) => e.type === "marker" && e.cell === cell);
      assert.ok(m && m.type === "marker", `a marker request for ${cell}`);
      const line = /"(kit-end-of-cell-[^"]+)"/.exec(String(m.content.code))![1];
      const marker = { id: m.header.msg_id, line };
      markers.set(cell, marker);
      return marker;
    },
    /** Streams of each cell, as `cell: text` pieces in arrival order. */
    streams() {
      return events.flatMap((e) =>
        e.type === "output" && e.msg.header.msg_type === "stream"
          ? [`${e.cell}:${e.msg.content.name}:${e.msg.content.text}`]
          : []
      );
    },
    completed() {
      return events.flatMap((e) => e.type === "complete" ? [e.cell] : []);
    },
  };
}

Deno.test("repair: a cell's tail labelled as its marker cell goes back to the cell", () => {
  const s = setup();
  const a = s.start("A");
  s.repair.onIopub(msg("stream", a, { name: "stdout", text: "a1\n" }));
  const m = s.finish("A");
  // The kernel sent the rest of A's lines labelled as the marker request, with the marker line.
  s.repair.onIopub(msg("stream", m.id, { name: "stdout", text: `a2\n${m.line}\n` }));
  s.repair.onIopub(msg("stream", m.id, { name: "stderr", text: "never mind\n" }));
  assert.deepEqual(s.completed(), []);
  s.repair.onIopub(msg("status", m.id, { execution_state: "idle" }));
  assert.deepEqual(s.completed(), ["A"]);
  assert.deepEqual(s.streams(), ["A:stdout:a1\n", "A:stdout:a2\n", "A:stderr:never mind\n"]);
  // The rewritten stream names A's request as parent (a frontend files it under A).
  const rewritten = s.events.filter((e) => e.type === "output" && e.rewritten);
  assert.equal(rewritten.length, 2);
  for (const e of rewritten) {
    assert.ok(e.type === "output" && e.msg.parent_header.msg_id === a);
  }
});

Deno.test("repair: lines after a marker belong to the next cell, whatever their label", () => {
  const s = setup();
  s.start("A");
  const m = s.finish("A");
  const b = s.start("B");
  // One chunk: the marker line, then a line a timer of A printed while B ran, labelled A's marker.
  s.repair.onIopub(msg("stream", m.id, { name: "stdout", text: `${m.line}\ntimer of A\n` }));
  s.repair.onIopub(msg("stream", b, { name: "stdout", text: "b\n" }));
  assert.deepEqual(s.streams(), ["B:stdout:timer of A\n", "B:stdout:b\n"]);
});

Deno.test("repair: an execute_result after the cell's idle still lands before completion", () => {
  const s = setup();
  const a = s.start("A");
  const m = s.finish("A");
  s.repair.onIopub(msg("stream", m.id, { name: "stdout", text: `${m.line}\n` }));
  s.repair.onIopub(msg("execute_result", a, { data: { "text/plain": "42" } }));
  assert.deepEqual(s.completed(), []);
  s.repair.onIopub(msg("status", m.id, { execution_state: "idle" }));
  const kinds = s.events.map((e) => e.type);
  assert.ok(kinds.indexOf("output") < kinds.indexOf("complete"));
  const late = s.events.filter((e) => e.type === "output" && e.late);
  assert.equal(late.length, 0);
});

Deno.test("repair: the marker cell's own traffic never shows; it prints with the saved log", () => {
  const s = setup();
  s.start("A");
  const m = s.finish("A");
  const marker = s.events.find((e) => e.type === "marker");
  assert.ok(marker?.type === "marker");
  assert.ok(
    String(marker.content.code).startsWith(
      `(globalThis[Symbol.for(${JSON.stringify(s.repair.logKey)})] ?? console.log)(`,
    ),
  );
  assert.equal(marker.content.store_history, false, "a marker does not move In [n]");
  s.repair.onIopub(msg("status", m.id, { execution_state: "busy" }));
  s.repair.onIopub(msg("execute_input", m.id, { code: "console.log(...)" }));
  s.repair.onShell(msg("execute_reply", m.id, { status: "ok" }));
  s.repair.onIopub(msg("stream", m.id, { name: "stdout", text: `${m.line}\n` }));
  s.repair.onIopub(msg("status", m.id, { execution_state: "idle" }));
  assert.deepEqual(
    s.events.map((e) => e.type),
    ["reply", "marker", "complete"],
    "only A's reply, the marker to send, and A's completion",
  );
});

Deno.test("repair: an error reported while the marker cell ran belongs to the user's cell", () => {
  const s = setup();
  const a = s.start("A");
  const m = s.finish("A");
  s.repair.onIopub(msg("error", m.id, { ename: "Error", evalue: "rejected", traceback: [] }));
  const out = s.events.find((e) => e.type === "output");
  assert.ok(out && out.type === "output" && out.cell === "A");
  assert.equal(out.msg.parent_header.msg_id, a);
});

Deno.test("repair: text when every cell is complete goes to the last cell; unknown outputs are foreign", () => {
  const s = setup();
  s.start("A");
  const m = s.finish("A");
  s.repair.onIopub(msg("stream", m.id, { name: "stdout", text: `${m.line}\n` }));
  s.repair.onIopub(msg("status", m.id, { execution_state: "idle" }));
  s.repair.onIopub(msg("stream", m.id, { name: "stdout", text: "idle-time line\n" }));
  assert.deepEqual(s.streams(), ["A:stdout:idle-time line\n"]);
  s.repair.onIopub(msg("display_data", "somebody-else", { data: {} }));
  s.repair.onIopub(msg("execute_result", "", { data: {} }));
  assert.deepEqual(
    s.events.filter((e) => e.type === "foreign").map((e) =>
      e.type === "foreign" && e.msg.header.msg_type
    ),
    ["display_data", "execute_result"],
  );
  assert.deepEqual(s.repair.missing({ msg_id: "nope" } as Header), ["unknown cell"]);
});

Deno.test("repair: without a stream before any cell starts, a stream is foreign", () => {
  const s = setup();
  s.repair.onIopub(msg("stream", "x", { name: "stdout", text: "who?\n" }));
  assert.equal(s.events[0].type, "foreign");
});
