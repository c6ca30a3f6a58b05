import type { Alert } from './alert.ts';

/** SNS's limit for a message; a Chatbot notification must fit in it whole. */
export const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

const money = (value: number) => `$${value.toFixed(2)}`;
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

const TITLES: Record<Alert['type'], (a: Alert) => string> = {
  cost_to_mrr: (a) => `${a.severity}: ${a.customerName} costs ${percent(a.value)} of its MRR`,
  cost_trend_7d: (a) => `Cost of ${a.customerName} up ${percent(a.value)} week over week`,
  freemium_cliff: () => 'Trial customers cost more than paying customers',
  unattributed_share: (a) => `${percent(a.value)} of cost reaches no customer`,
};

const NEXT_STEPS: Record<Alert['type'], string[]> = {
  cost_to_mrr: [
    'Check the top services below for a runaway resource or an unusual workload.',
    "Review the customer's plan and pricing with its account owner.",
  ],
  cost_trend_7d: [
    'Compare this week with last week in customer_daily_service_cost to see which service grew.',
  ],
  freemium_cliff: ['Review trial limits: the trial is costing more to serve than a paying customer.'],
  unattributed_share: [
    'Look at unattributed.csv (or the unattributed_cost view) by reason and service.',
    'Tag the untagged resources with the tenant tag, or send telemetry for the pools without a usage signal.',
  ],
};

/** The figures a person needs, one per line. */
function facts(alert: Alert): string[] {
  const lines: string[] = [];
  if (alert.customerId !== null) {
    lines.push(
      `Customer: ${alert.customerName} (${alert.customerId}), ${alert.tier ?? 'no tier'}, ${alert.planStatus ?? ''}`.trim(),
    );
    if (alert.mrr !== null) lines.push(`MRR: ${money(alert.mrr)}`);
    if (alert.cost30d !== null) lines.push(`Cost over 30 days: ${money(alert.cost30d)}`);
  }
  const measured = alert.type === 'freemium_cliff' ? money(alert.value) : percent(alert.value);
  const threshold = alert.type === 'freemium_cliff' ? money(alert.threshold) : percent(alert.threshold);
  lines.push(`Measured: ${measured} (threshold ${threshold})`);
  if (alert.topServices.length > 0) {
    lines.push(
      `Top services: ${alert.topServices
        .map((s) => `${s.service} ${money(s.cost)}${s.team ? ` (${s.team})` : ''}`)
        .join(', ')}`,
    );
  }
  lines.push(`As of ${alert.asOf}; routed to ${alert.team}.`);
  return lines;
}

/**
 * The AWS Chatbot custom notification for an alert, so a Chatbot Slack channel subscribed to the topic
 * renders it (version 1.0, source custom, client-markdown content).
 */
export function chatbotNotification(alert: Alert): Record<string, unknown> {
  return {
    version: '1.0',
    source: 'custom',
    id: `${alert.type}:${alert.subject}:${alert.asOf}`,
    content: {
      textType: 'client-markdown',
      title: TITLES[alert.type](alert),
      description: [alert.explanation, '', ...facts(alert).map((line) => `• ${line}`)].join('\n'),
      nextSteps: NEXT_STEPS[alert.type],
    },
    metadata: {
      threadId: `${alert.type}:${alert.subject}`,
      summary: alert.explanation,
      eventType: alert.type,
      additionalContext: { severity: alert.severity, team: alert.team },
    },
  };
}

/** The same alert as plain text, for email subscribers. */
export function plainTextMessage(alert: Alert): string {
  return [
    TITLES[alert.type](alert),
    '',
    alert.explanation,
    '',
    ...facts(alert),
    '',
    'Next steps:',
    ...NEXT_STEPS[alert.type].map((step) => `- ${step}`),
  ].join('\n');
}

/**
 * SNS message attributes that let each team's subscription filter for its own alerts
 * (e.g. a filter policy {"team": ["team-data"], "severity": ["P1"]}).
 */
export function messageAttributes(alert: Alert): Record<string, { DataType: 'String'; StringValue: string }> {
  const attributes: Record<string, { DataType: 'String'; StringValue: string }> = {
    severity: { DataType: 'String', StringValue: alert.severity },
    alert_type: { DataType: 'String', StringValue: alert.type },
    team: { DataType: 'String', StringValue: alert.team },
  };
  if (alert.customerId !== null)
    attributes.customer_id = { DataType: 'String', StringValue: alert.customerId };
  if (alert.tier) attributes.tier = { DataType: 'String', StringValue: alert.tier };
  return attributes;
}

/**
 * The SNS message body: JSON with a per-protocol message (MessageStructure "json"): Chatbot and other
 * HTTPS or Lambda subscribers get the notification JSON, email subscribers the plain text.
 */
export function snsMessage(alert: Alert): string {
  const notification = JSON.stringify(chatbotNotification(alert));
  const body = JSON.stringify({ default: notification, email: plainTextMessage(alert) });
  if (Buffer.byteLength(body) > SNS_MAX_MESSAGE_BYTES) {
    throw new Error(`Alert ${alert.type} for ${alert.subject} is larger than SNS allows`);
  }
  return body;
}
