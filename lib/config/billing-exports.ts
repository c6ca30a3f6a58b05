import {
  BILLING_FORMATS,
  type BillingFormatName,
  type DeployedBillingFormat,
} from '../attribution/billing-formats.ts';

/**
 * One export in the CUR bucket the stack reads, and the billing format it delivers: the CUR 2.0 export
 * (`curExportName`), and each further one of `billingExports`. Each gets a Glue table (its format's
 * `glueTable`, over this export's folder), an S3 trigger on its manifests and grants on its prefix only.
 */
export interface BillingExport {
  readonly format: DeployedBillingFormat;
  /** The export's (or legacy report's) name: its folder under `curPrefix`. */
  readonly exportName: string;
  /**
   * The accounts whose exports of this name deliver, each into its own folder
   * `<curPrefix>/<account>/<exportName>` (an AWS Organization's payers: docs/aws-pipeline.md,
   * "Organizations"); a run of a period reads every one's latest delivery. Absent: the one folder
   * `<curPrefix>/<exportName>`.
   */
  readonly sourceAccounts?: readonly string[];
}

/** A further export as the configuration names it (`cpc:billingExports`). */
export interface BillingExportConfig {
  readonly format: BillingFormatName;
  readonly exportName: string;
}

/** The formats `billingExports` may name: every deployed format but CUR 2.0, which is `curExportName`'s. */
export const FURTHER_EXPORT_FORMATS = ['focus', 'legacy'] as const satisfies readonly BillingFormatName[];

/**
 * The export's folders in the CUR bucket: `<curPrefix>/<exportName>`, or with source accounts
 * `<curPrefix>/<account>/<exportName>` for each.
 */
export function exportFolders(
  curPrefix: string,
  billingExport: Pick<BillingExport, 'exportName' | 'sourceAccounts'>,
): string[] {
  const { exportName, sourceAccounts } = billingExport;
  if (sourceAccounts === undefined || sourceAccounts.length === 0) return [`${curPrefix}/${exportName}`];
  return sourceAccounts.map((account) => `${curPrefix}/${account}/${exportName}`);
}

/** The Glue partition key of the source account, in a billing table read from several accounts' folders. */
export const SOURCE_ACCOUNT_PARTITION = 'source_account';

/**
 * Where the export's Glue table reads: its folder and the location template of its partitions under
 * it (`<curPrefix>/<exportName>/<dataFolder>/`, or with source accounts `<curPrefix>/` and a template that
 * starts with the `source_account` partition).
 */
export function exportTableLocation(
  curPrefix: string,
  billingExport: BillingExport,
): { readonly folder: string; readonly template: string } {
  const { format, exportName, sourceAccounts } = billingExport;
  const dataFolder = format.glueTable.dataFolder(exportName);
  if (sourceAccounts === undefined || sourceAccounts.length === 0) {
    return {
      folder: `${curPrefix}/${exportName}/${dataFolder}`,
      template: format.glueTable.locationTemplate,
    };
  }
  return {
    folder: curPrefix,
    template: `\${${SOURCE_ACCOUNT_PARTITION}}/${exportName}/${dataFolder}/${format.glueTable.locationTemplate}`,
  };
}

/**
 * Every export a deployment reads: the CUR 2.0 export first, then the further ones in configuration
 * order. The configuration has been validated (lib/config/stack-config.ts): names are unique, each
 * format appears once.
 */
export function billingExportsOf(config: {
  readonly curExportName: string;
  readonly billingExports?: readonly BillingExportConfig[];
  readonly sourceAccountIds?: readonly string[];
}): BillingExport[] {
  const deployed = (name: BillingFormatName): DeployedBillingFormat => {
    const format = BILLING_FORMATS[name];
    if (format.glueTable === undefined) throw new Error(`billing format ${name} has no Glue table`);
    return format as DeployedBillingFormat;
  };
  return [
    {
      format: deployed('cur2'),
      exportName: config.curExportName,
      ...(config.sourceAccountIds?.length ? { sourceAccounts: config.sourceAccountIds } : {}),
    },
    ...(config.billingExports ?? []).map((e) => ({ format: deployed(e.format), exportName: e.exportName })),
  ];
}

/**
 * Checks a list of exports for what a construct cannot build: two exports in one folder, or two of
 * one format (one Glue table per format).
 * @throws Error naming the duplicate
 */
export function checkBillingExports(exports: readonly BillingExport[], where: string): void {
  const names = new Set<string>();
  const tables = new Set<string>();
  for (const { format, exportName } of exports) {
    if (names.has(exportName)) throw new Error(`${where}: export ${exportName} is named twice`);
    if (tables.has(format.glueTable.name)) {
      throw new Error(`${where}: two exports of format ${format.name} (one Glue table per format)`);
    }
    names.add(exportName);
    tables.add(format.glueTable.name);
  }
}
