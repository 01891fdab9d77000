// Lint rules: the recommended sets, plus the project's own bans that keep the
// consensus core and the monitor's policy pure (no timers, clocks, randomness
// or I/O in actors/raft or actors/monitor).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impureInCore = [
  { object: 'Date', property: 'now', message: 'actors/raft takes time from its injected clock' },
  { object: 'Math', property: 'random', message: 'actors/raft takes randomness from its seeded generator' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'test/artifacts/**', 'cli/inspector-web/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['actors/raft/**/*.ts', 'actors/monitor/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error', ...impureInCore],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'setImmediate', 'process'],
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'net', 'knex', 'sqlite3', '@nats-io/*', '../transport/*', '../replica/*', '../../storage/*'] }],
    },
  },
  {
    // The runtime takes its world as ports (actors/replica/ports.ts), so the simulation runs this very code.
    // The two adapter files beside it (chat over Knex, the NATS transport factory) are plugged in by the CLI.
    files: ['actors/replica/**/*.ts'],
    ignores: ['actors/replica/chat-application.ts', 'actors/replica/nats-transport.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'actors/replica takes time from its RuntimeClock port' },
        { object: 'Math', property: 'random', message: 'actors/replica takes randomness from its RuntimeRandom port' },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'setImmediate', 'process'],
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'net', 'knex', 'sqlite3', '@nats-io/*'] }],
    },
  },
);
