import { beforeAll, describe, expect, it, vi } from 'vitest';

// The stripe-mrr handler's reading of the secret: a key as text or as JSON, nothing else.
type StripeMrrModule = typeof import('../../lambdas/stripe-mrr.ts');
let apiKeyOf: StripeMrrModule['apiKeyOf'];
beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('DATA_BUCKET', 'cpc-data-111122223333');
  vi.stubEnv('STRIPE_SECRET_ARN', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:cpc/stripe-AbCdEf');
  ({ apiKeyOf } = await import('../../lambdas/stripe-mrr.ts'));
});

describe('the Stripe secret', () => {
  it('is the key as text, or the apiKey field of JSON, trimmed', () => {
    expect(apiKeyOf('rk_live_51Habc\n')).toBe('rk_live_51Habc');
    expect(apiKeyOf('{"apiKey": "sk_test_4eC39HqLyjWDarjtT1zdp7dc"}')).toBe(
      'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
    );
  });

  it('refuses anything that is not a Stripe secret or restricted key, without echoing it', () => {
    for (const secret of [
      '',
      'pk_live_abc',
      '{"key":"rk_live_abc"}',
      'rk_live_abc def',
      '{"apiKey": "rk_live_abc',
    ]) {
      expect(() => apiKeyOf(secret)).toThrow(/must be a secret or restricted API key/);
      try {
        apiKeyOf(secret);
      } catch (error) {
        if (secret !== '') expect((error as Error).message).not.toContain(secret);
      }
    }
  });

  it('fails the cold start when the secret ARN is not one', async () => {
    vi.resetModules();
    vi.stubEnv('STRIPE_SECRET_ARN', 'cpc/stripe');
    await expect(import('../../lambdas/stripe-mrr.ts')).rejects.toMatchObject({
      name: 'ConfigurationError',
      message: expect.stringContaining('STRIPE_SECRET_ARN'),
    });
  });
});
