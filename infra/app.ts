import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { DeployConfigError, loadDeployConfig } from './config.ts';
import { addCentralogStacks } from './stacks.ts';

/** Used when neither `-c config=FILE` nor CENTRALOG_DEPLOY_CONFIG names another file. */
export const DEFAULT_CONFIG = join(dirname(fileURLToPath(import.meta.url)), 'centralog.config.json');

// `npm run synth` writes to cdk.out/ as the CDK CLI does (the CLI sets CDK_OUTDIR itself).
const app = new App(process.env.CDK_OUTDIR ? {} : { outdir: join(dirname(fileURLToPath(import.meta.url)), '..', 'cdk.out') });
const given = (app.node.tryGetContext('config') as string | undefined) ?? process.env.CENTRALOG_DEPLOY_CONFIG;
const path = given ? resolve(given) : DEFAULT_CONFIG;
try {
  addCentralogStacks(app, loadDeployConfig(path));
} catch (err) {
  if (!(err instanceof DeployConfigError)) throw err;
  // The message names each bad key; a stack trace would only bury it.
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
app.synth();
