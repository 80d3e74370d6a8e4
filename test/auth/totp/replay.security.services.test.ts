/**
 * Threat: TOTP code replay across server instances (RFC 6238 §5.2): the same
 * code sent to two instances behind a load balancer, or a racing request on
 * each, must still verify once. Redis store shared by two connections.
 */
import { redisKvHarness } from "../../helpers/redis.js";
import { serviceUrl } from "../../helpers/services.js";
import { replaySuite } from "./replay-suite.js";

const url = serviceUrl("TEST_REDIS_URL");

replaySuite("redis", async () => {
  const h = await redisKvHarness(url);
  return { kv: h.kv, peer: h.peer, done: h.done };
});
