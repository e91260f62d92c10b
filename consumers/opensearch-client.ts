import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';

export interface OpenSearchClientOptions {
  /** Sign requests for Amazon OpenSearch Service ('es', the default) or OpenSearch Serverless ('aoss'). */
  sigv4?: { region: string; service?: 'es' | 'aoss' };
}

/** An OpenSearch client for a URL, optionally SigV4-signed for Amazon OpenSearch Service. */
export function createOpenSearchClient(url: string, options: OpenSearchClientOptions = {}): Client {
  // No client-level retries: the bulk sink retries with its own backoff and accounting.
  const common = { node: url, requestTimeout: 60_000, maxRetries: 0 };
  if (!options.sigv4) return new Client(common);
  const { region, service = 'es' } = options.sigv4;
  return new Client({
    ...AwsSigv4Signer({
      region,
      service,
      // The standard chain (env, ECS task role, instance profile, ...), memoized and refreshed before expiry.
      getCredentials: defaultProvider(),
    }),
    ...common,
  });
}
