/**
 * What sealing costs per reply and per frame (docs/notebook.md, Issue 9,
 * "Sealing"): the replica's side (checking the key, sealing), the client's
 * (opening), and for comparison what an unsealed reply costs the replica
 * (its JSON). Median of ROUNDS rounds of ITERATIONS each, in microseconds.
 *
 *   node --import tsx test/protocol/seal-bench.ts
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { Opener, requestedReplyKey, Sealer, SealError, sealKeyPairFrom, type SealTarget } from '../../actors/protocol/index.ts';

const ITERATIONS = 5_000;
const ROUNDS = 7;

const message = { id: 123_456, from: 'alice', to: 'bob', text: 'hello there, how are you doing today?', ts: 1_765_000_000_000, read: false };
const sendReply = { ok: true, message, leader: 'r1', replica: 'r2' };
const historyReply = { ok: true, messages: Array.from({ length: 100 }, (_, i) => ({ ...message, id: message.id + i })), hasMore: true, leader: 'r1', replica: 'r2' };

function measure(name: string, run: (i: number) => void): void {
  for (let i = 0; i < ITERATIONS / 5; i++) run(i);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) run(i);
    rounds.push(Number(process.hrtime.bigint() - started) / 1_000 / ITERATIONS);
  }
  rounds.sort((a, b) => a - b);
  console.log(`${name.padEnd(62)} ${rounds[Math.floor(ROUNDS / 2)]!.toFixed(1).padStart(8)} µs   (min ${rounds[0]!.toFixed(1)}, max ${rounds.at(-1)!.toFixed(1)})`);
}

const targetOf = (sealer: Sealer, key: string): SealTarget => {
  const target = sealer.target(key);
  if (target instanceof SealError) throw target;
  return target;
};

const client = new Opener(sealKeyPairFrom(randomBytes(32)));
const sealer = new Sealer({ randomBytes, now: Date.now });
const body = { token: 't'.repeat(43), to: 'bob', text: 'hi', requestId: 'r-1', replyKey: client.publicKey };
const plainBody = { token: 't'.repeat(43), to: 'bob', text: 'hi', requestId: 'r-1' };

console.log(`node ${process.version}, ${ITERATIONS} iterations × ${ROUNDS} rounds, median per operation`);
measure('unsealed send reply: JSON (what the replica does today)', () => JSON.stringify(sendReply));
measure('unsealed path: look for replyKey in a body without one', () => requestedReplyKey(plainBody));
measure('sealed send reply, cached key: check replyKey + seal + JSON', () => {
  const target = targetOf(sealer, requestedReplyKey(body) as string);
  JSON.stringify({ sealed: sealer.seal(target, 'reply', '_INBOX.4kQ1x2nXbOnE1tKq8f9Z3a.123', JSON.stringify(sendReply)) });
});
const keys = Array.from({ length: ITERATIONS }, () => sealKeyPairFrom(randomBytes(32)).publicKey);
let cold = new Sealer({ randomBytes, now: Date.now });
measure('sealed send reply, a client key not in the cache (X25519 each)', (i) => {
  // A new sealer each round (its one key pair amortised over the round), so every key is a miss.
  if (i === 0) cold = new Sealer({ randomBytes, now: Date.now });
  const target = targetOf(cold, keys[i]!);
  JSON.stringify({ sealed: cold.seal(target, 'reply', '_INBOX.x.1', JSON.stringify(sendReply)) });
});
measure('a sealer\'s new key pair (first use, and every rotation)', () => sealKeyPairFrom(randomBytes(32)));
measure('sealed history reply (100 messages, 13 KB), cached key', () => {
  const target = targetOf(sealer, client.publicKey);
  JSON.stringify({ sealed: sealer.seal(target, 'reply', '_INBOX.x.1', JSON.stringify(historyReply)) });
});
measure('unsealed history reply (100 messages): JSON', () => JSON.stringify(historyReply));
const envelope = sealer.seal(targetOf(sealer, client.publicKey), 'reply', '_INBOX.x.1', JSON.stringify(sendReply));
measure('client: open a sealed send reply (cached replica key)', () => client.open(envelope, 'reply', '_INBOX.x.1'));
const frameTarget = targetOf(sealer, client.publicKey);
measure('live frame: seal a message frame', () => sealer.seal(frameTarget, 'live', 'qc.live.0123456789abcdef0123456789abcdef', JSON.stringify({ type: 'message', message })));
const key32 = randomBytes(32);
const nonce = randomBytes(12);
const plaintext = Buffer.from(JSON.stringify(sendReply));
measure('AEAD alone: ChaCha20-Poly1305, send reply', () => {
  const c = createCipheriv('chacha20-poly1305', key32, nonce, { authTagLength: 16 });
  c.setAAD(nonce, { plaintextLength: plaintext.length });
  c.update(plaintext);
  c.final();
  c.getAuthTag();
});
measure('AEAD alone: AES-256-GCM, send reply', () => {
  const c = createCipheriv('aes-256-gcm', key32, nonce);
  c.setAAD(nonce);
  c.update(plaintext);
  c.final();
  c.getAuthTag();
});
