/**
 * The `quorumchat` command: one commander program; each subcommand lives in
 * cli/commands/ and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, describeError, exitCodeOf } from './errors.ts';

/**
 * Each subcommand's module, imported only when that subcommand is the one run (all of them
 * for help, `--version` or a name commander must suggest a fix for). A replica process then
 * loads none of the bench's, the supervisor's or the members report's code, nor
 * hdr-histogram and its WebAssembly (docs/notebook.md, "A replica loads only what it runs").
 * In the order `--help` lists them.
 */
const COMMANDS: Readonly<Record<string, (program: Command) => Promise<void>>> = {
  // The terminal UI (blessed) loads only when `up` opens it, not in every replica process.
  up: async (p) => (await import('./commands/up.ts')).registerUpCommand(p, { openUi: async (session) => (await import('./tui/app.ts')).openUpUi(session) }),
  status: async (p) => (await import('./commands/status.ts')).registerStatusCommand(p),
  bench: async (p) => (await import('./commands/bench.ts')).registerBenchCommand(p),
  'bench-members': async (p) => (await import('./commands/bench-members.ts')).registerBenchMembersCommand(p),
  replica: async (p) => (await import('./commands/replica.ts')).registerReplicaCommand(p),
  chat: async (p) => (await import('./commands/chat.ts')).registerChatCommand(p),
  dashboard: async (p) => (await import('./commands/dashboard.ts')).registerDashboardCommand(p),
  inspect: async (p) => (await import('./commands/inspect.ts')).registerInspectCommand(p),
  members: async (p) => (await import('./commands/members.ts')).registerMembersCommand(p),
  'nats-config': async (p) => (await import('./commands/nats-config.ts')).registerNatsConfigCommand(p),
  credentials: async (p) => (await import('./commands/credentials.ts')).registerCredentialsCommand(p),
};

const program = new Command('quorumchat')
  .description('A chat service replicated by Raft across five replicas.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  // Throw instead of exiting so usage errors get their own exit code; subcommands inherit this.
  .exitOverride();

try {
  const named = process.argv[2];
  const run = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const name of run) await COMMANDS[name]!(program);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has printed its message (or the help) already.
    const quiet = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exitCode = quiet ? ExitCode.ok : ExitCode.usage;
  } else {
    process.stderr.write(`quorumchat: ${describeError(err)}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
