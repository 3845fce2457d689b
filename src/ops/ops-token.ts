/**
 * The ops token: OPS_TOKEN when set; otherwise one generated on first start and kept
 * in $DATA_DIR/ops-token (mode 600), so the embedded default is protected from the
 * first minute and the CLI on the same machine can find it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';

export interface OpsToken {
  token: string;
  source: 'env' | 'file' | 'generated';
  file: string;
}

export const opsTokenFile = (dataDir: string) => path.join(dataDir, 'ops-token');

export async function resolveOpsToken(config: Pick<Config, 'opsToken' | 'dataDir'>): Promise<OpsToken> {
  const file = opsTokenFile(config.dataDir);
  if (config.opsToken) return { token: config.opsToken, source: 'env', file };
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 16) return { token, source: 'file', file };
  } catch {
    // not there yet
  }
  const token = `ops_${randomBytes(24).toString('base64url')}`;
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  return { token, source: 'generated', file };
}
