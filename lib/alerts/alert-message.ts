import { DEFAULT_CURRENCY, formatMoney } from '../common/money.ts';
import type { Alert } from './alert.ts';
import { type AlertTypeDefinition, formatAlertFigure } from './alert-type.ts';
import { alertTypeNamed } from './alert-types.ts';

/*
 * An alert as people read it: the layout is common to every type; the title, next steps and the unit of
 * the measured figure come from the alert's type (lib/alerts/types/).
 */

/** SNS's limit for a message; a Chatbot notification must fit in it whole. */
export const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

/** Which types an alert may be of, and the currency its money is in. */
export interface AlertMessageOptions {
  /** The types that may have raised the alert; @default ALERT_TYPES */
  readonly types?: readonly AlertTypeDefinition[];
  /** @default DEFAULT_CURRENCY */
  readonly currency?: string;
}

/** The pieces of an alert's message: what its type says, and the figures a person needs. */
function parts(alert: Alert, options: AlertMessageOptions) {
  const type = alertTypeNamed(alert.type, options.types);
  const currency = options.currency ?? DEFAULT_CURRENCY;
  const money = (value: number) => formatMoney(value, currency);
  const figure = (value: number) => formatAlertFigure(type.unit, value, currency);
  const facts: string[] = [];
  if (alert.customerId !== null) {
    facts.push(
      `Customer: ${alert.customerName} (${alert.customerId}), ${alert.tier ?? 'no tier'}, ${alert.planStatus ?? ''}`.trim(),
    );
    if (alert.mrr !== null) facts.push(`MRR: ${money(alert.mrr)}`);
    if (alert.cost30d !== null) facts.push(`Cost over 30 days: ${money(alert.cost30d)}`);
  }
  facts.push(`Measured: ${figure(alert.value)} (threshold ${figure(alert.threshold)})`);
  if (alert.topServices.length > 0) {
    facts.push(
      `Top services: ${alert.topServices
        .map((s) => `${s.service} ${money(s.cost)}${s.team ? ` (${s.team})` : ''}`)
        .join(', ')}`,
    );
  }
  facts.push(`As of ${alert.asOf}; routed to ${alert.team}.`);
  return { title: type.title(alert, currency), nextSteps: type.nextSteps, facts };
}

/**
 * The AWS Chatbot custom notification for an alert, so a Chatbot Slack channel subscribed to the topic
 * renders it (version 1.0, source custom, client-markdown content).
 */
export function chatbotNotification(
  alert: Alert,
  options: AlertMessageOptions = {},
): Record<string, unknown> {
  const { title, nextSteps, facts } = parts(alert, options);
  return {
    version: '1.0',
    source: 'custom',
    id: `${alert.type}:${alert.subject}:${alert.asOf}`,
    content: {
      textType: 'client-markdown',
      title,
      description: [alert.explanation, '', ...facts.map((line) => `• ${line}`)].join('\n'),
      nextSteps: [...nextSteps],
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
export function plainTextMessage(alert: Alert, options: AlertMessageOptions = {}): string {
  const { title, nextSteps, facts } = parts(alert, options);
  return [
    title,
    '',
    alert.explanation,
    '',
    ...facts,
    '',
    'Next steps:',
    ...nextSteps.map((step) => `- ${step}`),
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
export function snsMessage(alert: Alert, options: AlertMessageOptions = {}): string {
  const notification = JSON.stringify(chatbotNotification(alert, options));
  const body = JSON.stringify({ default: notification, email: plainTextMessage(alert, options) });
  if (Buffer.byteLength(body) > SNS_MAX_MESSAGE_BYTES) {
    throw new Error(`Alert ${alert.type} for ${alert.subject} is larger than SNS allows`);
  }
  return body;
}
