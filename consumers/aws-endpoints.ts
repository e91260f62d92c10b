/** Where each AWS service lives: an endpoint URL for a local or other service, undefined for real AWS. */
export interface AwsEndpoints {
  region: string;
  kinesis?: string;
  dynamodb?: string;
  s3?: string;
}

// Local emulators accept any key; s3rver wants exactly this pair.
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Fixed local credentials for an endpoint that is not real AWS, unless the environment provides keys. */
export function credentialsFor(endpoint: string | undefined) {
  if (endpoint === undefined || process.env.AWS_ACCESS_KEY_ID) return undefined;
  return LOCAL_CREDENTIALS;
}
