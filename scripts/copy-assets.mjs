// Copies the non-TypeScript files the server reads at run time into dist/:
// SQL migrations, the sentiment lexicons, and the ops console's page and chart library
// (served from our own origin: no CDN at run time).
import { cpSync } from 'node:fs';

cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
cpSync('src/feedback/lexicons', 'dist/feedback/lexicons', { recursive: true });
cpSync('src/ops/console/assets', 'dist/ops/console/assets', { recursive: true });
cpSync('node_modules/uplot/dist/uPlot.iife.min.js', 'dist/ops/console/assets/uplot.iife.min.js');
cpSync('node_modules/uplot/dist/uPlot.min.css', 'dist/ops/console/assets/uplot.min.css');
