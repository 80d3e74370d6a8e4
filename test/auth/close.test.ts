/**
 * Closing the app under a login queue: the login whose hash is computing
 * finishes — session written, tokens answered — before anything closes; the
 * ones still queued for the hasher get 503 + Retry-After at once (another
 * instance can take them) instead of holding the shutdown.
 */
import { describe, expect, it, vi } from "vitest";
import { createTestApp } from "../helpers/app.js";
import { call, credentials } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("closing the app during logins (%s)", (mode) => {
  it("finishes the computing login and refuses the queued ones with 503", async () => {
    // One hashing thread and slow hashes, so the queue is observable.
    const t = await createTestApp(mode, { env: { ARGON2_MAX_CONCURRENCY: "1", ARGON2_MEMORY_KIB: "19456", ARGON2_ITERATIONS: "12" } });
    let closed = false;
    try {
      const creds = credentials();
      expect((await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds })).statusCode).toBe(202);
      const logins = Array.from({ length: 4 }, () => call(t.app, { method: "POST", url: "/v1/auth/login", body: creds }));
      // One computing (its worker has started it), three waiting (one of them held by that worker).
      await vi.waitFor(() => expect(t.app.identity.hasher.stats()).toMatchObject({ active: 1, queued: 3 }), { timeout: 10_000, interval: 5 });
      const closing = t.app.close().then(() => (closed = true));
      const results = await Promise.all(logins);
      const ok = results.filter((r) => r.statusCode === 200);
      const refused = results.filter((r) => r.statusCode === 503);
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(3);
      for (const r of refused) expect(r.headers["retry-after"]).toBe("1");
      await closing;
      // The login that finished did all its work: its session is in the database.
      const sessions = await t.runtime.db.kysely.selectFrom("rampart_sessions").select("id").execute();
      expect(sessions.map((s) => s.id)).toContain(JSON.parse(Buffer.from(ok[0]!.data.accessToken.split(".")[1]!, "base64url").toString()).sid);
      expect(t.logs.records().filter((r) => r.level === "error")).toEqual([]);
    } finally {
      if (!closed) await t.app.close();
      await t.runtime.close();
      await t.env.cleanup();
    }
  });
});
