// The upgrade's report and its one-line description (kept apart from the converter so that
// the CLI can print it without loading the adapters).

export interface UpgradeStep {
  op: string;
  /** The schema version the nodes were converted to. */
  version: number;
  nodes: number;
  how: string;
}

export interface UpgradeReport {
  from: number;
  to: number;
  irVersion: { from: number | null; to: number | null };
  /** Nodes rewritten, per op and version. */
  converted: UpgradeStep[];
  /** Nodes whose schema version changed with nothing to rewrite. */
  versionOnly: number;
}

/** One line: "opset 9 → 12: Slice ×3 at 10 (…), …; 12 other nodes only changed version". */
export function describeUpgrade(r: UpgradeReport): string {
  const steps = r.converted.map((s) => `${s.op} ×${s.nodes} at ${s.version} (${s.how})`);
  const rest = r.versionOnly ? `; ${r.versionOnly} other nodes only changed version` : '';
  return `opset ${r.from} → ${r.to}: ${steps.length ? steps.join(', ') : 'no node needed rewriting'}${rest}`;
}
