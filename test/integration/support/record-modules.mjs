// Preloaded with --import: registers record-modules-hooks.mjs, which appends the URL of
// every ES module the process loads to the file named by RECORD_MODULES_FILE.
import { register } from 'node:module';
import process from 'node:process';

register('./record-modules-hooks.mjs', import.meta.url, { data: { file: process.env.RECORD_MODULES_FILE } });
