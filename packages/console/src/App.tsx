import { consoleConfigSchema } from "@kronos/shared/contracts";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { ErrorNotice, Loading } from "./components/common";
import { FeedProvider, type FeedState, useFeedState } from "./feed";
import { PAGES } from "./pages/registry";
import { SignIn } from "./pages/SignIn";
import { useSession } from "./session";

/** The page in the URL's fragment (#/connections): no credential or state ever goes into the URL. */
function useRoute(): string {
  const read = () => window.location.hash.replace(/^#\/?/, "") || PAGES[0]!.path;
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function App() {
  const { session, expiredMessage, expire } = useSession();
  const config = useQuery({
    queryKey: ["console-config"],
    queryFn: async () => {
      const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
      if (!response.ok) throw new Error(`The console's configuration could not be read (${response.status})`);
      return consoleConfigSchema.parse(await response.json());
    },
    staleTime: Number.POSITIVE_INFINITY,
  });

  if (!session)
    return (
      <main id="main" className="centered">
        <SignIn />
      </main>
    );
  if (config.isPending) return <Loading what="the console" />;
  if (config.isError) return <ErrorNotice error={config.error} />;
  return (
    <FeedProvider url={config.data.feed_url} credential={session.credential} onExpired={() => expire("The user token has expired")}>
      <Shell />
      {expiredMessage !== null && <ExpiredOverlay message={expiredMessage} />}
    </FeedProvider>
  );
}

/** Sign-in over the page (a modal dialog): the page underneath keeps every field as it was. */
function ExpiredOverlay({ message }: { message: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-label="Sign in again" onCancel={(event) => event.preventDefault()}>
      <SignIn expired={message} />
    </dialog>
  );
}

const FEED_LABEL: Record<FeedState, string> = {
  connecting: "Connecting to live updates…",
  live: "Live",
  offline: "Offline: reconnecting…",
  "catching-up": "Catching up…",
  "signed-out": "Offline: sign in again",
};

function FeedIndicator() {
  const state = useFeedState();
  return (
    <span className={`feed feed-${state}`} role="status" aria-live="polite">
      <span aria-hidden="true" className="dot" /> {FEED_LABEL[state]}
    </span>
  );
}

function Shell() {
  const { session, signOut } = useSession();
  const route = useRoute();
  const navId = useId();
  const pages = PAGES.filter((page) => !page.operatorOnly || session?.kind === "api_key");
  const current = pages.find((page) => page.path === route) ?? pages[0]!;
  const Page = current.component;
  useEffect(() => {
    document.title = `${current.label} · Kronos console`;
  }, [current]);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Kronos console</span>
        <span className="who">{session?.kind === "api_key" ? "Operator (tenant API key)" : `User ${session?.userId}`}</span>
        <FeedIndicator />
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-labelledby={navId} className="nav">
        <h2 id={navId} className="sr-only">
          Pages
        </h2>
        <ul>
          {pages.map((page) => (
            <li key={page.path}>
              <a href={`#/${page.path}`} aria-current={page === current ? "page" : undefined}>
                {page.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Page key={current.path} />
      </main>
    </>
  );
}
