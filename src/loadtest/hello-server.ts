/**
 * The calibration target: a bare node:http hello-world in a process of its
 * own (so it does not share the generator's event loop), the cheapest server
 * a request can meet. Prints `URL <url>` once listening; exits when its
 * parent closes stdin or on SIGTERM.
 */
import http from "node:http";

const body = JSON.stringify({ hello: "world" });
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`URL http://127.0.0.1:${port}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.stdin.on("end", stop);
process.stdin.resume();
process.once("SIGTERM", stop);
