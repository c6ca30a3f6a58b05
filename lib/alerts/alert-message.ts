import { formatMoney } from '../common/money.ts';
import type { Alert } from './alert.ts';
import { type AlertTypeDefinition, formatAlertFigure } from './alert-type.ts';
import { alertTypeNamed } from './alert-types.ts';
import { plainText, type SafeText, slackText } from './safe-text.ts';

/*
 * An alert as people read it: the layout is common to every type; the title, next steps and the unit of
 * the measured figure come from the alert's type (lib/alerts/types/). Every data value (names, ids,
 * tiers, plan statuses, teams, services) goes in through the channel's safe-text function
 * (lib/alerts/safe-text.ts): slackText for Chatbot, plainText for email. The Alert keeps raw values.
 */

/** SNS's limit for a message with its attributes; a Chatbot notification must fit in it whole. */
export const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Which types an alert may be of. Its money is written in the alert's own {@link Alert.currency}: no
 * option can write it in another.
 */
export interface AlertMessageOptions {
  /** The types that may have raised the alert; @default ALERT_TYPES */
  readonly types?: readonly AlertTypeDefinition[];
}

/**
 * The pieces of an alert's message: what its type says, and the figures a person needs, with every data
 * value written by `text`.
 */
function parts(alert: Alert, options: AlertMessageOptions, text: SafeText) {
  const type = alertTypeNamed(alert.type, options.types);
  const { currency } = alert;
  const money = (value: number) => formatMoney(value, currency);
  const figure = (value: number) => formatAlertFigure(type.unit, value, currency);
  const facts: string[] = [];
  if (alert.customerId !== null) {
    const name = text(alert.customerName ?? alert.customerId);
    const tier = alert.tier === null ? 'no tier' : text(alert.tier);
    const planStatus = alert.planStatus === null ? '' : text(alert.planStatus);
    facts.push(`Customer: ${name} (${text(alert.customerId)}), ${tier}, ${planStatus}`.trim());
    if (alert.mrr !== null) facts.push(`MRR: ${money(alert.mrr)}`);
    if (alert.cost30d !== null) facts.push(`Cost over 30 days: ${money(alert.cost30d)}`);
  }
  facts.push(`Measured: ${figure(alert.value)} (threshold ${figure(alert.threshold)})`);
  if (alert.topServices.length > 0) {
    facts.push(
      `Top services: ${alert.topServices
        .map((s) => `${text(s.service)} ${money(s.cost)}${s.team ? ` (${text(s.team)})` : ''}`)
        .join(', ')}`,
    );
  }
  facts.push(`As of ${text(alert.asOf)}; routed to ${text(alert.team)}.`);
  // A type without explain() says nothing from data in its explanation, or does not say where: then the
  // whole explanation is treated as data, uncut (it is one sentence, not one value).
  const explanation =
    type.explain?.(alert, text, currency) ?? text(alert.explanation, Number.POSITIVE_INFINITY);
  // The next steps are the product's own words (they name tables such as customer_daily_service_cost).
  return { title: type.title(alert, text, currency), explanation, nextSteps: type.nextSteps, facts };
}

/**
 * The AWS Chatbot custom notification for an alert, so a Chatbot Slack channel subscribed to the topic
 * renders it (version 1.0, source custom, client-markdown content).
 */
export function chatbotNotification(
  alert: Alert,
  options: AlertMessageOptions = {},
): Record<string, unknown> {
  const { title, explanation, nextSteps, facts } = parts(alert, options, slackText);
  return {
    version: '1.0',
    source: 'custom',
    id: `${alert.type}:${alert.subject}:${alert.asOf}`,
    content: {
      textType: 'client-markdown',
      title,
      description: [explanation, '', ...facts.map((line) => `• ${line}`)].join('\n'),
      nextSteps: [...nextSteps],
    },
    metadata: {
      threadId: `${alert.type}:${alert.subject}`,
      summary: explanation,
      eventType: alert.type,
      additionalContext: { severity: alert.severity, team: slackText(alert.team) },
    },
  };
}

/**
 * The same alert as plain text, for email subscribers: data values cut and free of control and markdown
 * characters, not HTML-escaped.
 */
export function plainTextMessage(alert: Alert, options: AlertMessageOptions = {}): string {
  const { title, explanation, nextSteps, facts } = parts(alert, options, plainText);
  return [
    title,
    '',
    explanation,
    '',
    ...facts,
    '',
    'Next steps:',
    ...nextSteps.map((step) => `- ${step}`),
  ].join('\n');
}

/**
 * SNS message attributes that let each team's subscription filter for its own alerts
 * (e.g. a filter policy {"team": ["team-data"], "severity": ["P1"]}). Raw values, neither escaped nor
 * cut: a filter policy matches them exactly, and no one reads them as markdown.
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
  // SNS counts the message attributes (names, types and values) in the same limit.
  const attributeBytes = Object.entries(messageAttributes(alert)).reduce(
    (sum, [name, { DataType, StringValue }]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(DataType) + Buffer.byteLength(StringValue),
    0,
  );
  if (Buffer.byteLength(body) + attributeBytes > SNS_MAX_MESSAGE_BYTES) {
    throw new Error(`Alert ${alert.type} for ${alert.subject} is larger than SNS allows`);
  }
  return body;
}
