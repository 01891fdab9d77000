/**
 * MessagePack with a reused encoder and decoder.
 *
 * `@msgpack/msgpack`'s `encode()` and `decode()` build a new Encoder or
 * Decoder on every call, and an Encoder starts with a fresh 2 KiB
 * ArrayBuffer that grows by doubling: at 64 writers that was 2% of the
 * replicas' CPU in the constructor alone, besides the malloc and GC behind
 * the buffers (docs/notebook.md, "Three small levers, measured one at a
 * time"). A Packer keeps one of each for the life of its owner; the bytes it
 * returns are a copy, so callers may keep them. The library's own
 * re-entrancy guard makes a nested call (an extension codec that packs) safe.
 *
 * Its own small module because the transport, storage and the chat
 * application each own one and none may import the others. Each owner holds
 * its own Packer: there is no shared one, so nothing here is module state.
 */
import { Decoder, Encoder, type DecoderOptions } from '@msgpack/msgpack';

export class Packer {
  readonly #encoder = new Encoder();
  readonly #decoding: DecoderOptions | undefined;
  /** Made on the first unpack: most owners only encode. */
  #decoder: Decoder | null = null;

  /** `decoding` bounds what unpack() accepts (lengths a header may claim); the defaults are the library's. */
  constructor(decoding?: DecoderOptions) {
    this.#decoding = decoding;
  }

  /** `value` as MessagePack, in a buffer of its own. */
  pack(value: unknown): Uint8Array {
    return this.#encoder.encode(value);
  }

  /** The value `bytes` hold; throws what the library throws on anything else. */
  unpack(bytes: Uint8Array): unknown {
    this.#decoder ??= new Decoder(this.#decoding);
    return this.#decoder.decode(bytes);
  }
}
