/**
 * Helpers for speaker tests over loopback: a free port, and the next event of a speaker that
 * matches a predicate (bounded). Not a test file itself.
 */
import { createServer } from 'node:net';
import type { BgpSpeaker } from './speaker.js';
import type { SpeakerEvents } from './types.js';

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export function next<K extends keyof SpeakerEvents>(
  s: BgpSpeaker,
  ev: K,
  pred: (...a: SpeakerEvents[K]) => boolean,
  ms = 5000,
): Promise<SpeakerEvents[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${ev}`)), ms);
    const on = (...a: SpeakerEvents[K]): void => {
      if (!pred(...a)) return;
      clearTimeout(t);
      s.off(ev, on as never);
      resolve(a);
    };
    s.on(ev, on as never);
  });
}
