/**
 * What SmarTalk keeps on disk (the data directory with the embedded database, logs,
 * the ops token) is readable by its owner only: directories 0700, files 0600. New
 * ones are created so; existing ones found wider are narrowed on start-up, with a
 * warning, because learner data and a bearer secret must not sit world-readable.
 */
import { chmod, mkdir, open, stat } from 'node:fs/promises';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Make sure `target` exists (directories only) and has no group or other permissions;
 * resolves with a sentence for the log when it had to narrow them.
 */
export async function keepPrivate(target: string, kind: 'dir' | 'file'): Promise<string | undefined> {
  if (kind === 'dir') await mkdir(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  let mode: number;
  try {
    mode = (await stat(target)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if ((mode & 0o077) === 0) return undefined;
  const wanted = kind === 'dir' ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
  await chmod(target, wanted);
  return `${target} was readable by others (mode ${mode.toString(8).padStart(4, '0')}); now ${wanted.toString(8).padStart(4, '0')}`;
}

/**
 * The last `maxBytes` of a file as text (all of it when smaller): the recent end of a log
 * without reading months of it. A line cut at the start is the caller's to skip.
 */
export async function readTail(file: string, maxBytes: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
