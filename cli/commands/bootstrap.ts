import type { Command } from 'commander';
import { z } from 'zod';
import { optionFields, signsRequests } from '../../consumers/index.ts';
import { bootstrapOpenSearch } from '../../infra/opensearch/bootstrap.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { importDashboards, type DashboardImport } from '../ops/dashboards.ts';
import { connectionSchema, jsonOption } from '../ops/options.ts';

const { int, httpUrl } = optionFields;

const BootstrapOwnSchema = z.object({
  ...jsonOption,
  retentionDays: int(1, 36_500).default(30).meta({ description: 'delete each daily index this many days after creation (ISM), where the cluster has ISM', arg: 'days' }),
  dashboardsUrl: httpUrl.optional().meta({ description: 'OpenSearch Dashboards URL: also import the index patterns and dashboards', arg: 'url' }),
});
const BootstrapConnection = connectionSchema(['opensearchUrl', 'opensearchAuth', 'indexPrefix']);
const BootstrapOptionsSchema = BootstrapOwnSchema.extend(BootstrapConnection.shape);

/** `centralog bootstrap`: index templates, retention and dashboards. */
export function bootstrapCommand(): Command {
  return operatorCommand({
    name: 'bootstrap',
    description:
      "Install centralog's index templates and its retention policy (an Index State Management policy deleting each family's daily indices after --retention-days) into OpenSearch; " +
      'with --dashboards-url, also import the index patterns and dashboards into OpenSearch Dashboards. Idempotent: run it again after an upgrade. ' +
      'A cluster without the ISM plugin (the local node) gets the templates and a note: delete old indices with `centralog prune --older-than 30d`.',
    own: BootstrapOwnSchema,
    connection: BootstrapConnection,
    schema: BootstrapOptionsSchema,
    examples: ['centralog bootstrap --retention-days 90', 'centralog bootstrap --opensearch-url https://search-logs.eu-west-1.es.amazonaws.com --dashboards-url https://search-logs.eu-west-1.es.amazonaws.com/_dashboards'],
    run: async (o, io) => {
      const client = operatorClients(o).opensearch();
      io.err(`bootstrap: ${o.opensearchUrl} (${o.indexPrefix}-*)`);
      const result = await bootstrapOpenSearch(client as never, { indexPrefix: o.indexPrefix, retentionDays: o.retentionDays });
      let dashboards: DashboardImport | undefined;
      if (o.dashboardsUrl) {
        // A domain's /_dashboards takes the same SigV4 as the domain (--opensearch-auth decides for both).
        const service = signsRequests({ opensearchUrl: o.dashboardsUrl, opensearchAuth: o.opensearchAuth });
        dashboards = await importDashboards(o.dashboardsUrl, o.indexPrefix, undefined, service ? { sigv4: { region: o.region, service } } : {});
      }
      const pruneHint = `centralog prune --older-than ${o.retentionDays}d --index-prefix ${o.indexPrefix}`;
      if (o.json) {
        io.out(JSON.stringify({ ...result, retentionDays: o.retentionDays, pruneCommand: result.ismPolicies.length === 0 ? pruneHint : undefined, dashboards }));
        return 0;
      }
      io.out(`  component template  ${result.componentTemplates.join(', ')}`);
      io.out(`  index templates     ${result.indexTemplates.join(', ')}`);
      if (result.ismPolicies.length > 0) io.out(`  retention (ISM)     ${result.ismPolicies.join(', ')}: indices deleted ${o.retentionDays} days after creation`);
      for (const s of result.skipped) io.out(`  not installed       ${s.what}: ${s.reason}`);
      if (result.ismPolicies.length === 0) io.out(`  instead, run now and then (cron, a scheduled task):  ${pruneHint}`);
      if (dashboards) io.out(`  dashboards          ${dashboards.objects} saved object(s) imported into ${o.dashboardsUrl}${dashboards.errors.length ? `; ${dashboards.errors.length} refused: ${dashboards.errors.join('; ')}` : ''}`);
      return dashboards && dashboards.errors.length > 0 ? 1 : 0;
    },
  });
}
