// Shared by the exact-mode suites: how many recorded calls (spans) of a function a profile holds.
import type { Profile } from '../../electron/contract/profile';

export function callsOf(profile: Profile, name: string): number {
  let n = 0;
  for (const t of profile.threads) {
    for (let i = 0; i < t.spans.frame.length; i++) {
      if (profile.strings[profile.frames.func[t.spans.frame[i]!]!] === name) n++;
    }
  }
  return n;
}
