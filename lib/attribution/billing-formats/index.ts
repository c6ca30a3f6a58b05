import { cur2 } from './cur2.ts';
import { focus } from './focus.ts';
import { legacy } from './legacy.ts';
import type { BillingFormat, BillingGlueTable, ManifestKind } from './types.ts';

export { cur2TagMapKey } from './cur2.ts';
export { legacyTagColumn } from './legacy.ts';
export * from './types.ts';

/** The registry: every billing format the product reads. A new format is one more entry here. */
export const BILLING_FORMAT_LIST = [cur2, legacy, focus] as const;

export type BillingFormatName = (typeof BILLING_FORMAT_LIST)[number]['name'];
export const BILLING_FORMAT_NAMES = BILLING_FORMAT_LIST.map((format) => format.name) as [
  BillingFormatName,
  ...BillingFormatName[],
];

/** The formats by name. */
export const BILLING_FORMATS = Object.fromEntries(
  BILLING_FORMAT_LIST.map((format) => [format.name, format]),
) as unknown as Readonly<Record<BillingFormatName, BillingFormat<BillingFormatName>>>;

/**
 * The format of a billing file from its column names (case-insensitive), or undefined when it is none
 * of the registry's: each format's detection, in ascending precedence.
 */
export function detectBillingFormat(columnNames: readonly string[]): BillingFormatName | undefined {
  return detectFormat(BILLING_FORMAT_LIST, columnNames)?.name as BillingFormatName | undefined;
}

/** {@link detectBillingFormat} over any list of formats. */
export function detectFormat(
  formats: readonly BillingFormat[],
  columnNames: readonly string[],
): BillingFormat | undefined {
  const names = new Set(columnNames.map((name) => name.toLowerCase()));
  return [...formats]
    .sort((a, b) => a.detection.precedence - b.detection.precedence)
    .find((format) => format.detection.matches(names));
}

/** A format a deployment has a Glue table for. */
export type DeployedBillingFormat = BillingFormat & { readonly glueTable: BillingGlueTable };

/** The formats that have a deployed Glue table, in registry order. */
export function deployedFormats(formats: readonly BillingFormat[]): DeployedBillingFormat[] {
  return formats.filter((format): format is DeployedBillingFormat => format.glueTable !== undefined);
}

/**
 * The first format a manifest kind delivers (undefined when none is delivered by it): what a manifest
 * of that kind is when its columns do not tell (lib/pipeline/manifest.ts).
 */
export function formatForManifestKind(
  kind: ManifestKind,
  formats: readonly BillingFormat[] = BILLING_FORMAT_LIST,
): BillingFormat | undefined {
  return formats.find((format) => format.manifestKind === kind);
}

/**
 * The Glue table of each format that has one, by format name (`cur2`, `legacy` and `focus` in the
 * shipped registry). A deployment's `BILLING_TABLES` holds those of the exports it reads
 * (lib/config/billing-exports.ts): `{"cur2":"cur2"}` without `cpc:billingExports`.
 */
export function billingTablesOf(
  formats: readonly BillingFormat[] = BILLING_FORMAT_LIST,
): Record<string, string> {
  return Object.fromEntries(deployedFormats(formats).map((format) => [format.name, format.glueTable.name]));
}
