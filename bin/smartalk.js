#!/usr/bin/env node
// The `smartalk` command: runs the compiled CLI (npm install builds it into dist/).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('smartalk: not built yet; run `npm run build` (npm install runs it for you)');
  process.exit(1);
}
await import(entry.href);
