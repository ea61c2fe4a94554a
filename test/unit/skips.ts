// Skips that say why (test/README.md). A test that cannot run here is skipped with `it.skipIf`/`describe.skipIf`,
// never emptied into a pass: vitest counts it, and its title carries the reason, which run-all.sh lists.
import { isNativeBuilt } from '../../electron/services/native';

/** `<title> (skipped: <why>)` when `why` is set, else the title as it is. */
export function titled(title: string, why: string | null | false | undefined): string {
  return why ? `${title} (skipped: ${why})` : title;
}

/**
 * Why a prerequisite that the build or build/install-deps.sh provides is missing, or null when it is there. Under
 * CI=true this throws instead: CI installs and builds before it tests, so a missing one there is a broken run.
 */
export function missingPrerequisite(what: string, present: boolean, fix: string): string | null {
  if (present) return null;
  const why = `${what} is missing (${fix})`;
  if (process.env.CI === 'true') throw new Error(`${why}: under CI=true this fails instead of skipping`);
  return why;
}

/** The native addon (dist/native), needed by every test that runs the real services. */
export function missingNative(): string | null {
  return missingPrerequisite('the native addon (dist/native)', isNativeBuilt(), 'run `npm run build:native`');
}
