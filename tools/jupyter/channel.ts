/**
 * A Jupyter channel: a ZeroMQ socket (`zmtp.ts`) that carries signed Jupyter messages. `send`
 * signs a message and queues it in call order; `receive` returns the next message whose
 * signature checks out (others are dropped and reported). Every message the kit sends or
 * receives, to Deno's kernel or to a Jupyter frontend, goes through one.
 *
 * @module
 */
import { type Message, Signer } from "./wire.ts";
import type { ZSocket } from "./zmtp.ts";

/** A message to send: `identities` (ROUTER routing), `metadata` and `buffers` are optional. */
export type Outgoing =
  & Omit<Message, "identities" | "buffers" | "metadata" | "parent_header">
  & Partial<Message>;

/**
 * A signed Jupyter channel over a ZeroMQ socket.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Channel } from "./channel.ts";
 * import { newHeader } from "./wire.ts";
 * import { ZSocket } from "./zmtp.ts";
 * const router = new Channel(new ZSocket("ROUTER"), "key");
 * const port = router.socket.bind("127.0.0.1", 0);
 * const dealer = new Channel(new ZSocket("DEALER"), "key");
 * dealer.socket.connect("127.0.0.1", port);
 * dealer.send({ header: newHeader("kernel_info_request", "s"), content: {} });
 * const request = await router.receive();
 * assert.equal(request.header.msg_type, "kernel_info_request");
 * router.send({
 *   identities: request.identities, header: newHeader("kernel_info_reply", "s"),
 *   parent_header: request.header, content: { status: "ok" },
 * });
 * const reply = await dealer.receive();
 * assert.equal(reply.parent_header.msg_id, request.header.msg_id);
 * await dealer.close();
 * await router.close();
 * ```
 */
export class Channel {
  readonly socket: ZSocket;
  #signer: Signer;
  #onReject: (frames: Uint8Array[]) => void;

  /**
   * `key` signs and checks (empty: unsigned, as the specification allows); `onReject` hears of
   * each message dropped for a bad signature or a malformed frame.
   */
  constructor(socket: ZSocket, key: string, onReject: (frames: Uint8Array[]) => void = () => {}) {
    this.socket = socket;
    this.#signer = new Signer(key);
    this.#onReject = onReject;
  }

  /** Signs `msg` and queues it behind earlier sends; resolves once written. */
  send(msg: Outgoing): Promise<void> {
    return this.socket.send(this.#signer.encode({
      ...msg,
      parent_header: msg.parent_header ?? {},
      metadata: msg.metadata ?? {},
    }));
  }

  /** The next well-signed message; rejects once the socket is closed. */
  async receive(): Promise<Message> {
    for (;;) {
      const frames = await this.socket.receive();
      const msg = this.#signer.decode(frames);
      if (msg) return msg;
      this.#onReject(frames);
    }
  }

  /** Every well-signed message until the socket closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message> {
    for (;;) {
      try {
        yield await this.receive();
      } catch {
        return; // closed
      }
    }
  }

  /** Resolves once everything sent so far has been written. */
  flush(): Promise<void> {
    return this.socket.flush();
  }

  /** Closes the socket (see `ZSocket.close`). */
  close(): Promise<void> {
    return this.socket.close();
  }
}
