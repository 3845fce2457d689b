#!/usr/bin/env node
/** Entry point of the `smartalk` command (bin/smartalk.js loads the compiled copy). */
import { main } from './program.js';

const code = await main();
if (code !== 0) process.exitCode = code;
