#!/usr/bin/env -S node --openssl-legacy-provider
// Runs the TypeScript sources directly: no build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main(process.argv);
