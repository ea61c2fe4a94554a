// Bundled sample profiles: `assets/samples/manifest.json` lists `{ id, title, description, file, format }`.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import type { SampleProfile } from '../contract/api';
import { ContractError } from '../contract/api';

interface ManifestEntry extends SampleProfile {
  file: string;
}

export class SampleCatalog {
  private entries: ManifestEntry[] | null = null;

  constructor(private readonly dir: string) {}

  private load(): ManifestEntry[] {
    if (this.entries) return this.entries;
    const manifest = join(this.dir, 'manifest.json');
    if (!existsSync(manifest)) return (this.entries = []);
    try {
      const data = JSON.parse(readFileSync(manifest, 'utf8')) as { samples?: ManifestEntry[] };
      this.entries = (data.samples ?? []).filter(
        (s) => typeof s.id === 'string' && typeof s.file === 'string' && existsSync(join(this.dir, s.file)),
      );
    } catch (err) {
      throw new ContractError('internal', `the sample manifest ${manifest} is broken: ${(err as Error).message}`);
    }
    return this.entries;
  }

  list(): SampleProfile[] {
    return this.load().map(({ id, title, description, format }) => ({ id, title, description, format }));
  }

  /** Absolute path of a sample's file; 'not-found' for an unknown id. */
  pathOf(id: string): string {
    const entry = this.load().find((s) => s.id === id);
    if (!entry) {
      const ids = this.load().map((s) => s.id).join(', ') || 'none';
      throw new ContractError('not-found', `no sample named '${id}': the bundled samples are ${ids}`);
    }
    return join(this.dir, entry.file);
  }

  /**
   * Where the source of a sample's frame file is: the samples were recorded in RECORDED_IN (source/generate.sh) from
   * the copies in `source/`, which are read instead (a file in /tmp is anybody's). Null when `tracePath` is not a
   * sample's or the file is not one of those.
   */
  sourceOf(tracePath: string, file: string): string | null {
    if (!tracePath.startsWith(this.dir + sep) || dirname(file) !== RECORDED_IN) return null;
    const copy = join(this.dir, 'source', basename(file));
    return existsSync(copy) ? copy : null;
  }
}

/** The folder source/generate.sh records the samples in: their frames name files there. */
const RECORDED_IN = '/tmp/emberscope-sample';
