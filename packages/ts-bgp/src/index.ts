// Public surface of @bgp/ts-bgp.
export * from './types.js';
export * from './codec/index.js';
export { BgpSpeaker } from './speaker/speaker.js';
export type {
  AnnounceAttributes,
  BestPathChange,
  BestRoute,
  EndOfRibEvent,
  NotificationEvent,
  PeerOptions,
  PeerState,
  PeerStateEvent,
  PeerStats,
  RoutePolicy,
  SpeakerEvents,
  SpeakerOptions,
} from './speaker/types.js';
export { parseCommunity } from './speaker/local-routes.js';
export { FakeClock, systemClock, type Clock } from './fsm/clock.js';
export { fsmStep, initialFsmData, DEFAULT_FSM_CONFIG, type FsmConfig, type FsmData, type FsmEvent, type FsmAction, type FsmState } from './fsm/fsm.js';
export { Rib, SourceRib } from './rib/rib.js';
export { AttrInterner, AttrSet, Path, type PrefixKey, type Source } from './rib/path.js';
export { comparePaths, decide, DEFAULT_LOCAL_PREF, type DecisionStep } from './rib/decision.js';
export { describeNotification } from './session/notification-text.js';
