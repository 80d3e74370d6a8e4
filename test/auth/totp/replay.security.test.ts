/**
 * Threat: TOTP code replay (RFC 6238 §5.2). An attacker who sees a code
 * (shoulder-surfing, a phishing proxy, a logged request) reuses it within its
 * 30-90 s validity, sequentially or racing the victim's own request, or an
 * older code once a newer one was used; and guesses codes without limit
 * against one MFA challenge. In-process memory store; the Redis twin runs
 * the same suite (replay.security.services.test.ts).
 */
import { MemoryKv } from "../../../src/kv/index.js";
import { ManualClock } from "../../../src/runtime/index.js";
import { replaySuite } from "./replay-suite.js";

replaySuite("memory", async () => {
  const kv = new MemoryKv({ clock: new ManualClock() });
  // One process is one instance: the peer is the same store.
  return { kv, peer: async () => kv, done: () => kv.close() };
});
