/**
 * Small file-system helpers with the durability steps the store needs:
 * fsync a file before it is renamed into place, fsync the directory after.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** SHA-256 (hex) and size of a file, read as a stream so a large file never blocks the event loop. */
export async function sha256OfFile(path: string): Promise<{ readonly sha256: string; readonly bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(createReadStream(path), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  });
  return { sha256: hash.digest('hex'), bytes };
}

/** Flush a file's data to disk. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flush a directory's entries (a rename or an unlink in it) to disk. */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Durably move `from` to `to` in the same directory: fsync the file, rename, fsync the directory. */
export async function durableRename(from: string, to: string, dir: string): Promise<void> {
  await fsyncFile(from);
  await rename(from, to);
  await fsyncDir(dir);
}
