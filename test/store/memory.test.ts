import { MemoryStore } from "../../src/store/memory.js";
import { storeContract } from "./contract.js";

storeContract("memory", () => {
  let store: MemoryStore | undefined;
  return {
    open: async (options) => (store = new MemoryStore(options)),
    second: async () => store!,
    cleanup: async () => {},
  };
});
