/**
 * Persistent and transient cluster settings, stored flat ("cluster.remote.a.seeds") with string or
 * string-list values, the way Elasticsearch's Settings hold them.
 */
export type SettingValue = string | string[];
export type FlatSettings = Map<string, SettingValue>;

export class ClusterSettings {
  readonly persistent: FlatSettings = new Map();
  readonly transient: FlatSettings = new Map();

  /** Transient values win over persistent ones. */
  effective(): FlatSettings {
    return new Map([...this.persistent, ...this.transient]);
  }

  clear(): void {
    this.persistent.clear();
    this.transient.clear();
  }
}

/** Flattens a settings object that may mix nested objects and dotted keys. `null` values are kept (removal). */
export function flattenSettings(input: unknown, prefix = ''): Map<string, SettingValue | null> {
  const flat = new Map<string, SettingValue | null>();
  if (input === null || input === undefined || typeof input !== 'object' || Array.isArray(input)) return flat;
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value === null) flat.set(path, null);
    else if (Array.isArray(value)) flat.set(path, value.map(settingString));
    else if (typeof value === 'object') for (const [k, v] of flattenSettings(value, path)) flat.set(k, v);
    else flat.set(path, settingString(value));
  }
  return flat;
}

/** Nests flat keys into objects, as the settings APIs answer without `flat_settings=true`. */
export function nestSettings(flat: Iterable<[string, SettingValue]>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of flat) {
    const parts = key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const child = node[part];
      if (child === undefined || typeof child !== 'object' || Array.isArray(child)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return root;
}

export function settingsToObject(
  flat: Iterable<[string, SettingValue]>,
  flatOutput: boolean,
): Record<string, unknown> {
  return flatOutput ? Object.fromEntries(flat) : nestSettings(flat);
}

function settingString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
