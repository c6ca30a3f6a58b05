/**
 * A complete, valid environment for every pipeline handler (each reads its own variables of it), for
 * loading the bundles outside Lambda: the bundle test and the benchmark's module-initialisation figures.
 */
export const SAMPLE_PIPELINE_ENVIRONMENT: Readonly<Record<string, string>> = {
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:111122223333:stateMachine:cpc-attribution',
  CUR_BUCKET: 'cpc-cur-111122223333',
  CUR_PREFIX: 'cur',
  CUR_EXPORT_NAME: 'cpc-export',
  DATA_BUCKET: 'cpc-data-111122223333',
  RESULTS_BUCKET: 'cpc-results-111122223333',
  DATABASE: 'cost_per_customer',
  WORKGROUP: 'cost-per-customer',
  TENANT_TAG_KEY: 'tenant_id',
  COST_BASIS: 'amortized',
  TABLE_NAME: 'cpc-serving',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:cpc-alerts',
  ALERT_CONFIG: '{}',
  UNIT_COST_TARGETS: '{"unitCostTargets":[]}',
  ON_DELIVERY_FUNCTION: 'arn:aws:lambda:eu-west-1:111122223333:function:cpc-on-delivery',
  OPERATIONS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:cpc-operations',
  STRIPE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:cpc/stripe-AbCdEf',
  TELEMETRY_CLOUDWATCH:
    '[{"source":"myapp","namespace":"MyApp","metricName":"Requests","tenantDimension":"TenantId","metric":"requests"}]',
};
