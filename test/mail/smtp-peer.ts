/**
 * A local SMTP server (the `smtp-server` package) whose behaviour the test
 * scripts: accept mail, hang before its greeting, answer MAIL FROM with a
 * temporary 451 ("try again later"), or refuse the recipient with a permanent
 * 550. It counts the connections that reached it and the hanging ones the
 * client closed, so a test can tell a send refused by a circuit breaker from
 * one that was made.
 */
import { SMTPServer } from "smtp-server";

export type SmtpBehaviour = "ok" | "hang" | "busy" | "reject";

const reply = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

export class SmtpPeer {
  mode: SmtpBehaviour = "ok";
  connections = 0;
  /** Hanging connections the client closed. */
  abandoned = 0;
  readonly received: { to: string[] }[] = [];
  private readonly hanging = new Set<string>();

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<SmtpPeer> {
    const handlers: { peer?: SmtpPeer } = {};
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      // Connections still open at close are cut after this long (default 30 s).
      closeTimeout: 100,
      onConnect(session, callback) {
        const peer = handlers.peer!;
        peer.connections++;
        // No callback: the greeting never comes.
        if (peer.mode === "hang") peer.hanging.add(session.id);
        else callback();
      },
      onClose(session) {
        const peer = handlers.peer!;
        if (peer.hanging.delete(session.id)) peer.abandoned++;
      },
      onMailFrom(_address, _session, callback) {
        callback(handlers.peer!.mode === "busy" ? reply(451, "Requested action aborted: try again later") : null);
      },
      onRcptTo(_address, _session, callback) {
        callback(handlers.peer!.mode === "reject" ? reply(550, "No such user here") : null);
      },
      onData(stream, session, callback) {
        stream.on("data", () => undefined);
        stream.on("end", () => {
          handlers.peer!.received.push({ to: session.envelope.rcptTo.map((r) => r.address) });
          callback();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const peer = new SmtpPeer(server, (server.server.address() as { port: number }).port);
    handlers.peer = peer;
    return peer;
  }

  /** Waits (up to 2 s) until `n` hanging connections were closed by their client. */
  async abandonedAtLeast(n: number): Promise<number> {
    for (let i = 0; i < 100 && this.abandoned < n; i++) await new Promise((r) => setTimeout(r, 20));
    return this.abandoned;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
