import { kvConformance } from "./conformance.js";
import { redisKvHarness } from "../helpers/redis.js";
import { serviceUrl } from "../helpers/services.js";

const url = serviceUrl("TEST_REDIS_URL");

kvConformance("redis", async () => {
  const h = await redisKvHarness(url);
  return {
    store: h.kv,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    peer: h.peer,
    done: h.done,
  };
});
