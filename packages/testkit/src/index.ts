export { waitFor, sleep } from './wait.js';
export { freePort, tempDir } from './ports.js';
export { TrackedProcess } from './proc.js';
export { EtcdCluster, type EtcdMember } from './etcd.js';
export { Netns, Underlay, netnsUnsupportedReason, uniquePrefix, run, type UnderlayHost } from './netns.js';
export {
  Dockerd,
  dockerdUnsupportedReason,
  dockerdInNetnsArgs,
  busyboxRootfsTar,
  processesMentioning,
  pidAlive,
  type DockerdOptions,
} from './dockerd.js';
