/**
 * systemd's notify protocol (`Type=notify`): datagrams such as `READY=1` sent to the unix socket
 * named by `NOTIFY_SOCKET`. Node has no unix datagram sockets, so this uses the small `unix-dgram`
 * addon (an optional dependency, built at install); without it, `systemd-notify` (always present
 * where systemd sets NOTIFY_SOCKET) sends them, which needs `NotifyAccess=all` in the unit.
 * Without NOTIFY_SOCKET every call is a no-op.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

export interface Notifier {
  /** Whether NOTIFY_SOCKET is set. */
  readonly enabled: boolean;
  /** Sends one state string, e.g. "READY=1" or "STATUS=...". Never throws. */
  send(state: string): Promise<void>;
  /** The watchdog interval to ping at (half of WATCHDOG_USEC), if systemd asked for pings. */
  readonly watchdogMs: number | undefined;
  close(): void;
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
  on(event: "error", listener: (err: Error) => void): void;
  close(): void;
}

interface UnixDgramModule {
  createSocket(type: "unix_dgram"): UnixDgramSocket;
}

function loadUnixDgram(): UnixDgramModule | undefined {
  try {
    return createRequire(import.meta.url)("unix-dgram") as UnixDgramModule;
  } catch {
    return undefined;
  }
}

export function createNotifier(
  env: Record<string, string | undefined>,
  onError: (message: string) => void,
): Notifier {
  const raw = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID;
  const watchdogMs =
    Number.isFinite(watchdogUsec) && watchdogUsec > 0 && (!watchdogPid || Number(watchdogPid) === process.pid)
      ? Math.max(1, Math.floor(watchdogUsec / 2000))
      : undefined;
  if (!raw) return { enabled: false, watchdogMs: undefined, send: async () => {}, close: () => {} };
  // "@name" is an abstract socket: the leading NUL in the address.
  const path = raw.startsWith("@") ? `\0${raw.slice(1)}` : raw;
  const dgram = loadUnixDgram();
  let socket: UnixDgramSocket | undefined;
  if (dgram) {
    socket = dgram.createSocket("unix_dgram");
    socket.on("error", (err) => onError(`NOTIFY_SOCKET ${raw}: ${err.message}`));
  }
  return {
    enabled: true,
    watchdogMs,
    send(state: string): Promise<void> {
      if (socket) {
        const buf = Buffer.from(state);
        return new Promise((done) => {
          socket.send(buf, 0, buf.length, path, (err) => {
            if (err) onError(`NOTIFY_SOCKET ${raw}: ${err.message}`);
            done();
          });
        });
      }
      return new Promise((done) => {
        const child = spawn("systemd-notify", [`--pid=${process.pid}`, ...state.split("\n")], {
          stdio: "ignore",
        });
        child.on("error", (err) => {
          onError(`systemd-notify: ${err.message}`);
          done();
        });
        child.on("exit", () => done());
      });
    },
    close() {
      socket?.close();
    },
  };
}

/**
 * CLOCK_MONOTONIC in microseconds, as `MONOTONIC_USEC=` wants it with `RELOADING=1` (libuv's
 * hrtime reads that clock on Linux).
 */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}
