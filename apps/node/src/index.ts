export * from './control-api.js';
export * from './options.js';
export { runAgent, AGENT_VERSION } from './agent.js';
export {
  desiredPeers,
  desiredAnnouncements,
  acceptRoute,
  dataplaneInput,
  diffPeers,
  diffAnnouncements,
  type UnderlayInfo,
} from './controller.js';
export type * from './model.js';
export { clusterFromRecords } from './snapshot.js';
