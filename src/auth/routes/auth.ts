/**
 * Routes: register, login, MFA verify, refresh, logout, sessions, passwords.
 * Login, MFA verify, refresh and logout also speak the console's cookie mode
 * (flows/console-session.ts): same routes, same bodies, the refresh token in an
 * HttpOnly cookie instead of the JSON.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { RampartError } from "../../errors/index.js";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import type { TokenPair as IssuedPair } from "../flows/common.js";
import { assertSameOriginConsole, clearedRefreshCookie, CONSOLE_HEADER, cookieModeSettings, refreshCookie, refreshTokenFromCookie, wantsCookieMode, type CookieModeRequest } from "../flows/console-session.js";
import { login, verifyMfa, type LoginResult } from "../flows/login.js";
import { changePassword, forgotPassword, resetPassword } from "../flows/password.js";
import { signUp } from "../flows/register.js";
import { deleteSession, logout, logoutAll, refresh } from "../flows/sessions.js";
import { guard, principalOf } from "../plugin.js";
import { Code, Email, IdParams, MfaRequired, OpaqueToken, Password, PublicUser, Session, TokenPair } from "../schemas.js";
import type { ClientInfo } from "../sessions.js";

export function clientInfo(request: FastifyRequest): ClientInfo {
  const ua = request.headers["user-agent"];
  return { ip: request.ip, ...(typeof ua === "string" ? { userAgent: ua.slice(0, 256) } : {}) };
}

const tags = ["auth"];
const bearer = [{ bearer: [] }];

/** A token pair in cookie mode: the refresh token went into the cookie. */
const CookieTokenPair = Type.Omit(TokenPair, ["refreshToken"], { description: "With `X-Rampart-Console: 1`: the refresh token is in the `rampart_refresh` cookie, not here." });
const ConsoleHeaders = Type.Object({ [CONSOLE_HEADER]: Type.Optional(Type.Literal("1", { description: "Cookie mode (the web console): see docs/identity.md, Browser sessions." })) });

function cookieRequest(request: FastifyRequest): CookieModeRequest {
  const header = (name: string) => {
    const v = request.headers[name];
    return typeof v === "string" ? v : undefined;
  };
  return { consoleHeader: header(CONSOLE_HEADER), origin: header("origin"), ownOrigin: `${request.protocol}://${request.host}`, cookie: header("cookie") };
}

export const authRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  const cookieMode = cookieModeSettings(identity.runtime.config);
  // The cookie goes only to the refresh route; logout clears it by the same path.
  const refreshPath = `${app.prefix}/auth/refresh`;
  const cookieMaxAge = identity.runtime.config.refreshTokenTtlDays * 86_400;
  /** Checks a cookie-mode request's origin (403 otherwise); whether the request is in cookie mode. */
  const consoleMode = (request: FastifyRequest): boolean => {
    const req = cookieRequest(request);
    if (!wantsCookieMode(req)) return false;
    assertSameOriginConsole(cookieMode, req);
    return true;
  };
  /** In cookie mode: the refresh token goes into the cookie and out of the body. */
  const deliver = (reply: FastifyReply, inCookieMode: boolean, result: LoginResult): LoginResult | Omit<IssuedPair, "refreshToken"> => {
    if (!inCookieMode || "mfaRequired" in result) return result;
    const { refreshToken, ...rest } = result;
    reply.header("set-cookie", refreshCookie(cookieMode, refreshPath, refreshToken, cookieMaxAge));
    return rest;
  };
  app.post(
    "/auth/register",
    {
      config: { rateLimit: { policy: "register" }, idempotent: true },
      schema: {
        tags,
        summary: "Create an account",
        description:
          "Default (`AUTH_REGISTRATION_CONFLICT=silent`): 202 with the same body whether or not the email already has an account; a new account is mailed a verification link, the owner of an existing one a notice. `explicit`: 201 with the user, or 409 EMAIL_TAKEN.",
        body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
        response: { 201: Envelope(Type.Object({ user: PublicUser })), 202: Envelope(Type.Object({ accepted: Type.Literal(true) })) },
      },
    },
    async (request, reply) => {
      const body = request.body as { email: string; password: string };
      const result = await signUp(identity, body);
      if (identity.runtime.config.authRegistrationConflict === "explicit" && result.created) {
        reply.code(201);
        return ok(request, { user: result.user });
      }
      reply.code(202);
      return ok(request, { accepted: true as const });
    },
  );

  app.post(
    "/auth/login",
    {
      config: { rateLimit: { policy: "login" } },
      schema: {
        tags,
        summary: "Log in with email and password",
        description: "Returns tokens, or `{mfaRequired, mfaToken}` when MFA is on. Unknown email and wrong password give the same 401 in the same time.",
        headers: ConsoleHeaders,
        body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Union([TokenPair, MfaRequired, CookieTokenPair])) },
      },
    },
    async (request, reply) => {
      const inCookieMode = consoleMode(request);
      return ok(request, deliver(reply, inCookieMode, await login(identity, request.body as { email: string; password: string }, clientInfo(request))));
    },
  );

  app.post(
    "/auth/mfa/verify",
    {
      config: { rateLimit: { policy: "login" } },
      schema: { tags, summary: "Second login step: TOTP or backup code", headers: ConsoleHeaders, body: Type.Object({ mfaToken: OpaqueToken, code: Code }, { additionalProperties: false }), response: { 200: Envelope(Type.Union([TokenPair, CookieTokenPair])) } },
    },
    async (request, reply) => {
      const inCookieMode = consoleMode(request);
      return ok(request, deliver(reply, inCookieMode, await verifyMfa(identity, request.body as { mfaToken: string; code: string })));
    },
  );

  app.post(
    "/auth/refresh",
    {
      schema: {
        tags,
        summary: "Rotate a refresh token for a new pair",
        description: "`refreshToken` is required, except in cookie mode (`X-Rampart-Console: 1` from the console's origin), where the `rampart_refresh` cookie carries it and the new one is set there.",
        headers: ConsoleHeaders,
        body: Type.Object({ refreshToken: Type.Optional(OpaqueToken) }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Union([TokenPair, CookieTokenPair])) },
      },
    },
    async (request, reply) => {
      const bodyToken = (request.body as { refreshToken?: string }).refreshToken;
      const req = cookieRequest(request);
      // A request that would be authenticated by the cookie is a cookie-mode request, header or not.
      const usesCookie = bodyToken === undefined && refreshTokenFromCookie(req.cookie) !== undefined;
      if (!usesCookie && !wantsCookieMode(req)) {
        if (bodyToken === undefined) throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "body.refreshToken", message: "must have required property 'refreshToken'" }] } });
        return ok(request, await refresh(identity, bodyToken));
      }
      assertSameOriginConsole(cookieMode, req);
      const token = bodyToken ?? refreshTokenFromCookie(req.cookie);
      if (token === undefined) throw new RampartError("UNAUTHENTICATED", { message: "No console session; sign in again." });
      try {
        return ok(request, deliver(reply, true, await refresh(identity, token)));
      } catch (err) {
        // A spent or revoked session: the browser should stop sending its cookie.
        reply.header("set-cookie", clearedRefreshCookie(cookieMode, refreshPath));
        throw err;
      }
    },
  );

  app.post(
    "/auth/logout",
    { config: { noBody: true }, preHandler: guard(), schema: { tags, security: bearer, summary: "End the current session", response: { 200: Envelope(Type.Object({ loggedOut: Type.Boolean() })) } } },
    async (request, reply) => {
      if (consoleMode(request)) reply.header("set-cookie", clearedRefreshCookie(cookieMode, refreshPath));
      const p = principalOf(request);
      if (p.sessionId) await logout(identity, p.userId, p.sessionId);
      return ok(request, { loggedOut: p.sessionId !== undefined });
    },
  );

  app.post(
    "/auth/logout-all",
    { config: { noBody: true }, preHandler: guard("sessions:write"), schema: { tags, security: bearer, summary: "End every session of the caller", response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } } },
    async (request) => ok(request, { sessionsRevoked: await logoutAll(identity, principalOf(request).userId) }),
  );

  app.get(
    "/auth/sessions",
    { preHandler: guard("sessions:read"), schema: { tags, security: bearer, summary: "The caller's live sessions", response: { 200: Envelope(Type.Object({ sessions: Type.Array(Session) })) } } },
    async (request) => {
      const p = principalOf(request);
      const sessions = (await identity.sessions.list(p.userId)).map((s) => ({ ...s, current: s.id === p.sessionId }));
      return ok(request, { sessions });
    },
  );

  app.delete(
    "/auth/sessions/:id",
    { preHandler: guard("sessions:write"), schema: { tags, security: bearer, summary: "End one of the caller's sessions", params: IdParams, response: { 200: Envelope(Type.Object({ revoked: Type.Boolean() })) } } },
    async (request) => {
      await deleteSession(identity, principalOf(request).userId, (request.params as { id: string }).id);
      return ok(request, { revoked: true });
    },
  );

  app.post(
    "/auth/password/change",
    {
      preHandler: guard("me:write"),
      schema: {
        tags,
        security: bearer,
        summary: "Change the password; ends every other session",
        description: "Re-authenticates: `currentPassword` counts toward the login lockout, and `code` (TOTP or backup code) is required when MFA is on.",
        body: Type.Object({ currentPassword: Password, newPassword: Password, code: Type.Optional(Code) }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return ok(request, await changePassword(identity, p.userId, p.sessionId, request.body as { currentPassword: string; newPassword: string; code?: string }));
    },
  );

  app.post(
    "/auth/password/forgot",
    {
      config: { rateLimit: { policy: "forgot" } },
      schema: { tags, summary: "Email a reset link (always 202, same body)", body: Type.Object({ email: Email }, { additionalProperties: false }), response: { 202: Envelope(Type.Object({ accepted: Type.Literal(true) })) } },
    },
    async (request, reply) => {
      forgotPassword(identity, (request.body as { email: string }).email);
      reply.code(202);
      return ok(request, { accepted: true as const });
    },
  );

  app.post(
    "/auth/password/reset",
    { config: { rateLimit: { policy: "forgot" } }, schema: { tags, summary: "Set a new password with an emailed token; ends every session and revokes every API key", body: Type.Object({ token: OpaqueToken, newPassword: Password }, { additionalProperties: false }), response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer(), apiKeysRevoked: Type.Integer() })) } } },
    async (request) => ok(request, await resetPassword(identity, request.body as { token: string; newPassword: string })),
  );
};
