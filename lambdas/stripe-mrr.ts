/**
 * **stripe-mrr**: every day (an EventBridge schedule, only with `cpc:stripeSecretArn`), reads the Stripe
 * subscriptions with the API key from Secrets Manager and uploads the customers file with new
 * effective-dated versions under `customers/incoming/` when a customer's MRR, tier or plan status
 * changed; on-input then checks it and re-runs the open months. Environment, metrics and permissions:
 * lambdas/README.md. The work is in lib/pipeline/stripe-sync.ts and lib/pipeline/stripe-mrr.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Stripe from 'stripe';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { type StripeSyncResult, syncStripeMrr } from '../lib/pipeline/stripe-sync.ts';
import { AWS_CLIENT_CONFIG } from './commons/aws-clients.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'stripe-mrr';
const config = readConfig({
  DATA_BUCKET: env.bucket(),
  STRIPE_SECRET_ARN: env.arn('secretsmanager'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const s3 = tracer.captureAWSv3Client(new S3Client(AWS_CLIENT_CONFIG));
const secrets = tracer.captureAWSv3Client(new SecretsManagerClient(AWS_CLIENT_CONFIG));

/**
 * The API key: the secret's text, or its `apiKey` field when it is JSON. Read at each invocation, so a
 * rotated key is used from the next day on without a deploy.
 */
export function apiKeyOf(secret: string): string {
  const refused = new Error(
    'the Stripe secret must be a secret or restricted API key (sk_... or rk_...), or JSON {"apiKey": "..."}',
  );
  const text = secret.trim();
  let key: unknown = text;
  if (text.startsWith('{')) {
    try {
      key = (JSON.parse(text) as { apiKey?: unknown }).apiKey;
    } catch {
      // JSON.parse's message quotes the text: the key must not reach the logs.
      throw refused;
    }
  }
  if (typeof key !== 'string' || !/^(sk|rk)_(live|test)_\w+$/.test(key)) throw refused;
  return key;
}

export const lambdaHandler = async (): Promise<StripeSyncResult> => {
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: config.STRIPE_SECRET_ARN }),
  );
  const stripe = new Stripe(apiKeyOf(SecretString ?? ''), { maxNetworkRetries: 3, timeout: 30_000 });
  const result = await syncStripeMrr({
    stripe,
    s3,
    dataBucket: config.DATA_BUCKET,
    today: new Date().toISOString().slice(0, 10),
    logger: log,
  });
  metrics.addMetric('StripeSubscriptions', MetricUnit.Count, result.subscriptions);
  metrics.addMetric('StripeCustomersChanged', MetricUnit.Count, result.changed);
  metrics.addMetric(
    'StripeCustomersUnmapped',
    MetricUnit.Count,
    result.unmapped.length + result.unknown.length,
  );
  return result;
};

export const handler = wrap(lambdaHandler);
