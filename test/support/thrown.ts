// Runs a function that must throw and returns what it threw, so tests can look at the error.

/** The error `fn` throws; fails the test if it returns normally. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}
