// Module hooks for record-modules.mjs: one line per loaded ES module URL.
import { appendFileSync } from 'node:fs';

let file = null;

export function initialize(data) {
  file = data?.file ?? null;
}

export async function load(url, context, nextLoad) {
  if (file !== null) appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
