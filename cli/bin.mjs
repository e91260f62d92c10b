#!/usr/bin/env -S node --openssl-legacy-provider
// Runs the TypeScript sources directly: no build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

// SDK versions are pinned to ones that support Node 20; their notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('./main.ts');
await main(process.argv);
