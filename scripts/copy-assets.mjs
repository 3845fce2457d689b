// Copies the non-TypeScript files the server reads at run time (SQL migrations) into dist/.
import { cpSync } from 'node:fs';

cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
