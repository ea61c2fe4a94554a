// Shared by the unit suites: await a promise that must reject, and check what it rejected with.
import { expect } from 'vitest';

/** The error `p` rejects with, checked to be an instance of `type`; fails the test if `p` resolves. */
export async function rejection<E>(p: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as E;
}
