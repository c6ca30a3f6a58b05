import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** The client's retry mode: a value when given to the constructor, a provider when read from the environment. */
async function retryModeOf(client: S3Client | DynamoDBClient): Promise<string> {
  const mode: unknown = client.config.retryMode;
  return typeof mode === 'function' ? await (mode as () => Promise<string>)() : String(mode);
}

import { AWS_CLIENT_CONFIG, AWS_CLIENT_ENVIRONMENT } from '../../lambdas/commons/aws-clients.ts';

describe('the SDK retry settings of the pipeline functions', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('are standard retries with 8 attempts, given to a client directly', async () => {
    const client = new S3Client({ ...AWS_CLIENT_CONFIG, region: 'eu-west-1' });
    expect(await client.config.maxAttempts()).toBe(8);
    expect(await retryModeOf(client)).toBe('standard');
    client.destroy();
  });

  it('reach a client created without them, through the environment the constructs set', async () => {
    for (const [name, value] of Object.entries(AWS_CLIENT_ENVIRONMENT)) vi.stubEnv(name, value);
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    expect(await client.config.maxAttempts()).toBe(8);
    expect(await retryModeOf(client)).toBe('standard');
    client.destroy();
    // Without them, the SDK's default is fewer attempts (DynamoDB's own default: 4).
    vi.unstubAllEnvs();
    vi.stubEnv('AWS_MAX_ATTEMPTS', undefined);
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    expect(await plain.config.maxAttempts()).toBe(4);
    plain.destroy();
  });
});
