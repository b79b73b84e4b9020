/** What a promise rejected with; a promise that resolves fails the test. */
export const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err,
  );
