/** BIRD for the ingest benchmark: a one-session config and a direct client of its control socket. */
import { connect, type Socket } from 'node:net';
import { sleep } from '@tsnet/testkit';

export function birdConfigFor(o: { routerId: string; local: string; peer: string; passive: boolean; statics?: string[] }): string {
  const statics = o.statics ? `protocol static s4 {\n  ipv4;\n${o.statics.map((p) => `  route ${p} blackhole;`).join('\n')}\n}\n` : '';
  return `router id ${o.routerId};
protocol device { }
${statics}protocol bgp peer {
  local ${o.local} as 64511;
  neighbor ${o.peer} as 64511;
  direct;
  ${o.passive ? 'passive on;' : 'connect delay time 1;'}
  hold time 240;
  ipv4 { import all; export ${o.statics ? 'all' : 'none'}; next hop self; gateway direct; };
}
`;
}

/** Talks to BIRD's control socket without spawning birdc (cheap enough to poll every few ms). */
export class BirdControl {
  private buf = '';
  private waiter: ((reply: string) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString();
      // a reply ends with a line "0000 ..." (or an error code 8xxx/9xxx followed by a space)
      const m = /^(0000|[89]\d{3}) .*\n/m.exec(this.buf);
      if (m && this.waiter) {
        const end = m.index + m[0].length;
        const reply = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        const w = this.waiter;
        this.waiter = undefined;
        w(reply);
      }
    });
  }

  static async connect(path: string, timeoutMs = 15_000): Promise<BirdControl> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(path);
          c.once('connect', () => resolve(c));
          c.once('error', reject);
        });
        // greeting: "0001 BIRD x.y ready."
        await new Promise<void>((r) => s.once('data', () => r()));
        return new BirdControl(s);
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`BIRD control socket ${path} did not come up: ${(err as Error).message}`);
        await sleep(50);
      }
    }
  }

  query(cmd: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.socket.write(`${cmd}\n`);
    });
  }

  /** performance.now() when protocol `name` is Established. */
  async waitEstablished(name: string, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (/BGP state:\s+Established/.test(await this.query(`show protocols all ${name}`))) return performance.now();
      await sleep(5);
    }
    throw new Error(`BIRD protocol ${name} not Established within ${timeoutMs} ms`);
  }

  /** performance.now() when protocol `name` has imported at least `n` routes. */
  async waitImported(name: string, n: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let last = 0;
    while (performance.now() < deadline) {
      const m = /Routes:\s+(\d+) imported/.exec(await this.query(`show protocols all ${name}`));
      last = m ? +m[1]! : 0;
      if (last >= n) return performance.now();
      await sleep(5);
    }
    throw new Error(`BIRD protocol ${name} imported ${last} of ${n} routes within ${timeoutMs} ms`);
  }

  close(): void {
    this.socket.destroy();
  }
}
