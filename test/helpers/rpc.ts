/** Small pieces the connection tests share. */
export const req = (id: unknown, method: string, params?: unknown) => ({
  jsonrpc: "2.0",
  id,
  method,
  ...(params === undefined ? {} : { params }),
});

/** One turn of the event loop, for answers that settle on a later tick. */
export const tick = () => new Promise((r) => setImmediate(r));

/** A promise and the function that resolves it. */
export const deferred = () => {
  let resolve!: (v: unknown) => void;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
};
