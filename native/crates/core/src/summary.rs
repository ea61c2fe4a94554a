//! TODO(helper): the summary printed by `emberscope open --json` (see `ProfileSummary` in profile.ts).
