/**
 * Global flags and their environment fallbacks (CONTRACT: flag, then env, then default), resolved
 * once per run into a Context that command handlers use; the datastore connection is opened on
 * first use and closed by main() when the command is done.
 */
import { hostname } from 'node:os';
import { Datastore, datastoreOptionsFromEnv, type DatastoreOptions } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import type { Io } from './io.js';
import { colourEnabled, painter, renderJson, type OutputFormat, type Paint } from './output.js';

export const DEFAULT_RUN_DIR = '/run/tsnet';

/** The global flags as yargs parses them (undefined = not given). */
export interface GlobalArgs {
  etcdEndpoints?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  runDir?: string;
  name?: string;
  output?: OutputFormat;
  debug?: boolean;
}

export class Context {
  readonly runDir: string;
  /** this node's name: --name, HOSTNAME, os.hostname() */
  readonly nodeName: string;
  readonly output: OutputFormat;
  readonly debug: boolean;
  readonly paint: Paint;
  private readonly closers: (() => Promise<void>)[] = [];
  private ds: Promise<Datastore> | undefined;
  private etcdOptions: DatastoreOptions | undefined;

  constructor(
    readonly io: Io,
    private readonly args: GlobalArgs,
  ) {
    this.runDir = args.runDir ?? io.env.TSNET_RUN_DIR ?? DEFAULT_RUN_DIR;
    this.nodeName = args.name ?? io.env.HOSTNAME ?? hostname();
    this.output = args.output ?? 'table';
    this.debug = args.debug ?? false;
    this.paint = painter(colourEnabled(io));
  }

  /** etcd connection options (parsed on first use, so commands without etcd ignore bad ETCD_* values) */
  get etcd(): DatastoreOptions {
    const a = this.args;
    this.etcdOptions ??= datastoreOptionsFromEnv(
      { etcdEndpoints: a.etcdEndpoints, etcdCa: a.etcdCa, etcdCert: a.etcdCert, etcdKey: a.etcdKey },
      this.io.env as NodeJS.ProcessEnv,
    );
    return this.etcdOptions;
  }

  get json(): boolean {
    return this.output === 'json';
  }

  out(text: string): void {
    this.io.out(text.endsWith('\n') || text === '' ? text : text + '\n');
  }

  /** `-o json` output of a read command */
  printJson(value: unknown): void {
    this.io.out(renderJson(value));
  }

  /** The etcd datastore, connected (and probed) on first use; unreachable etcd names its endpoints. */
  datastore(): Promise<Datastore> {
    if (!this.ds) {
      this.ds = Datastore.connect(this.etcd);
      this.onClose(async () => (await this.ds?.catch(() => undefined))?.close());
    }
    return this.ds;
  }

  /** IPAM over the datastore. */
  async ipam(): Promise<Ipam> {
    return new Ipam(await this.datastore());
  }

  /** Registers a cleanup that main() runs after the command (e.g. closing etcd). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closers.splice(0).reverse()) await fn().catch(() => undefined);
  }
}
