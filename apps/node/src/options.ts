/**
 * How the agent is started: `tsctl node` parses the CLI (CONTRACT.md) into AgentOptions and calls
 * `runAgent` (in-process in the foreground; a detached re-exec of itself with --detach).
 */
export interface EtcdConnection {
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** key prefix, default /tsnet */
  prefix?: string;
}

export interface AgentOptions {
  /** node name (--name, HOSTNAME, os.hostname()) */
  name: string;
  /** IPv4 address of this node (tsctl detects it when --ip is absent) */
  ip: string;
  ip6?: string;
  /** this node's own AS; absent = inherit the cluster default */
  asn?: number;
  etcd: EtcdConnection;
  /** control socket, pid file, state (--run-dir, TSNET_RUN_DIR, /run/tsnet) */
  runDir: string;
  logDir?: string;
  /** serve the Docker plugin (--libnetwork) */
  libnetwork: boolean;
  /** folder of the plugin socket (--plugin-dir, TSNET_PLUGIN_DIR, /run/docker/plugins) */
  pluginDir: string;
  /** Prometheus /metrics and /healthz (--metrics-addr, 127.0.0.1:9099) */
  metricsAddr: string;
  /** BGP port (TSNET_BGP_PORT, 179; tests only) */
  bgpPort: number;
  /** progress lines for the operator: "waiting for etcd at …", "registering node …", "BGP listening on …" */
  onProgress?: (line: string) => void;
  /**
   * Install SIGTERM/SIGINT handlers that stop the agent and exit the process with 0 (default
   * true). Pass false when the caller handles signals itself and calls stop().
   */
  handleSignals?: boolean;
}

/** A running agent. */
export interface AgentHandle {
  /** SIGTERM path: Cease to peers, leave kernel routes (graceful restart), resolve within 5 s */
  stop(): Promise<void>;
  /** resolves when the agent has stopped (by stop() or a fatal error, which it rejects with) */
  done: Promise<void>;
}
