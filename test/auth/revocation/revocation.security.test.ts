/**
 * Threat: a stolen access token replayed after its session ended. After
 * logout (or logout-all, a password reset, an admin ending the sessions) the
 * token must be refused with TOKEN_REVOKED on every instance from the moment
 * the revoking request returns — also on an instance that had verified and
 * cached it, and also when the revocation message is lost — while the user's
 * other sessions keep working.
 */
import { describe, expect, it } from "vitest";
import { testModes } from "../../helpers/modes.js";
import { codeOf, useRevocationLists, wrap } from "./fixtures.js";


describe.each(testModes())("access token replay after logout (%s)", (mode) => {
  const fx = useRevocationLists(mode);
  const list = fx.list.bind(fx);

  it("the other instance refuses a token it had cached, right after logout on the first", async () => {
    // Instance A loses every message it publishes: only the kv log can carry the revocation.
    const kvA = fx.stores.runtimes[0].kv;
    const lossy = wrap(kvA, { publish: () => Promise.resolve() });
    const [revA, revB] = [await list(fx.stores.runtimes[0], { kv: lossy }), await list(fx.stores.runtimes[1])];
    const f = await fx.stores.fixture({ revocations: revA });
    const b = (await f.instance({ revocations: revB })).tokens;
    try {
      const sid = `logout-${mode}`;
      const { token } = await f.tokens.issue({ sub: "user-1", sid, roles: ["user"] });
      const other = await f.tokens.issue({ sub: "user-1", sid: `other-${mode}`, roles: ["user"] });
      expect((await b.verify(token)).sid).toBe(sid);
      expect((await b.verify(token)).sid).toBe(sid); // now served from b's cache of verified tokens
      await revA.revokeSession(sid); // what logout does before it responds
      expect(await codeOf(b.verify(token))).toBe("TOKEN_REVOKED");
      expect(await codeOf(f.tokens.verify(token))).toBe("TOKEN_REVOKED");
      expect((await b.verify(other.token)).sid).toBe(`other-${mode}`);
    } finally {
      await f.close();
    }
  });

  it("logout-all refuses every listed session on every instance, not a session created afterwards", async () => {
    const [revA, revB] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1])];
    const f = await fx.stores.fixture({ revocations: revA });
    const b = (await f.instance({ revocations: revB })).tokens;
    try {
      const sids = [1, 2, 3].map((i) => `all-${mode}-${i}`);
      const tokens = await Promise.all(sids.map((sid) => f.tokens.issue({ sub: "user-2", sid, roles: ["user"] })));
      await revA.revokeSessions(sids);
      for (const t of tokens) for (const inst of [f.tokens, b]) expect(await codeOf(inst.verify(t.token))).toBe("TOKEN_REVOKED");
      // A login in the same second after logout-all is a new session and works.
      const fresh = await f.tokens.issue({ sub: "user-2", sid: `all-${mode}-new`, roles: ["user"] });
      expect((await b.verify(fresh.token)).sid).toBe(`all-${mode}-new`);
    } finally {
      await f.close();
    }
  });

  it("a revoked token stays refused until it would have expired anyway", async () => {
    const rev = await list(fx.stores.runtimes[0]);
    const f = await fx.stores.fixture({ revocations: rev });
    try {
      const { token } = await f.tokens.issue({ sub: "user-3", sid: `long-${mode}`, roles: [] });
      await rev.revokeSession(`long-${mode}`);
      fx.stores.clock.advance(900_000 + 29_000);
      expect(await codeOf(f.tokens.verify(token))).toBe("TOKEN_REVOKED");
      fx.stores.clock.advance(2_000);
      expect(await codeOf(f.tokens.verify(token))).toBe("TOKEN_EXPIRED");
    } finally {
      await f.close();
    }
  });
});
