import { Command } from 'commander';

const program = new Command('quorumchat')
  .description('A chat service replicated by Raft across five replicas.')
  .version('0.1.0');

await program.parseAsync(process.argv);
