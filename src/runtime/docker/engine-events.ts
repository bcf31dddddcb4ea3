import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { RuntimeEvent, RuntimeEventListener } from '../runtime';
import { identityFromLabels, scopeFilter } from './labels';

/** The subset of a logger the event follower uses. */
interface EventsLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** One line of the engine's `/events` stream, as far as Berth reads it. */
interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * Follows the engine's event stream for the deaths of this cluster's
 * containers (`die`, filtered by Berth's labels on the engine's side, so
 * other containers cost nothing) and reports each as an `exited` event.
 *
 * The stream is long-lived and has no deadline. When it drops (engine
 * restart, socket closed) it is opened again with a growing delay, and a
 * `resync` event tells the listener that deaths in between may have been
 * missed, so it must list again rather than trust the stream.
 */
export function followEngineEvents(
  docker: Dockerode,
  runId: string | undefined,
  listener: RuntimeEventListener,
  log: EventsLogger,
): () => void {
  let stopped = false;
  let stream: Readable | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = RECONNECT_MIN_MS;
  let connectedOnce = false;

  const emit = (event: RuntimeEvent): void => {
    try {
      listener(event);
    } catch (err) {
      log.warn({ err }, 'runtime event listener failed');
    }
  };

  const reconnectLater = (why: string): void => {
    if (stopped || timer) return;
    log.debug({ why, delayMs: delay }, 'engine event stream closed; reconnecting');
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    delay = Math.min(RECONNECT_MAX_MS, delay * 2);
  };

  const onLine = (line: string): void => {
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      return;
    }
    if ((event.Type ?? 'container') !== 'container' || (event.Action ?? event.status) !== 'die') return;
    const attributes = event.Actor?.Attributes ?? {};
    const identity = identityFromLabels(attributes);
    if (!identity) return;
    const code = attributes.exitCode;
    emit({
      kind: 'exited',
      nodeId: identity.nodeId,
      instanceId: identity.instanceId,
      runtimeId: event.Actor?.ID ?? event.id ?? '',
      ...(code === undefined ? {} : { exitReason: `exit code ${code}` }),
    });
  };

  const connect = async (): Promise<void> => {
    let opened: Readable;
    try {
      opened = (await docker.getEvents({
        filters: { type: ['container'], event: ['die'], label: scopeFilter(runId) },
      })) as unknown as Readable;
    } catch (err) {
      reconnectLater((err as Error).message);
      return;
    }
    if (stopped) {
      opened.destroy();
      return;
    }
    stream = opened;
    delay = RECONNECT_MIN_MS;
    // Deaths while no stream was open were not seen.
    if (connectedOnce) emit({ kind: 'resync', reason: 'the engine event stream reconnected' });
    connectedOnce = true;
    let pending = '';
    opened.setEncoding('utf8');
    opened.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line) onLine(line);
      }
    });
    const dropped = (why: string): void => {
      if (stream !== opened) return;
      stream = undefined;
      reconnectLater(why);
    };
    opened.on('error', (err) => dropped(err.message));
    opened.on('close', () => dropped('closed'));
    opened.on('end', () => dropped('ended'));
  };

  void connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stream?.destroy();
  };
}
