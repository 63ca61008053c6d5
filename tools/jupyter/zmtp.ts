/**
 * A small ZeroMQ (ZMTP 3.0, NULL security, TCP) implementation in TypeScript for the kernel
 * relay: ROUTER, DEALER, PUB, SUB and REP sockets, as much of them as Jupyter's channels use.
 *
 * Why not npm `zeromq`: under Deno 2.9.6 its sockets, several of them busy at once, stalled (a
 * frontend's request sat unread in a ROUTER until another message came) or crashed the process
 * (SIGSEGV in the addon's poller), which a relay with nine busy sockets hit within seconds. This
 * code runs on Deno's own TCP and has no native part.
 *
 * Not implemented (Jupyter does not need them here): CURVE/PLAIN security, IPC transport,
 * topic filtering on PUB (every subscriber gets every message, as Jupyter subscribes to all),
 * high-water marks (queues are unbounded).
 *
 * @module
 */

/** The socket types implemented. */
export type SocketType = "ROUTER" | "DEALER" | "PUB" | "SUB" | "REP";

const enc = new TextEncoder();

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3; // version 3.0: subscriptions travel as messages (0x01 + topic)
  g[11] = 0;
  g.set(enc.encode("NULL"), 12);
  return g;
}

function frame(body: Uint8Array, more: boolean, command = false): Uint8Array {
  const long = body.length > 255;
  const head = new Uint8Array(long ? 9 : 2);
  head[0] = (more ? 1 : 0) | (long ? 2 : 0) | (command ? 4 : 0);
  if (long) new DataView(head.buffer).setBigUint64(1, BigInt(body.length));
  else head[1] = body.length;
  return concat(head, body);
}

function readyCommand(type: SocketType, identity?: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([5]), enc.encode("READY")];
  const prop = (name: string, value: Uint8Array) => {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, value.length);
    parts.push(new Uint8Array([name.length]), enc.encode(name), v, value);
  };
  prop("Socket-Type", enc.encode(type));
  if (identity && (type === "DEALER")) prop("Identity", identity);
  return frame(parts.reduce(concat, new Uint8Array()), false, true);
}

function parseReady(body: Uint8Array): Map<string, Uint8Array> {
  const props = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  const nameLen = body[0];
  if (dec.decode(body.subarray(1, 1 + nameLen)) !== "READY") return props;
  let i = 1 + nameLen;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  while (i < body.length) {
    const n = body[i];
    const name = dec.decode(body.subarray(i + 1, i + 1 + n));
    const len = view.getUint32(i + 1 + n);
    props.set(name, body.slice(i + 5 + n, i + 5 + n + len));
    i += 5 + n + len;
  }
  return props;
}

/** One ZMTP connection: handshake, then whole messages in and out. */
class Peer {
  conn: Deno.Conn;
  identity: Uint8Array = new Uint8Array();
  #buf: Uint8Array = new Uint8Array();
  #writing: Promise<void> = Promise.resolve();
  closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  async #fill(n: number, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
    while (this.#buf.length < n) {
      const { value, done } = await reader.read();
      if (done || !value) return false;
      this.#buf = concat(this.#buf, value);
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  write(bytes: Uint8Array): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (this.closed) return;
      let off = 0;
      while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
    }).catch(() => this.close());
    return this.#writing;
  }

  send(frames: Uint8Array[]): Promise<void> {
    const parts = frames.map((f, i) => frame(f, i < frames.length - 1));
    return this.write(parts.reduce(concat, new Uint8Array()));
  }

  /** Handshakes, then calls `onMessage` for every message until the connection ends. */
  async run(
    type: SocketType,
    identity: Uint8Array | undefined,
    onMessage: (frames: Uint8Array[]) => void,
    onReady: () => void,
  ): Promise<void> {
    const reader = this.conn.readable.getReader();
    try {
      await this.write(concat(greeting(), readyCommand(type, identity)));
      if (!await this.#fill(64, reader)) return;
      const g = this.#take(64);
      if (g[0] !== 0xff || g[9] !== 0x7f || g[10] < 3) return; // not ZMTP 3
      let message: Uint8Array[] = [];
      while (true) {
        if (!await this.#fill(2, reader)) return;
        const flags = this.#buf[0];
        let size: number;
        if (flags & 2) {
          if (!await this.#fill(9, reader)) return;
          size = Number(new DataView(this.#buf.buffer, this.#buf.byteOffset).getBigUint64(1));
          this.#take(9);
        } else {
          size = this.#buf[1];
          this.#take(2);
        }
        if (!await this.#fill(size, reader)) return;
        const body = this.#take(size);
        if (flags & 4) {
          const props = parseReady(body);
          const id = props.get("Identity");
          if (id && id.length) this.identity = id;
          onReady();
          continue;
        }
        message.push(body);
        if (!(flags & 1)) {
          onMessage(message);
          message = [];
        }
      }
    } catch {
      // connection reset: the peer is gone
    } finally {
      reader.releaseLock();
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/**
 * A ZeroMQ socket of one of the {@link SocketType}s.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ZSocket } from "./zmtp.ts";
 * const router = new ZSocket("ROUTER");
 * const port = await router.bind("127.0.0.1", 0);
 * const dealer = new ZSocket("DEALER", { identity: "me" });
 * dealer.connect("127.0.0.1", port);
 * await dealer.send(["hello"]);
 * const [id, body] = await router.receive();
 * assert.equal(new TextDecoder().decode(id), "me");
 * await router.send([id, "hi"]);
 * assert.equal(new TextDecoder().decode((await dealer.receive())[0]), "hi");
 * dealer.close();
 * router.close();
 * ```
 */
export class ZSocket {
  readonly type: SocketType;
  #identity?: Uint8Array;
  #peers = new Set<Peer>();
  #byId = new Map<string, Peer>();
  #inbox: Uint8Array[][] = [];
  #waiters: ((m: Uint8Array[] | null) => void)[] = [];
  #listener?: Deno.Listener;
  #outbox: Uint8Array[][] = []; // DEALER/SUB messages sent before the connection is up
  #lastPeer?: Peer; // REP: where the reply goes
  closed = false;

  constructor(type: SocketType, opts: { identity?: string } = {}) {
    this.type = type;
    if (opts.identity) this.#identity = enc.encode(opts.identity);
  }

  /** Listens on `host:port` (0 picks a free port); returns the port. */
  bind(host: string, port: number): number {
    const listener = Deno.listen({ hostname: host, port });
    this.#listener = listener;
    (async () => {
      try {
        for await (const conn of listener) this.#adopt(conn);
      } catch { /* closed */ }
    })();
    return (listener.addr as Deno.NetAddr).port;
  }

  /** Connects to `host:port`, retrying every 50 ms until the other side listens. */
  connect(host: string, port: number): void {
    (async () => {
      while (!this.closed) {
        try {
          const conn = await Deno.connect({ hostname: host, port });
          if (this.closed) {
            conn.close();
            return;
          }
          const peer = this.#adopt(conn);
          if (this.type === "SUB") await peer.send([new Uint8Array([1])]); // subscribe to all
          for (const m of this.#outbox.splice(0)) await peer.send(m);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
  }

  #adopt(conn: Deno.Conn): Peer {
    const peer = new Peer(conn);
    this.#peers.add(peer);
    let key = "";
    // A ROUTER knows a peer by the identity of its handshake, before any message from it (a
    // frontend's stdin socket receives an input_request before it sends anything).
    const register = () => {
      if (this.type !== "ROUTER" || key) return;
      if (!peer.identity.length) peer.identity = crypto.getRandomValues(new Uint8Array(5));
      key = String(peer.identity);
      this.#byId.set(key, peer);
    };
    peer.run(this.type, this.#identity, (frames) => {
      if (this.type === "PUB") return; // subscriptions: everybody gets everything
      if (this.type === "ROUTER") {
        register();
        frames = [peer.identity, ...frames];
      }
      if (this.type === "REP") this.#lastPeer = peer;
      const w = this.#waiters.shift();
      if (w) w(frames);
      else this.#inbox.push(frames);
    }, register).finally(() => {
      this.#peers.delete(peer);
      if (key && this.#byId.get(key) === peer) this.#byId.delete(key);
    });
    return peer;
  }

  /** Sends one message (ROUTER: the first frame names the peer). */
  async send(frames: (string | Uint8Array)[]): Promise<void> {
    if (this.closed) return;
    const bytes = frames.map((f) => typeof f === "string" ? enc.encode(f) : f);
    switch (this.type) {
      case "ROUTER": {
        const peer = this.#byId.get(String(bytes[0]));
        if (peer) await peer.send(bytes.slice(1)); // unknown peer: dropped, as ZeroMQ does
        return;
      }
      case "PUB":
        await Promise.all([...this.#peers].map((p) => p.send(bytes)));
        return;
      case "REP":
        if (this.#lastPeer) await this.#lastPeer.send(bytes);
        return;
      default: {
        const peer = [...this.#peers][0];
        if (peer) await peer.send(bytes);
        else this.#outbox.push(bytes);
      }
    }
  }

  /** The next message; rejects once the socket is closed. */
  receive(): Promise<Uint8Array[]> {
    const m = this.#inbox.shift();
    if (m) return Promise.resolve(m);
    if (this.closed) return Promise.reject(new Error("socket closed"));
    return new Promise((resolve, reject) =>
      this.#waiters.push((msg) => msg ? resolve(msg) : reject(new Error("socket closed")))
    );
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array[]> {
    while (!this.closed) {
      try {
        yield await this.receive();
      } catch {
        return;
      }
    }
  }

  /** Closes the listener and every connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#listener?.close();
    } catch { /* closed */ }
    for (const p of this.#peers) p.close();
    for (const w of this.#waiters.splice(0)) w(null);
  }
}
