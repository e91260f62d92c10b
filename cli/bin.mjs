#!/usr/bin/env -S node --openssl-legacy-provider
// In a checkout, runs the TypeScript sources directly through tsx (a devDependency): no build
// step between a checkout and a working command. Production runs the compiled dist/cli/centralog.mjs.

// SDK versions are pinned to ones that support Node 20; their notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write(
    'centralog: tsx is not installed, so the TypeScript sources cannot run (tsx is a devDependency and\n' +
      'production installs omit it). In a checkout run `npm ci` first; otherwise run the compiled build:\n' +
      '  npm run build && node dist/cli/centralog.mjs <command>\n',
  );
  process.exit(1);
}
register();
const { main } = await import('./main.ts');
await main(process.argv);
