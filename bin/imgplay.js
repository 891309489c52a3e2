#!/usr/bin/env node
// The installed entry point: the compiled CLI lives in dist/ (built on `npm ci` by the prepare script).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
