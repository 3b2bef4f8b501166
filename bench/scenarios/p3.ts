// P3 — event latency: a signed Composio webhook (composio.trigger.message for the subscribed user's connected
// account) POSTed to the webhooks service → stored → published on the event bus → `trigger.message` on the user's
// socket, at 500 deliveries/s (open loop) with 1,000 sockets open; measured from just before the POST to the
// message. Baseline: Redis PUBLISH → a bare server's ws.send, same rate, same 1,000 sockets.
// Floor (in rounds of its own against the baseline): a durable one-row INSERT in Postgres, then the baseline's
// PUBLISH → ws.send. Any design that stores an event before a client sees it pays at least this; when the floor alone
// is over 3× the baseline, the ratio target cannot be met without giving that up, whatever the service does.
import { randomBytes } from "node:crypto";
import { composioSignature, createRedis } from "@kronos/shared";
import pg from "pg";
import type WebSocket from "ws";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { interleave } from "../lib/interleave.ts";
import { paced, post } from "../lib/load.ts";
import { CpuWindow, freePort, type Proc, sleep, startProc } from "../lib/proc.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { closeSockets, openSockets, wsUrl } from "../lib/sockets.ts";
import { r2, summarize } from "../lib/stats.ts";
import { connectAccount, createTenant, deleteKeys, type System, startSystem, type Tenant, userToken } from "../lib/system.ts";
import { BENCH_USER } from "./common.ts";

export const RATE = 500;
export const SOCKETS = 1000;

export interface LatencyRun {
  p50: number;
  p99: number;
  max: number;
  sent: number;
  received: number;
  /** The window the CPU shares cover (the sends and the stragglers' wait). */
  elapsedMs: number;
  /** HTTP answers other than 200 (ours) or failed sends. */
  failed: number;
  cpu: Record<string, number>;
}

/** Receives the measured messages of one side: `${run}:${seq}` -> arrival time. */
export class Inbox {
  arrivals = new Map<string, number>();
  take(data: string, at: number): void {
    const match = /"bench_seq":"([^"]+)"/.exec(data);
    if (match?.[1]) this.arrivals.set(match[1], at);
  }
}

export async function measure(
  rate: number,
  seconds: number,
  inbox: Inbox,
  cpuOf: Array<{ name: string; pid: number }>,
  send: (key: string) => Promise<boolean>,
): Promise<LatencyRun> {
  const run = randomBytes(3).toString("hex");
  const sentAt = new Map<string, number>();
  let failed = 0;
  const cpu = new CpuWindow(cpuOf);
  const started = performance.now();
  const outcome = await paced(rate, seconds, async (i) => {
    const key = `${run}:${i}`;
    sentAt.set(key, performance.now());
    if (!(await send(key))) failed += 1;
  });
  failed += outcome.failed;
  // Stragglers: wait until every message arrived, or 10 s without progress.
  let last = -1;
  let since = performance.now();
  const arrived = () => [...sentAt.keys()].filter((k) => inbox.arrivals.has(k)).length;
  for (let got = arrived(); got < sentAt.size - failed; got = arrived()) {
    if (got !== last) {
      last = got;
      since = performance.now();
    } else if (performance.now() - since > 10_000) break;
    await sleep(20);
  }
  const cpuShares = cpu.end();
  const latencies = [...sentAt.entries()].filter(([k]) => inbox.arrivals.has(k)).map(([k, at]) => (inbox.arrivals.get(k) as number) - at);
  for (const k of sentAt.keys()) inbox.arrivals.delete(k);
  const s = summarize(latencies);
  return {
    p50: s.p50,
    p99: s.p99,
    max: s.max,
    sent: sentAt.size,
    received: latencies.length,
    elapsedMs: performance.now() - started,
    failed,
    cpu: cpuShares,
  };
}

export interface OursFeed {
  tenant: Tenant;
  accountId: string;
  inbox: Inbox;
  sockets: WebSocket[];
}

/** Our side: a tenant, the subscribed user's ACTIVE connection, its socket and `others` sockets of other users. */
export async function openOursFeed(system: System, others: number): Promise<OursFeed> {
  const tenant = await createTenant(system, "bench-p3");
  const { composioAccountId } = await connectAccount(system, tenant, BENCH_USER);
  const inbox = new Inbox();
  const specs = [BENCH_USER, ...Array.from({ length: others }, (_, i) => `other-${i}`)].map((user) => ({
    url: wsUrl(system.webhooksUrl, `/ws?token=${encodeURIComponent(userToken(system, tenant, user))}`),
  }));
  const sockets = await openSockets(specs, (index, data, at) => {
    if (index === 0) inbox.take(data, at);
  });
  return { tenant, accountId: composioAccountId, inbox, sockets };
}

/** Signed trigger messages for our subscribed user, at `rate` for `seconds`. */
export function webhookLatencyOurs(system: System, feed: OursFeed, rate: number, seconds: number): Promise<LatencyRun> {
  const url = `${system.webhooksUrl}/webhooks/composio`;
  return measure(rate, seconds, feed.inbox, system.services(), async (key) => {
    const id = `msg_${randomBytes(12).toString("hex")}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = JSON.stringify({
      id,
      timestamp: new Date().toISOString(),
      type: "composio.trigger.message",
      metadata: {
        log_id: `log_${randomBytes(6).toString("hex")}`,
        trigger_slug: "GITHUB_COMMIT_EVENT",
        trigger_id: "ti_bench",
        connected_account_id: feed.accountId,
        auth_config_id: "ac_bench",
        user_id: `${feed.tenant.tenantId}:${BENCH_USER}`,
      },
      data: { bench_seq: key },
    });
    const response = await post(
      url,
      {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": `v1,${composioSignature(system.webhookSecret, id, timestamp, body)}`,
      },
      body,
    );
    return response.status === 200;
  });
}

export async function runP3(ctx: BenchContext): Promise<ScenarioResult> {
  const seconds = pick(ctx, 6, 2);
  const rounds = pick(ctx, 4, 1);
  const floorRounds = pick(ctx, 4, 1);
  const system = await startSystem(ctx.settings);
  const basePrefix = `benchbase${randomBytes(4).toString("hex")}`;
  const floorTable = `${basePrefix}_floor_events`; // its own, so that runs sharing the database do not meet
  const basePort = await freePort();
  let bare: Proc | undefined;
  const publisher = createRedis(ctx.settings.redisUrl);
  let ours: OursFeed | undefined;
  let baseSockets: WebSocket[] = [];
  let floorPool: pg.Pool | undefined;
  try {
    bare = await startProc("bare-feed", "bench/baselines/feed.ts", {
      env: { PATH: process.env.PATH ?? "", REDIS_URL: ctx.settings.redisUrl, REDIS_KEY_PREFIX: basePrefix, PORT: String(basePort) },
      ready: { url: `http://127.0.0.1:${basePort}/health` },
    });
    ctx.log(`P3: opening ${SOCKETS} sockets on each side`);
    ours = await openOursFeed(system, SOCKETS - 1);
    const baseInbox = new Inbox();
    const baseUsers = [BENCH_USER, ...Array.from({ length: SOCKETS - 1 }, (_, i) => `other-${i}`)];
    baseSockets = await openSockets(
      baseUsers.map((user) => ({ url: `ws://127.0.0.1:${basePort}/ws?user=${user}` })),
      (index, data, at) => {
        if (index === 0) baseInbox.take(data, at);
      },
    );
    const baseProc = bare;
    const channel = `${basePrefix}:events`;
    const baseline = (s: number) =>
      measure(RATE, s, baseInbox, [{ name: "bare-feed", pid: baseProc.pid }], async (key) => {
        await publisher.publish(
          channel,
          `${BENCH_USER} ${JSON.stringify({ type: "trigger.message", data: { payload: { bench_seq: key } } })}`,
        );
        return true;
      });
    const floorDb = new pg.Pool({ connectionString: ctx.settings.databaseUrl, max: 10 });
    floorPool = floorDb;
    await floorDb.query(`CREATE TABLE ${floorTable} (id text PRIMARY KEY, payload jsonb NOT NULL)`);
    const floor = (s: number) =>
      measure(RATE, s, baseInbox, [{ name: "bare-feed", pid: baseProc.pid }], async (key) => {
        const message = JSON.stringify({ type: "trigger.message", data: { payload: { bench_seq: key } } });
        await floorDb.query(`INSERT INTO ${floorTable} (id, payload) VALUES ($1, $2)`, [key, message]);
        await publisher.publish(channel, `${BENCH_USER} ${message}`);
        return true;
      });
    const feed = ours;
    // Warm-up (not recorded).
    await webhookLatencyOurs(system, feed, RATE, 1);
    await baseline(1);
    await floor(1);
    ctx.log(`P3: ${rounds} rounds of ${seconds}s at ${RATE}/s each side`);
    const result = await interleave(
      rounds,
      () => webhookLatencyOurs(system, feed, RATE, seconds),
      () => baseline(seconds),
      ctx.log,
    );
    ctx.log(`P3 floor: ${floorRounds} rounds of ${seconds}s at ${RATE}/s, a durable INSERT before the same publish`);
    const floorResult = await interleave(
      floorRounds,
      () => floor(seconds),
      () => baseline(seconds),
      ctx.log,
    );
    const p50 = result.ratio((r) => r.p50);
    const p99 = result.ratio((r) => r.p99);
    const oursP50 = r2(result.median("ours", (r) => r.p50));
    const oursP99 = r2(result.median("ours", (r) => r.p99));
    const lost = result.rounds.reduce((n, r) => n + (r.ours.sent - r.ours.received), 0);
    const failed = result.rounds.reduce((n, r) => n + r.ours.failed, 0);
    const sent = result.rounds.reduce((n, r) => n + r.ours.sent, 0);
    const figures: Figure[] = [
      {
        id: "P3",
        figure: "webhook → socket p50",
        unit: "ms",
        ours: oursP50,
        baseline: r2(result.median("baseline", (r) => r.p50)),
        ratio: p50.median,
        spread: p50.spread,
        target: "≤ 5 ms and ≤ 3× baseline",
        pass: oursP50 <= 5 && p50.median <= 3,
      },
      {
        id: "P3",
        figure: "webhook → socket p99",
        unit: "ms",
        ours: oursP99,
        baseline: r2(result.median("baseline", (r) => r.p99)),
        ratio: p99.median,
        spread: p99.spread,
        target: "≤ 20 ms and ≤ 3× baseline",
        pass: oursP99 <= 20 && p99.median <= 3,
      },
      ...(["p50", "p99"] as const).map((q): Figure => {
        const ratio = floorResult.ratio((r) => r[q]);
        return {
          id: "P3 floor",
          figure: `durable INSERT → publish → socket ${q}`,
          unit: "ms",
          ours: r2(floorResult.median("ours", (r) => r[q])),
          baseline: r2(floorResult.median("baseline", (r) => r[q])),
          ratio: ratio.median,
          spread: ratio.spread,
          pass: null,
          note:
            `ours / floor: ${r2(result.median("ours", (r) => r[q]) / floorResult.median("ours", (r) => r[q]))}×; floor ` +
            `${floorResult.rounds.reduce((n, r) => n + r.ours.failed, 0)} failed, ` +
            `${floorResult.rounds.reduce((n, r) => n + (r.ours.sent - r.ours.received), 0)} not on the socket`,
        };
      }),
      {
        id: "P3",
        figure: "deliveries not on the socket / refused",
        unit: "count",
        ours: `${lost} / ${failed}`,
        target: "0 / 0",
        pass: lost === 0 && failed === 0,
        note: `of ${sent} sent at ${RATE}/s with ${SOCKETS} sockets open`,
      },
    ];
    const out: ScenarioResult = {
      scenario: "P3",
      title: "Event latency",
      available: true,
      figures,
      cpu: { ours: result.rounds[0]!.ours.cpu, baseline: result.rounds[0]!.baseline.cpu },
      details: { rounds: result.rounds, floor: floorResult.rounds },
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      await closeSockets([...feed.sockets, ...baseSockets]);
      ctx.log("P3 missed a target: profiling the webhooks service and the worker under the same load");
      out.profile = await profiled(ctx, ["webhooks", "worker"], {}, async (s, loadStarts) => {
        const f = await openOursFeed(s, SOCKETS - 1);
        await webhookLatencyOurs(s, f, RATE, 1);
        loadStarts();
        await webhookLatencyOurs(s, f, RATE, seconds);
        await closeSockets(f.sockets);
      });
    }
    return out;
  } finally {
    await closeSockets([...(ours?.sockets ?? []), ...baseSockets]);
    publisher.disconnect();
    await floorPool?.query(`DROP TABLE IF EXISTS ${floorTable}`).catch(() => {});
    await floorPool?.end();
    await bare?.stop();
    await system.stop();
    await deleteKeys(ctx.settings.redisUrl, basePrefix);
  }
}
