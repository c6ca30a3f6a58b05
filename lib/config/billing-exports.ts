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
}

/** A further export as the configuration names it (`cpc:billingExports`). */
export interface BillingExportConfig {
  readonly format: BillingFormatName;
  readonly exportName: string;
}

/** The formats `billingExports` may name: every deployed format but CUR 2.0, which is `curExportName`'s. */
export const FURTHER_EXPORT_FORMATS = ['focus', 'legacy'] as const satisfies readonly BillingFormatName[];

/** `<curPrefix>/<exportName>`: the export's folder in the CUR bucket. */
export function exportFolder(curPrefix: string, billingExport: Pick<BillingExport, 'exportName'>): string {
  return `${curPrefix}/${billingExport.exportName}`;
}

/** `<curPrefix>/<exportName>/<dataFolder>`: the folder its Glue table's partitions are in. */
export function exportDataFolder(curPrefix: string, billingExport: BillingExport): string {
  return `${exportFolder(curPrefix, billingExport)}/${billingExport.format.glueTable.dataFolder(billingExport.exportName)}`;
}

/**
 * Every export a deployment reads: the CUR 2.0 export first, then the further ones in configuration
 * order. The configuration has been validated (lib/config/stack-config.ts): names are unique, each
 * format appears once.
 */
export function billingExportsOf(config: {
  readonly curExportName: string;
  readonly billingExports?: readonly BillingExportConfig[];
}): BillingExport[] {
  const deployed = (name: BillingFormatName): DeployedBillingFormat => {
    const format = BILLING_FORMATS[name];
    if (format.glueTable === undefined) throw new Error(`billing format ${name} has no Glue table`);
    return format as DeployedBillingFormat;
  };
  return [
    { format: deployed('cur2'), exportName: config.curExportName },
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
