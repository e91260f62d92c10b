import { Client } from '@opensearch-project/opensearch';

/** An OpenSearch client for a URL; SigV4 signing for Amazon OpenSearch Service plugs in here. */
export function createOpenSearchClient(url: string): Client {
  return new Client({ node: url, requestTimeout: 60_000, maxRetries: 0 });
}
