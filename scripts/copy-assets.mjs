// Copies the non-TypeScript files the server reads at run time into dist/:
// SQL migrations and the sentiment lexicons.
import { cpSync } from 'node:fs';

cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
cpSync('src/feedback/lexicons', 'dist/feedback/lexicons', { recursive: true });
