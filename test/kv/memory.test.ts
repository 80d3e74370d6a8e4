import { MemoryKv } from "../../src/kv/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { kvConformance } from "./conformance.js";

kvConformance("memory", async () => {
  const clock = new ManualClock();
  const store = new MemoryKv({ clock });
  return {
    store,
    advance: async (ms) => clock.advance(ms),
    // One process is one instance: the peer is the same store.
    peer: async () => store,
    done: () => store.close(),
  };
});
