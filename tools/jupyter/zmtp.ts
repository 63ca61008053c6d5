/**
 * ZeroMQ's wire protocol (ZMTP 3.0, NULL security, TCP) in TypeScript: ROUTER, DEALER, PUB, SUB
 * and REP sockets, as much of them as Jupyter's five channels use. The kit's kernel client and
 * relay talk to Deno's kernel and to Jupyter through it, on Deno's own TCP, with no native part.
 *
 * Order: `send` queues the message on its connection before it returns, so messages leave in
 * the order `send` was called whether or not the caller awaits it (the promise resolves once the
 * bytes are written). On a new connection, messages wait until the peer's READY has arrived, as
 * ZMTP asks (libzmq drops a connection whose first message comes before its own READY). A message is encoded with one copy of its bytes; a received frame is
 * assembled with one copy of its bytes, so sending and receiving cost time linear in the size.
 *
 * Not implemented (Jupyter does not need them): CURVE/PLAIN security, IPC transport, topic
 * filtering on PUB (every subscriber gets every message, as Jupyter subscribes to all),
 * high-water marks (queues are unbounded), reconnecting after a peer went away, and a DEALER
 * with several peers (the first connection gets every message).
 *
 * @module
 */

/** The socket types implemented. */
export type SocketType = "ROUTER" | "DEALER" | "PUB" | "SUB" | "REP";

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Larger frames are taken for garbled ones (64 GB: no Jupyter message comes close). */
const MAX_FRAME = 2 ** 36;

/** Bytes received and not consumed yet: chunks kept as they came, copied once when taken. */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  /** Index of the first chunk in use, and the offset into it. */
  #first = 0;
  #head = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (!chunk.length) return;
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The byte at position `i` (i < length). */
  byte(i: number): number {
    let k = this.#first, off = this.#head + i;
    while (off >= this.#chunks[k].length) off -= this.#chunks[k++].length;
    return this.#chunks[k][off];
  }

  /** The next `n` bytes (n <= length): a view when they lie in one chunk, else one copy. */
  take(n: number): Uint8Array {
    const first = this.#chunks[this.#first];
    let out: Uint8Array;
    if (n <= first.length - this.#head) {
      out = first.subarray(this.#head, this.#head + n);
      this.#advance(n);
    } else {
      out = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const c = this.#chunks[this.#first];
        const k = Math.min(n - off, c.length - this.#head);
        out.set(c.subarray(this.#head, this.#head + k), off);
        off += k;
        this.#advance(k);
      }
    }
    return out;
  }

  #advance(k: number): void {
    this.length -= k;
    this.#head += k;
    if (this.#head === this.#chunks[this.#first].length) {
      this.#first++;
      this.#head = 0;
      // Drop consumed chunks now and then, not on every chunk (that would be quadratic).
      if (this.#first > 64 && this.#first * 2 > this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#first);
        this.#first = 0;
      }
    }
  }
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

/** The wire bytes of a message (or a command, `command` true): every frame, in one buffer. */
function encode(frames: Uint8Array[], command = false): Uint8Array {
  let total = 0;
  for (const f of frames) total += (f.length > 255 ? 9 : 2) + f.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  frames.forEach((f, i) => {
    const long = f.length > 255;
    out[at] = (i < frames.length - 1 ? 1 : 0) | (long ? 2 : 0) | (command ? 4 : 0);
    if (long) view.setBigUint64(at + 1, BigInt(f.length));
    else out[at + 1] = f.length;
    at += long ? 9 : 2;
    out.set(f, at);
    at += f.length;
  });
  return out;
}

function readyCommand(type: SocketType, identity?: Uint8Array): Uint8Array {
  const parts: number[] = [5, ...enc.encode("READY")];
  const prop = (name: string, value: Uint8Array) => {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, value.length);
    parts.push(name.length, ...enc.encode(name), ...len, ...value);
  };
  prop("Socket-Type", enc.encode(type));
  if (identity && type === "DEALER") prop("Identity", identity);
  return encode([new Uint8Array(parts)], true);
}

function parseReady(body: Uint8Array): Map<string, Uint8Array> {
  const props = new Map<string, Uint8Array>();
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
  #in = new ByteQueue();
  /** The write in progress and every write queued behind it. */
  writing: Promise<void> = Promise.resolve();
  #handshaken: () => void = () => {};
  closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Called with each chunk's arrival time (a socket's `lastReceiveAt`). */
  onBytes: (now: number) => void = () => {};
  /** Why the peer's bytes were not ZMTP (the connection was then closed), if they were not. */
  protocolError = "";

  async #fill(n: number, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
    while (this.#in.length < n) {
      const { value, done } = await reader.read();
      if (done || !value) return false;
      this.#in.push(value);
      this.onBytes(performance.now());
    }
    return true;
  }

  /** Queues `bytes` behind earlier writes (synchronously); resolves once they are written. */
  write(bytes: Uint8Array): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (this.closed) return;
      let off = 0;
      while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
    }).catch(() => this.close());
    return this.writing;
  }

  send(frames: Uint8Array[]): Promise<void> {
    return this.write(encode(frames));
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
      const hello = greeting(), ready = readyCommand(type, identity);
      const both = new Uint8Array(hello.length + ready.length);
      both.set(hello);
      both.set(ready, hello.length);
      this.write(both); // queued before anything the socket sends on this connection
      // Messages wait for the peer's READY: libzmq fails the handshake ("unexpected command")
      // when a message arrives before it has sent its own READY.
      const handshake = new Promise<void>((r) => (this.#handshaken = r));
      this.writing = this.writing.then(() => handshake);
      if (!await this.#fill(64, reader)) return;
      const g = this.#in.take(64);
      if (g[0] !== 0xff || g[9] !== 0x7f || g[10] < 3) return; // not ZMTP 3
      let message: Uint8Array[] = [];
      while (true) {
        if (!await this.#fill(2, reader)) return;
        const flags = this.#in.byte(0);
        // Reserved flag bits set: the peer's frames are garbled (a sender that interleaved two
        // messages' frames); nothing after this point can be trusted.
        if (flags & 0xf8) {
          this.protocolError = `a frame with reserved flag bits (0x${flags.toString(16)})`;
          return;
        }
        let size: number;
        if (flags & 2) {
          if (!await this.#fill(9, reader)) return;
          const head = this.#in.take(9);
          size = Number(new DataView(head.buffer, head.byteOffset, 9).getBigUint64(1));
          if (size > MAX_FRAME) {
            this.protocolError = `a frame of ${size} bytes`;
            return;
          }
        } else {
          size = this.#in.take(2)[1];
        }
        if (!await this.#fill(size, reader)) return;
        const body = size ? this.#in.take(size) : new Uint8Array();
        if (flags & 4) {
          const id = parseReady(body).get("Identity");
          if (id && id.length) this.identity = id;
          this.#handshaken();
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
    this.#handshaken(); // queued writes then find the connection closed and end
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
 * const port = router.bind("127.0.0.1", 0);
 * const dealer = new ZSocket("DEALER", { identity: "me" });
 * dealer.connect("127.0.0.1", port);
 * dealer.send(["hello"]);
 * const [id, body] = await router.receive();
 * assert.equal(new TextDecoder().decode(id), "me");
 * assert.equal(new TextDecoder().decode(body), "hello");
 * router.send([id, "hi"]);
 * assert.equal(new TextDecoder().decode((await dealer.receive())[0]), "hi");
 * await dealer.close();
 * await router.close();
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
  #lastPeer?: Peer; // REP: where the reply goes, and the envelope it repeats
  #envelope: Uint8Array[] = [];
  /** Accept and connect loops and connections still running (close() waits for them). */
  #tasks = new Set<Promise<unknown>>();
  #wakes = new Set<() => void>(); // cut connect retries' waits short on close
  closed = false;
  /** `performance.now()` when bytes last arrived on any connection (0: never). */
  lastReceiveAt = 0;
  #onProtocolError: (why: string) => void;

  /**
   * `identity`: this socket's routing identity. `onProtocolError`: a peer sent bytes that are
   * not ZMTP (its connection is closed; a SUB or DEALER then receives nothing more from it).
   */
  constructor(
    type: SocketType,
    opts: { identity?: string | Uint8Array; onProtocolError?: (why: string) => void } = {},
  ) {
    this.type = type;
    const id = opts.identity;
    if (id) this.#identity = typeof id === "string" ? enc.encode(id) : id;
    this.#onProtocolError = opts.onProtocolError ?? (() => {});
  }

  #track(p: Promise<unknown>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  /** Listens on `host:port` (0 picks a free port); returns the port. Throws when it is taken. */
  bind(host: string, port: number): number {
    const listener = Deno.listen({ hostname: host, port });
    this.#listener = listener;
    this.#track((async () => {
      try {
        for await (const conn of listener) {
          if (this.closed) conn.close();
          else this.#adopt(conn);
        }
      } catch { /* closed */ }
    })());
    return (listener.addr as Deno.NetAddr).port;
  }

  /** Connects to `host:port`, retrying every 50 ms until the other side listens. */
  connect(host: string, port: number): void {
    this.#track((async () => {
      while (!this.closed) {
        try {
          const conn = await Deno.connect({ hostname: host, port });
          if (this.closed) {
            conn.close();
            return;
          }
          const peer = this.#adopt(conn);
          // Synchronously, so that nothing sent from now on overtakes them.
          if (this.type === "SUB") peer.send([new Uint8Array([1])]); // subscribe to all
          for (const m of this.#outbox.splice(0)) peer.send(m);
          return;
        } catch {
          if (this.closed) return;
          await new Promise<void>((r) => {
            const wake = () => {
              clearTimeout(t);
              this.#wakes.delete(wake);
              r();
            };
            const t = setTimeout(wake, 50);
            this.#wakes.add(wake);
          });
        }
      }
    })());
  }

  #adopt(conn: Deno.Conn): Peer {
    const peer = new Peer(conn);
    peer.onBytes = (now) => (this.lastReceiveAt = now);
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
    this.#track(
      peer.run(this.type, this.#identity, (frames) => {
        if (this.type === "PUB") return; // subscriptions: everybody gets everything
        if (this.type === "ROUTER") {
          register();
          frames = [peer.identity, ...frames];
        }
        if (this.type === "REP") {
          // A REQ's message starts with its envelope, up to an empty frame; the reply repeats it.
          const end = frames.findIndex((f) => f.length === 0);
          this.#lastPeer = peer;
          this.#envelope = frames.slice(0, end + 1);
          frames = frames.slice(end + 1);
        }
        const w = this.#waiters.shift();
        if (w) w(frames);
        else this.#inbox.push(frames);
      }, register).finally(() => {
        if (peer.protocolError && !this.closed) this.#onProtocolError(peer.protocolError);
        this.#peers.delete(peer);
        if (key && this.#byId.get(key) === peer) this.#byId.delete(key);
        return peer.writing;
      }),
    );
    return peer;
  }

  /**
   * Sends one message (ROUTER: the first frame names the peer; a message to an unknown peer is
   * dropped, as ZeroMQ does). Queued in call order before this returns; the promise resolves
   * once it is written (or dropped).
   */
  send(frames: readonly (string | Uint8Array)[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    const bytes = frames.map((f) => typeof f === "string" ? enc.encode(f) : f);
    switch (this.type) {
      case "ROUTER": {
        const peer = this.#byId.get(String(bytes[0]));
        return peer ? peer.send(bytes.slice(1)) : Promise.resolve();
      }
      case "PUB":
        return Promise.all([...this.#peers].map((p) => p.send(bytes))).then(() => {});
      case "REP":
        return this.#lastPeer
          ? this.#lastPeer.send([...this.#envelope, ...bytes])
          : Promise.resolve();
      default: {
        const peer = [...this.#peers][0];
        if (peer) return peer.send(bytes);
        this.#outbox.push(bytes);
        return Promise.resolve();
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

  /** Resolves once everything sent so far has been written (or its connection is gone). */
  async flush(): Promise<void> {
    await Promise.all([...this.#peers].map((p) => p.writing));
  }

  /**
   * Closes the listener and every connection at once (messages not written yet are dropped:
   * call {@link ZSocket.flush} first to keep them). Idempotent. The promise resolves once every
   * connection has ended; callers that must stop now (an `unload` handler) need not wait.
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        this.#listener?.close();
      } catch { /* closed */ }
      for (const wake of [...this.#wakes]) wake();
      for (const p of this.#peers) p.close();
      for (const w of this.#waiters.splice(0)) w(null);
    }
    return Promise.all([...this.#tasks]).then(() => {});
  }
}
