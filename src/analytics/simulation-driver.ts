/**
 * Plays planned learners (simulation-plan.ts) against the real HTTP API: users,
 * interests, vTPR attempts, magic moments, feedback and their analytics events, with
 * retried batches to exercise idempotency.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { AnswerKeyEntry } from '../learning/answer-key.js';
import { AnswerKey, DAY, type LearnerPlan, type PlannedEvent, type SimulationOptions } from './simulation-plan.js';

export interface SimulationTarget {
  /** One or more server base URLs; learners are spread across them. */
  baseUrls: string[];
  /** Learners played at once. */
  concurrency?: number;
  /** Upper bound on requests per second overall (unbounded when absent). */
  rate?: number;
  /** Live mode: spread learners' starts over this many seconds and send in real time. */
  durationSeconds?: number;
  /**
   * The ops token: the driver reads the answer key with it (GET /api/v1/ops/content/answer-key),
   * and creates learners with it, so the per-address limit does not apply.
   */
  opsToken: string;
  onProgress?: (done: number, total: number) => void;
}

export interface SimulationResult {
  learners: number;
  requests: number;
  eventsSent: number;
  duplicateBatches: number;
  failures: Array<{ learner: number; request: string; status: number; body: string }>;
}

const BATCH = 50;

/** The server's answer key (an ops route): which clip is right for each story clue. */
export async function fetchAnswerKey(baseUrl: string, opsToken: string): Promise<AnswerKey> {
  const response = await fetch(`${baseUrl}/api/v1/ops/content/answer-key`, { headers: { authorization: `Bearer ${opsToken}` } });
  if (!response.ok)
    throw new Error(`GET /api/v1/ops/content/answer-key → ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return new AnswerKey(((await response.json()) as { keywords: AnswerKeyEntry[] }).keywords);
}

/** Play the plans against the real API: users, interests, vTPR attempts, magic moments, events. */
export async function runSimulation(
  plans: LearnerPlan[],
  options: SimulationOptions,
  target: SimulationTarget,
): Promise<SimulationResult> {
  const result: SimulationResult = { learners: plans.length, requests: 0, eventsSent: 0, duplicateBatches: 0, failures: [] };
  const rng = xoroshiro128plus(options.seed ^ 0x5eed);
  const random = () => uniformFloat64(rng);
  const retries = plans.map(() => [] as boolean[]);
  for (const plan of plans) {
    for (let i = 0; i < Math.ceil(plan.events.length / BATCH) + 1; i++)
      retries[plan.index]?.push(random() < options.duplicateRate);
  }
  let nextSlot = Date.now();
  const throttle = async () => {
    if (!target.rate) return;
    const slot = Math.max(nextSlot, Date.now());
    nextSlot = slot + 1000 / target.rate;
    if (slot > Date.now()) await new Promise((resolve) => setTimeout(resolve, slot - Date.now()));
  };
  const answers = await fetchAnswerKey(target.baseUrls[0] as string, target.opsToken);
  const started = Date.now();

  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers, read field by field below
  const call = async (plan: LearnerPlan, base: string, path: string, body: unknown, token?: string): Promise<any> => {
    let response: Response;
    let text: string;
    // Like a real client: on 429, wait as told (at most three times).
    for (let attempt = 0; ; attempt++) {
      await throttle();
      result.requests++;
      response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      text = await response.text();
      if (response.status !== 429 || attempt >= 3) break;
      const wait = Math.min(60, Number(response.headers.get('retry-after') ?? 1) || 1);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    if (!response.ok) {
      result.failures.push({ learner: plan.index, request: `POST ${path}`, status: response.status, body: text.slice(0, 200) });
      return undefined;
    }
    return JSON.parse(text);
  };

  const play = async (plan: LearnerPlan) => {
    const base = target.baseUrls[plan.index % target.baseUrls.length] as string;
    // Live mode: the journey replays now, compressed so it fits in a few seconds.
    const live = target.durationSeconds !== undefined;
    if (live) {
      const delay = (plan.index / Math.max(plans.length, 1)) * (target.durationSeconds as number) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + delay - Date.now())));
    }
    const user = await call(
      plan,
      base,
      '/api/v1/users',
      { deviceId: plan.deviceId, platform: plan.platform, appVersion: plan.appVersion },
      target.opsToken,
    );
    if (!user) return;
    // One timeline per learner: the API calls of the journey (each with occurredAt, so the
    // server records its events at the journey's times) and the batches of the events the
    // client sends itself, in time order. Live mode replays it now, 120× faster.
    const origin = plan.events[0]?.at ?? 0;
    const liveStart = Date.now();
    const wireTime = (at: number) => new Date(live ? liveStart + (at - origin) / 120 : at).toISOString();
    const inReach = (at: number) => !live || at - origin < DAY;
    const steps: Array<{ at: number; run: () => Promise<void> }> = [];
    const action = (at: number, path: string, body: Record<string, unknown>) =>
      steps.push({
        at,
        run: async () => {
          await call(plan, base, path, { ...body, occurredAt: wireTime(at) }, user.token);
        },
      });
    if (plan.interestAt !== null)
      action(plan.interestAt, `/api/v1/users/${user.userId}/interests`, { interestId: plan.interestId });
    for (const attempt of plan.attempts) {
      action(attempt.at, `/api/v1/keywords/${attempt.keywordId}/attempts`, {
        selectedClipId: attempt.correct ? answers.right(attempt.keywordId) : answers.wrong(attempt.keywordId),
        mode: attempt.mode,
      });
    }
    if (plan.magicMomentAt !== null)
      action(plan.magicMomentAt, `/api/v1/dramas/${plan.dramaId}/magic-moment`, { understanding: 'got_the_gist' });
    for (const item of plan.reviews) {
      action(item.at, `/api/v1/users/${user.userId}/reviews/${item.keywordId}`, {
        selectedClipId: item.correct ? answers.right(item.keywordId) : answers.wrong(item.keywordId),
      });
    }
    for (const { at, ...item } of plan.feedback) {
      steps.push({
        at,
        run: async () => {
          const context = { platform: plan.platform, appVersion: plan.appVersion };
          await call(plan, base, '/api/v1/feedback', { ...item, writtenAt: wireTime(at), context }, user.token);
        },
      });
    }
    const wire = (event: PlannedEvent) => ({
      id: event.id,
      name: event.sentName,
      timestamp: wireTime(event.at),
      userId: user.userId,
      deviceId: plan.deviceId,
      platform: plan.platform,
      appVersion: plan.appVersion,
      properties: event.properties,
    });
    const events = plan.events.filter((e) => e.by === 'client' && inReach(e.at));
    for (let i = 0, batch = 0; i < events.length; i += BATCH, batch++) {
      const chunk = events.slice(i, i + BATCH);
      const retried = retries[plan.index]?.[batch];
      steps.push({
        at: chunk.at(-1)?.at ?? origin,
        run: async () => {
          const body = { events: chunk.map(wire) };
          const answer = await call(plan, base, '/api/v1/analytics/events', body, user.token);
          if (answer) result.eventsSent += chunk.length;
          if (retried) {
            result.duplicateBatches++;
            await call(plan, base, '/api/v1/analytics/events', body, user.token);
          }
        },
      });
    }
    // Stable: an action and a batch at the same time keep the order above.
    steps.sort((a, b) => a.at - b.at);
    for (const step of steps) {
      if (!inReach(step.at)) continue;
      if (live) {
        const due = liveStart + (step.at - origin) / 120;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      }
      await step.run();
    }
  };

  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const plan = plans[next++] as LearnerPlan;
      await play(plan);
      target.onProgress?.(++done, plans.length);
    }
  };
  const concurrency = target.durationSeconds !== undefined ? plans.length : (target.concurrency ?? 8);
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, plans.length)) }, worker));
  return result;
}
