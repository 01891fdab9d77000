/**
 * The `quorumchat` command: one commander program; each subcommand lives in
 * cli/commands/ and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { registerUpCommand } from './commands/up.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerBenchCommand } from './commands/bench.ts';
import { registerBenchMembersCommand } from './commands/bench-members.ts';
import { registerReplicaCommand } from './commands/replica.ts';
import { registerChatCommand } from './commands/chat.ts';
import { registerDashboardCommand } from './commands/dashboard.ts';
import { registerInspectCommand } from './commands/inspect.ts';
import { registerMembersCommand } from './commands/members.ts';
import { registerNatsConfigCommand } from './commands/nats-config.ts';
import { registerCredentialsCommand } from './commands/credentials.ts';
import { ExitCode, describeError, exitCodeOf } from './errors.ts';

const program = new Command('quorumchat')
  .description('A chat service replicated by Raft across five replicas.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  // Throw instead of exiting so usage errors get their own exit code; subcommands inherit this.
  .exitOverride();

// The terminal UI (blessed) loads only when `up` opens it, not in every replica process.
registerUpCommand(program, { openUi: async (session) => (await import('./tui/app.ts')).openUpUi(session) });
registerStatusCommand(program);
registerBenchCommand(program);
registerBenchMembersCommand(program);
registerReplicaCommand(program);
registerChatCommand(program);
registerDashboardCommand(program);
registerInspectCommand(program);
registerMembersCommand(program);
registerNatsConfigCommand(program);
registerCredentialsCommand(program);

try {
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
