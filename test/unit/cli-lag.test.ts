// The CLI's end-of-session warning when the sampler fell behind the asked rate.
import { describe, expect, it } from 'vitest';
import { warnAboutLag } from '../../electron/cli/live';

const opts = { rateHz: 1000, nonblocking: false, includeIdle: false, gilOnly: false, subprocesses: false };
const stats = (achievedHz: number, seconds = 5) => ({ taken: 0, missed: 0, samples: 0, elapsedNs: seconds * 1e9, achievedHz });

describe('warnAboutLag', () => {
  it('says nothing when the rate was kept (within 10%) or the run was too short to tell', () => {
    expect(warnAboutLag(stats(950), opts)).toBeNull();
    expect(warnAboutLag(stats(300, 0.5), opts)).toBeNull();
  });
  it('names the achieved rate and suggests non-blocking reads for a blocking session', () => {
    const w = warnAboutLag(stats(700), opts)!;
    expect(w).toContain('700 Hz, 70% of the 1000 Hz');
    expect(w).toContain('--nonblocking');
  });
  it('suggests only a lower rate when reads were already non-blocking', () => {
    const w = warnAboutLag(stats(500), { ...opts, nonblocking: true })!;
    expect(w).not.toContain('--nonblocking');
    expect(w).toContain('lower --rate');
  });
});
