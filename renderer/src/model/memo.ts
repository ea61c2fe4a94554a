// Tiny memoizers for derived tables. Derived data is keyed by the identity of its inputs (the Profile object, a
// CallTree object) so recomputation happens only when canonical state really changed, never on a re-render.

/** Memoizes `fn(obj)` per object identity; the cache dies with the object. */
export function memoizeByObject<O extends object, R>(fn: (obj: O) => R): (obj: O) => R {
  const cache = new WeakMap<O, R>();
  return (obj: O) => {
    let hit = cache.get(obj);
    if (hit === undefined && !cache.has(obj)) {
      hit = fn(obj);
      cache.set(obj, hit);
    }
    return hit as R;
  };
}

/** Memoizes `fn(obj, key)` per object identity and primitive key. */
export function memoizeByObjectAndKey<O extends object, K extends string | number, R>(
  fn: (obj: O, key: K) => R,
): (obj: O, key: K) => R {
  const cache = new WeakMap<O, Map<K, R>>();
  return (obj: O, key: K) => {
    let inner = cache.get(obj);
    if (!inner) {
      inner = new Map();
      cache.set(obj, inner);
    }
    if (!inner.has(key)) inner.set(key, fn(obj, key));
    return inner.get(key) as R;
  };
}
