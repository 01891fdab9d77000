#!/usr/bin/env node
// The `quorumchat` command. The sources are TypeScript run through tsx, so a
// clone works after `npm install` with no build step; the loader is registered
// here rather than with --import so the command works from any directory.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
