/**
 * Counts peer messages by what they are for: appends carrying entries,
 * commit-only appends (no entries, no heartbeat round), heartbeat rounds,
 * and the answers to each. Answers are matched to the append they answer by
 * order (the in-memory cluster delivers each pair's messages in order and
 * every append is answered), so feed it every Ready's messages as emitted.
 */
import type { Message } from '../../actors/raft/index.ts';

type AppendKind = 'append' | 'commitOnly' | 'heartbeat';

export interface MessageCounts {
  add(messages: readonly Message[]): void;
  reset(): void;
  readonly total: number;
  readonly appends: number;
  readonly appendAnswers: number;
  readonly commitOnly: number;
  readonly commitOnlyAnswers: number;
  readonly heartbeats: number;
  readonly heartbeatAnswers: number;
  /** Votes, snapshots, TimeoutNow: anything else. */
  readonly other: number;
}

export function countMessages(): MessageCounts {
  const zero = { total: 0, appends: 0, appendAnswers: 0, commitOnly: 0, commitOnlyAnswers: 0, heartbeats: 0, heartbeatAnswers: 0, other: 0 };
  let n = { ...zero };
  /** Per leader->follower pair, the kinds of the appends not answered yet, oldest first. */
  const unanswered = new Map<string, AppendKind[]>();
  const pair = (from: string, to: string) => `${from}->${to}`;
  return {
    add(messages) {
      for (const m of messages) {
        n.total += 1;
        if (m.type === 'AppendEntries') {
          const kind: AppendKind = m.entries.length > 0 ? 'append' : m.round > 0 ? 'heartbeat' : 'commitOnly';
          n[kind === 'append' ? 'appends' : kind === 'heartbeat' ? 'heartbeats' : 'commitOnly'] += 1;
          const key = pair(m.from, m.to);
          unanswered.set(key, [...(unanswered.get(key) ?? []), kind]);
        } else if (m.type === 'AppendEntriesResponse') {
          const queue = unanswered.get(pair(m.to, m.from)) ?? [];
          const kind = queue.shift() ?? (m.round > 0 ? 'heartbeat' : 'append');
          n[kind === 'append' ? 'appendAnswers' : kind === 'heartbeat' ? 'heartbeatAnswers' : 'commitOnlyAnswers'] += 1;
        } else {
          n.other += 1;
        }
      }
    },
    reset() {
      n = { ...zero };
    },
    get total() {
      return n.total;
    },
    get appends() {
      return n.appends;
    },
    get appendAnswers() {
      return n.appendAnswers;
    },
    get commitOnly() {
      return n.commitOnly;
    },
    get commitOnlyAnswers() {
      return n.commitOnlyAnswers;
    },
    get heartbeats() {
      return n.heartbeats;
    },
    get heartbeatAnswers() {
      return n.heartbeatAnswers;
    },
    get other() {
      return n.other;
    },
  };
}
