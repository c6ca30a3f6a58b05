/*
 * Safe text for alert messages (docs/alerts.md "Message format"). Customer names, ids, tiers, teams and
 * service names come from data; put as they are into Chatbot's client-markdown, a name like `<!channel>`
 * mentions a whole Slack channel and `<https://x|y>` or `*x*` become a link or formatting. Every data
 * value goes into a message through one of these functions; the product's own text does not.
 */

/** How long a data value may be in a message, in characters, `…` included. */
export const MAX_VALUE_LENGTH = 80;

/**
 * A channel's safe-text function: how a data value is written in that channel's message, cut to `max`
 * characters ({@link MAX_VALUE_LENGTH} unless told; `Infinity` for a whole text treated as data).
 */
export type SafeText = (value: string, max?: number) => string;

/**
 * `value` cut to `max` characters, the last being `…` when it was cut. Counts code points, so a cut never
 * splits a surrogate pair (an emoji in a customer name).
 */
export function cut(value: string, max: number = MAX_VALUE_LENGTH): string {
  const chars = [...value];
  return chars.length <= max ? value : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

// Control characters (newlines, tabs, ...) would break a message's one-fact-per-line layout.
const CONTROL = /[\p{Cc}\u2028\u2029]+/gu;
// Slack's markdown control characters: bold, italic, strike and code.
const MARKDOWN = /[*_~`]/g;

/**
 * A data value for a plain-text message (email): control characters become a space, markdown control
 * characters go (so the email reads as the Slack message does: "the same content"), then cut to `max`.
 * Not HTML-escaped: the email is plain text.
 */
export function plainText(value: string, max: number = MAX_VALUE_LENGTH): string {
  return cut(value.replace(CONTROL, ' ').replace(MARKDOWN, ''), max);
}

/**
 * A data value for Slack (Chatbot client-markdown): as {@link plainText}, then escaped for Slack (`&`,
 * `<`, `>`), so it can neither mention, link nor format. Cut before escaping, so the limit counts what a
 * reader sees and no entity is cut in half.
 */
export function slackText(value: string, max: number = MAX_VALUE_LENGTH): string {
  return plainText(value, max).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The identity: the raw value, for the text kept outside messages (alerts.json, the terminal). */
export const rawText: SafeText = (value) => value;

/**
 * A data value for a plain-text operations message: control characters become a space (a value cannot
 * forge the message's lines), everything else is kept exactly, since an error must name the column as
 * it is written; cut to `max`.
 */
export function lineText(value: string, max: number = MAX_VALUE_LENGTH): string {
  return cut(value.replace(CONTROL, ' '), max);
}
