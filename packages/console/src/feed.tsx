import {
  type ConnectionStatusEventData,
  connectionStatusEventDataSchema,
  EVENT_TYPES,
  type EventType,
  FEED_CLOSE_CODES,
  type FeedEvent,
  feedProtocols,
  type SnapshotMessage,
} from "@kronos/shared/contracts";
import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from "react";

/**
 * The console's side of the WebSocket feed (services/webhooks): one socket per signed-in tab, the credential sent
 * as a subprotocol (never in the URL), and after any drop a reconnect with `?since=<last event id>` so nothing is
 * missed. States: connecting → live; offline (waiting to retry) → catching-up (the snapshot and missed events are
 * arriving) → live.
 */
export type FeedState = "connecting" | "live" | "offline" | "catching-up" | "signed-out";

type Listener = (event: FeedEvent) => void;
type SnapshotListener = (snapshot: SnapshotMessage) => void;

export class FeedConnection {
  state: FeedState = "connecting";
  private socket: WebSocket | null = null;
  private lastId: string | null = null;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly listeners = new Set<Listener>();
  private readonly snapshotListeners = new Set<SnapshotListener>();
  private readonly stateListeners = new Set<(state: FeedState) => void>();

  constructor(
    private readonly url: string,
    private readonly credential: string,
    /** Called when the server closes the socket because the user token expired (4001). */
    private readonly onExpired: () => void,
  ) {}

  start(): void {
    window.addEventListener("online", this.retryNow);
    this.open();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("online", this.retryNow);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close(1000);
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onSnapshot(listener: SnapshotListener): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }
  onState(listener: (state: FeedState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: FeedState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private readonly retryNow = () => {
    if (this.stopped || this.socket) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.open();
  };

  private open(): void {
    this.retryTimer = null;
    const url = new URL(this.url);
    if (this.lastId) url.searchParams.set("since", this.lastId);
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, feedProtocols(this.credential));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    const resuming = this.lastId !== null || this.attempts > 0;
    socket.onopen = () => {
      this.attempts = 0;
      if (resuming) this.setState("catching-up");
    };
    socket.onmessage = (message) => this.receive(String(message.data));
    socket.onclose = (close) => {
      this.socket = null;
      if (this.stopped) return;
      if (close.code === FEED_CLOSE_CODES.tokenExpired) {
        this.setState("signed-out");
        this.onExpired();
        return;
      }
      this.setState("offline");
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    this.attempts += 1;
    // 0.5 s, 1 s, 2 s ... at most 15 s, with jitter so that many tabs do not return at once.
    const delay = Math.min(15_000, 500 * 2 ** (this.attempts - 1)) * (0.75 + Math.random() * 0.5);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private receive(raw: string): void {
    let message: { type?: unknown; id?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (message.type === "snapshot") {
      for (const listener of this.snapshotListeners) listener(message as SnapshotMessage);
      this.setState("live");
      return;
    }
    if (typeof message.id !== "string") return; // resume.gap: the snapshot that follows has the current state
    this.lastId = message.id;
    for (const listener of this.listeners) listener(message as FeedEvent);
  }
}

const FeedContext = createContext<FeedConnection | null>(null);

export function FeedProvider({
  url,
  credential,
  onExpired,
  children,
}: {
  url: string;
  credential: string;
  onExpired: () => void;
  children: ReactNode;
}) {
  const [feed, setFeed] = useState<FeedConnection | null>(null);
  const expired = useRef(onExpired);
  expired.current = onExpired;
  useEffect(() => {
    const connection = new FeedConnection(url, credential, () => expired.current());
    setFeed(connection);
    connection.start();
    return () => connection.stop();
  }, [url, credential]);
  return <FeedContext.Provider value={feed}>{children}</FeedContext.Provider>;
}

export function useFeed(): FeedConnection | null {
  return useContext(FeedContext);
}

export function useFeedState(): FeedState {
  const feed = useFeed();
  const [state, setState] = useState<FeedState>(feed?.state ?? "connecting");
  useEffect(() => {
    if (!feed) return;
    setState(feed.state);
    return feed.onState(setState);
  }, [feed]);
  return state;
}

/** Calls `handler` with each event of a type (its data), for as long as the component is mounted. */
export function useFeedEvents<D = unknown>(type: EventType, handler: (data: D, event: FeedEvent<D>) => void): void {
  const feed = useFeed();
  const current = useRef(handler);
  current.current = handler;
  useEffect(() => {
    if (!feed) return;
    return feed.onEvent((event) => {
      if (event.type === type) current.current(event.data as D, event as FeedEvent<D>);
    });
  }, [feed, type]);
}

/** A connection.status event's data, checked against the shared schema (anything else is ignored). */
export function parseConnectionStatus(data: unknown): ConnectionStatusEventData | null {
  const parsed = connectionStatusEventDataSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
}

export { EVENT_TYPES };
