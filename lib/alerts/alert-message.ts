import { formatMoney } from '../common/money.ts';
import type { Alert, Severity } from './alert.ts';
import { type AlertTypeDefinition, formatAlertFigure } from './alert-type.ts';
import { alertTypeNamed } from './alert-types.ts';
import type { PlannedMessage } from './delivery.ts';
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
  facts.push(...(type.facts?.(alert, text, currency) ?? []));
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

/** SNS message attributes, all of type String. */
export type MessageAttributes = Record<string, { DataType: 'String'; StringValue: string }>;

/**
 * SNS message attributes that let each team's subscription filter for its own alerts
 * (e.g. a filter policy {"team": ["team-data"], "severity": ["P1"]}). Raw values, neither escaped nor
 * cut: a filter policy matches them exactly, and no one reads them as markdown.
 */
export function messageAttributes(alert: Alert): MessageAttributes {
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
  return snsBody(
    chatbotNotification(alert, options),
    plainTextMessage(alert, options),
    messageAttributes(alert),
    `Alert ${alert.type} for ${alert.subject}`,
  );
}

/** SNS counts the message attributes (names, types and values) in the same limit as the message. */
function attributeBytes(attributes: MessageAttributes): number {
  return Object.entries(attributes).reduce(
    (sum, [name, { DataType, StringValue }]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(DataType) + Buffer.byteLength(StringValue),
    0,
  );
}

/** The MessageStructure json body of a notification and its email text, refused when over SNS's limit. */
function snsBody(
  notification: Record<string, unknown>,
  email: string,
  attributes: MessageAttributes,
  what: string,
): string {
  const body = JSON.stringify({ default: JSON.stringify(notification), email });
  if (Buffer.byteLength(body) + attributeBytes(attributes) > SNS_MAX_MESSAGE_BYTES) {
    throw new Error(`${what} is larger than SNS allows`);
  }
  return body;
}

/** A planned message as SNS gets it, with its plain-text title and email for the local run's messages.json. */
export interface RenderedMessage {
  /** The planned message's id (a PublishBatch entry id). */
  readonly id: string;
  /** The SNS Subject (email subject line): ASCII, one line, at most 100 characters. */
  readonly subject: string;
  /** The SNS message, MessageStructure json: `default` the Chatbot notification, `email` the text. */
  readonly message: string;
  readonly attributes: MessageAttributes;
  /** The title as the email writes it. */
  readonly title: string;
  readonly email: string;
}

/** The bytes SNS counts for a message: its body, subject and attributes. */
export function messageBytes(message: RenderedMessage): number {
  return (
    Buffer.byteLength(message.message) +
    Buffer.byteLength(message.subject) +
    attributeBytes(message.attributes)
  );
}

/** An SNS Subject: printable ASCII only (SNS refuses line breaks and control characters), cut to 100. */
function snsSubject(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 100);
}

/** Renders a message of a delivery plan (lib/alerts/delivery.ts) for SNS and for people. */
export function renderMessage(message: PlannedMessage, options: AlertMessageOptions = {}): RenderedMessage {
  const [first] = message.alerts;
  if (message.kind === 'single' && first !== undefined) {
    return {
      id: message.id,
      subject: snsSubject(`[${first.severity}] cost-per-customer: ${first.type}`),
      message: snsMessage(first, options),
      attributes: messageAttributes(first),
      title: parts(first, options, plainText).title,
      email: plainTextMessage(first, options),
    };
  }
  const attributes = groupAttributes(message);
  const email = groupText(message, options, plainText);
  const title = email.split('\n', 1)[0] ?? '';
  return {
    id: message.id,
    subject: snsSubject(
      `[${message.severity}] cost-per-customer: ${message.kind === 'digest' ? 'digest' : 'held back'} for ${plainText(message.team)}`,
    ),
    message: snsBody(
      groupNotification(message, options),
      email,
      attributes,
      `The ${message.kind} for ${message.team}`,
    ),
    attributes,
    title,
    email,
  };
}

/**
 * The attributes of a digest (`alert_type` `digest`) or held-back summary (`alert_type` `held_back`,
 * `severity` the highest it holds back): `severity`, `alert_type`, `team`, raw as for a single alert.
 */
export function groupAttributes(
  message: Pick<PlannedMessage, 'kind' | 'severity' | 'team'>,
): MessageAttributes {
  return {
    severity: { DataType: 'String', StringValue: message.severity },
    alert_type: { DataType: 'String', StringValue: message.kind === 'digest' ? 'digest' : 'held_back' },
    team: { DataType: 'String', StringValue: message.team },
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The total money at stake of `alerts`, when they share one currency (a run has one). */
function totalAtStake(alerts: readonly Alert[]): string | null {
  const currencies = new Set(alerts.map((a) => a.currency));
  const [currency] = currencies;
  if (currencies.size !== 1 || currency === undefined) return null;
  return formatMoney(
    alerts.reduce((sum, a) => sum + a.moneyAtStake, 0),
    currency,
  );
}

/**
 * The report's location as a channel writes it: the product's own (a bucket and key, or the --out
 * folder), but a local folder is the user's, so it is kept to one line, and in Slack to a code span
 * (where `_` in `billing_period=` does not turn into italics) with Slack's three characters escaped.
 */
function locationText(location: string, text: SafeText): string {
  const oneLine = location.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  if (text === slackText) {
    const escaped = oneLine
      .replaceAll('`', "'")
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;');
    return `\`${escaped}\``;
  }
  return oneLine;
}

const SEVERITY_ORDER: readonly Severity[] = ['P1', 'P2', 'WARNING'];

/** Title, lines and next steps of a digest or held-back summary, every data value written by `text`. */
function groupParts(message: PlannedMessage, options: AlertMessageOptions, text: SafeText) {
  const team = text(message.team);
  const where = locationText(message.reportLocation, text);
  const total = totalAtStake(message.alerts);
  const count = message.alerts.length;
  if (message.kind === 'held_back') {
    const bySeverity = SEVERITY_ORDER.flatMap((severity) => {
      const n = message.alerts.filter((a) => a.severity === severity).length;
      return n === 0 ? [] : [`${n} ${severity}`];
    }).join(', ');
    return {
      title: `${plural(count, 'alert')} for ${team} held back`,
      lines: [
        `This run reached its limit of ${message.cap} messages, so ${plural(count, 'alert')} for ${team} (${bySeverity}) ${count === 1 ? 'was' : 'were'} not sent.`,
        '',
        `As of ${text(message.asOf)}${total === null ? '' : `; ${total} at stake`}.`,
        `See them in the report: ${where}`,
      ],
      nextSteps: [
        'Read the held-back alerts in the report; the next run sends them.',
        'If every run reaches the limit, raise maxMessagesPerRun or the thresholds.',
      ],
    };
  }
  const shown = message.alerts.slice(0, message.listed);
  const more = count - shown.length;
  const heading =
    message.severity === 'WARNING'
      ? `Weekly digest for ${team}: ${plural(count, 'warning')}`
      : `${message.severity} digest for ${team}: ${plural(count, 'alert')}`;
  const types = [...new Set(shown.map((a) => a.type))].map((name) => alertTypeNamed(name, options.types));
  return {
    title: total === null ? heading : `${heading}, ${total} at stake`,
    lines: [
      `As of ${text(message.asOf)}, highest money at stake first:`,
      '',
      ...shown.map((alert) => {
        const type = alertTypeNamed(alert.type, options.types);
        return `• ${type.title(alert, text, alert.currency)}: ${formatMoney(alert.moneyAtStake, alert.currency)} at stake`;
      }),
      ...(more > 0 ? [`…and ${more} more`] : []),
      '',
      `Every alert, with its figures: ${where}`,
    ],
    nextSteps: [...new Set(types.flatMap((type) => type.nextSteps))],
  };
}

/** The Chatbot notification of a digest or held-back summary, threaded per (severity, team). */
export function groupNotification(
  message: PlannedMessage,
  options: AlertMessageOptions = {},
): Record<string, unknown> {
  const { title, lines, nextSteps } = groupParts(message, options, slackText);
  const team = slackText(message.team);
  return {
    version: '1.0',
    source: 'custom',
    id: `${message.kind}:${message.severity}:${team}:${message.asOf}`,
    content: { textType: 'client-markdown', title, description: lines.join('\n'), nextSteps },
    metadata: {
      threadId: `${message.kind}:${message.severity}:${team}`,
      summary: title,
      eventType: message.kind,
      additionalContext: { severity: message.severity, team },
    },
  };
}

/** The email text of a digest or held-back summary: the same content as plain text. */
function groupText(message: PlannedMessage, options: AlertMessageOptions, text: SafeText): string {
  const { title, lines, nextSteps } = groupParts(message, options, text);
  return [title, '', ...lines, '', 'Next steps:', ...nextSteps.map((step) => `- ${step}`)].join('\n');
}
