/**
 * A population of learners going through the journey, reproducible from a seed.
 *
 * `planPopulation` decides, without any I/O, what every learner does and when
 * (how far they get in the funnel, each vTPR attempt, the days they come back);
 * `runSimulation` plays those plans against the real HTTP API; `groundTruth`
 * recomputes the report's numbers from the plans alone, independently of the SQL,
 * so tests can hold the report to them exactly.
 */
import { randomUUID } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { EmotionId } from '../learning/emotions.js';
import { catalogRows } from '../learning/seed.js';
import { dayStart, localDay } from '../time.js';
import { EVENT_ALIASES, FUNNEL, METRICS, ratio } from './definitions.js';
import { DRAMA_START_EVENTS } from './event-store.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const SECOND = 1000;

export interface SimulationOptions {
  users: number;
  seed: number;
  /** First launches spread over this many days before `now` (history mode). */
  days: number;
  now: Date;
  /** IANA zone whose calendar days count for retention. */
  tz: string;
  /** Probability of going on from step k−1 to step k, for k = 2..8. */
  continueRates: number[];
  /** Probability that a vTPR attempt is right, by mode. */
  correctRate: { normal: number; focus: number; rescue: number };
  /** Share of events sent under a legacy alias (app_launch, user_activated …). */
  aliasRate: number;
  /** Share of batches sent twice, as a client retry would. */
  duplicateRate: number;
  /** Activated learners active again on day 2, and on each of days 3–7. */
  returnDay2Rate: number;
  returnLaterRate: number;
}

/** Step-to-step rates that land close to the runbook's targets (100, 90, 85, 80, 75, 70, 60, 40). */
export const DEFAULT_CONTINUE_RATES = FUNNEL.slice(1).map((step, i) => step.target / (FUNNEL[i]?.target ?? 1));

export function simulationDefaults(overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  return {
    users: 100,
    seed: 1,
    days: 7,
    now: new Date(),
    tz: 'Asia/Shanghai',
    continueRates: DEFAULT_CONTINUE_RATES,
    correctRate: { normal: 0.7, focus: 0.8, rescue: 0.95 },
    aliasRate: 0.1,
    duplicateRate: 0.1,
    returnDay2Rate: 0.55,
    returnLaterRate: 0.2,
    ...overrides,
  };
}

export interface PlannedEvent {
  id: string;
  /** Canonical name. */
  name: string;
  /** Name sent on the wire (a legacy alias sometimes). */
  sentName: string;
  at: number;
  properties: Record<string, unknown>;
}

export interface PlannedAttempt {
  keywordId: string;
  correct: boolean;
  mode: 'normal' | 'focus' | 'rescue';
}

export interface PlannedFeedback {
  type: 'magic_moment' | 'overall_experience' | 'bug_report' | 'feature_request';
  rating?: number;
  emotion?: EmotionId;
  text?: string;
}

/** What simulated learners write, in both languages: praise, complaints, mixed, bugs, urgent ones. */
const FEEDBACK_TEXTS = {
  positive: [
    '故事很有意思，学到了很多地道的表达！',
    '太棒了，第一次不看字幕听懂了整段对话 😍',
    '非常好用，每天坚持学十分钟',
    'I love the stories, learning feels like watching a show!',
    'Really helpful app, my listening has improved a lot 👍',
    '界面很漂亮，视频也很流畅',
  ],
  negative: [
    '视频加载太慢了，每次都要等很久',
    '内容太难了，完全听不懂',
    '会员太贵了，不值得',
    'The videos keep buffering and the audio is too quiet',
    'Too expensive for what it offers',
    '字幕和声音对不上，体验很差',
  ],
  mixed: [
    '故事很精彩，但是加载有点慢',
    '内容不错，不过有些单词的发音听不清',
    'Great content but the subtitles are out of sync sometimes',
    'Fun to use, however the videos are a bit laggy on my phone',
  ],
  bug: ['点了下一步没反应', '登录的时候偶尔报错', 'The play button sometimes does nothing', '声音偶尔会有杂音'],
  urgent: [
    '打开就闪退，完全用不了',
    '更新以后进度没了！！',
    'The app crashes every time I open a drama',
    'I lost my progress after the update',
  ],
  feature: ['希望能增加更多职场的内容', '可以加一个夜间模式吗', 'Please add more travel stories', '希望能调节语速'],
};

export interface LearnerPlan {
  index: number;
  deviceId: string;
  platform: 'ios' | 'android';
  appVersion: string;
  interestId: string;
  dramaId: string;
  /** The last funnel step this learner reaches (1–8) before `now`. */
  reachedStep: number;
  attempts: PlannedAttempt[];
  magicMoment: boolean;
  events: PlannedEvent[];
  feedback: PlannedFeedback[];
}

const ALIAS_FOR = new Map<string, string[]>();
for (const [alias, canonical] of Object.entries(EVENT_ALIASES)) {
  ALIAS_FOR.set(canonical, [...(ALIAS_FOR.get(canonical) ?? []), alias]);
}

const content = catalogRows();
const INTERESTS = content.interests.map((i) => i.id as string);
const firstDrama = (interest: string) => `${interest}-01`;
const keywordsOf = (drama: string) => content.keywords.filter((k) => k.drama_id === drama).map((k) => k.id as string);
const correctClip = (keyword: string) => content.clips.find((c) => c.keyword_id === keyword && c.is_correct)?.id as string;
const wrongClip = (keyword: string) => content.clips.find((c) => c.keyword_id === keyword && !c.is_correct)?.id as string;

/** Every learner's plan, a pure function of the options. */
export function planPopulation(options: SimulationOptions): LearnerPlan[] {
  const rng = xoroshiro128plus(options.seed);
  const random = () => uniformFloat64(rng);
  const between = (min: number, max: number) => min + random() * (max - min);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const now = options.now.getTime();
  const plans: LearnerPlan[] = [];

  for (let index = 0; index < options.users; index++) {
    const interestId = pick(INTERESTS);
    const dramaId = firstDrama(interestId);
    const plan: LearnerPlan = {
      index,
      deviceId: `sim-${options.seed}-${index}-${Math.floor(random() * 1e9).toString(36)}`,
      platform: random() < 0.6 ? 'ios' : 'android',
      appVersion: pick(['1.0.0', '1.1.0', '1.2.0']),
      interestId,
      dramaId,
      reachedStep: 1,
      attempts: [],
      magicMoment: false,
      events: [],
      feedback: [],
    };
    const emit = (name: string, at: number, properties: Record<string, unknown> = {}) => {
      const aliases = ALIAS_FOR.get(name);
      const sentName = aliases && random() < options.aliasRate ? pick(aliases) : name;
      // Whole milliseconds: what an ISO timestamp on the wire can carry.
      // Seeded, so a seed reproduces ids too.
      plan.events.push({ id: uuidV7(at, random), name, sentName, at: Math.trunc(at), properties });
    };

    // How far this learner would go with unlimited time.
    let intended = 1;
    while (intended < FUNNEL.length && random() < (options.continueRates[intended - 1] ?? 0)) intended++;

    let t = now - between(0, options.days) * DAY;
    const steps: number[] = [t];
    emit('app_launched', t);
    const advance = (step: number, delay: number, properties: Record<string, unknown> = {}) => {
      t += delay;
      if (t > now || step > intended) return false;
      emit(FUNNEL[step - 1]?.event as string, t, properties);
      steps.push(t);
      plan.reachedStep = step;
      return true;
    };
    // A few learners pause for hours (across hour and day boundaries), a few for
    // longer than the funnel window (their later steps fall outside it).
    const pause = () => (random() < 0.1 ? between(2, 30) * 60 * MINUTE : random() < 0.03 ? 8 * DAY : 0);

    let going = advance(2, between(5, 60) * SECOND);
    going = going && advance(3, between(10, 120) * SECOND, { interestId });
    going = going && advance(4, between(60, 90) * SECOND + pause(), { dramaId });
    going = going && advance(5, between(5, 30) * SECOND + pause(), { dramaId });
    if (going) {
      // vTPR: clue after clue, each until right; modes follow the server's rule.
      const keywords = keywordsOf(dramaId);
      const target = intended >= 7 ? keywords.length : intended === 6 ? 1 + Math.floor(random() * (keywords.length - 1)) : 0;
      let collected = 0;
      for (const keywordId of keywords) {
        if (collected >= Math.max(target, 1) || t > now) break;
        let errors = 0;
        let mode: PlannedAttempt['mode'] = 'normal';
        for (;;) {
          t += between(8, 20) * SECOND;
          if (t > now) break;
          const correct = target > 0 && random() < options.correctRate[mode];
          plan.attempts.push({ keywordId, correct, mode });
          emit('keyword_attempt', t, { keywordId, dramaId, correct, mode });
          if (correct) {
            collected++;
            if (collected === 1) advance(6, 1);
            break;
          }
          errors++;
          if (target === 0 && errors >= 1 + Math.floor(random() * 3)) break; // gives up before any clue
          const next = errors >= 4 ? 'rescue' : errors >= 2 ? 'focus' : 'normal';
          if (next !== mode)
            emit(next === 'focus' ? 'focus_mode_triggered' : 'rescue_mode_triggered', t + 1, { keywordId, dramaId });
          mode = next;
        }
        if (target === 0) break;
      }
      if (collected === keywords.length && advance(7, 1, { dramaId })) {
        t += between(5, 20) * SECOND;
        if (t <= now && intended >= 8) {
          emit('magic_moment_started', t, { dramaId });
          if (advance(8, between(60, 90) * SECOND, { dramaId })) plan.magicMoment = true;
        }
      }
    }

    // Activated learners come back on later days (local calendar days in tz).
    if (plan.magicMoment) {
      const activatedDay = localDay(t, options.tz);
      for (let day = 1; day <= 6; day++) {
        if (random() >= (day === 1 ? options.returnDay2Rate : options.returnLaterRate)) continue;
        const at = dayStart(activatedDay + day, options.tz) + between(8, 22) * 60 * MINUTE;
        if (at > now) continue;
        emit('app_launched', at);
        emit('srs_card_reviewed', at + between(30, 300) * SECOND);
      }
    }
    // Feedback: the magic moment's self-assessment, and now and then a word on the app.
    if (plan.magicMoment) {
      const emotion =
        random() < 0.75
          ? pick(['fully_understood', 'easier_than_expected', 'got_the_gist', 'want_more'] as const)
          : pick(['a_bit_hard', 'did_not_understand', 'too_hard'] as const);
      plan.feedback.push({ type: 'magic_moment', emotion });
    }
    const roll = random();
    if (roll < 0.15)
      plan.feedback.push({
        type: 'overall_experience',
        rating: 4 + Math.floor(random() * 2),
        text: pick(FEEDBACK_TEXTS.positive),
      });
    else if (roll < 0.23)
      plan.feedback.push({
        type: 'overall_experience',
        rating: 2 + Math.floor(random() * 2),
        text: pick(FEEDBACK_TEXTS.negative),
      });
    else if (roll < 0.29)
      plan.feedback.push({ type: 'overall_experience', rating: 3 + Math.floor(random() * 2), text: pick(FEEDBACK_TEXTS.mixed) });
    else if (roll < 0.33) plan.feedback.push({ type: 'bug_report', text: pick(FEEDBACK_TEXTS.bug) });
    else if (roll < 0.35) plan.feedback.push({ type: 'bug_report', rating: 1, text: pick(FEEDBACK_TEXTS.urgent) });
    else if (roll < 0.38) plan.feedback.push({ type: 'feature_request', text: pick(FEEDBACK_TEXTS.feature) });
    plan.events.sort((a, b) => a.at - b.at);
    plans.push(plan);
  }
  return plans;
}

export interface GroundTruth {
  /** New users and activations per cohort (start of the hour or day in tz, ISO). */
  cohorts: Map<string, { newUsers: number; activated: number }>;
  newUsers: number;
  activated: number;
  activationRate: number | null;
  funnelUsers: number[];
  medianSecondsToConvert: Array<number | null>;
  retention: { d1: { retained: number; eligible: number }; d7: { retained: number; eligible: number } };
  learning: {
    attempts: number;
    correctAttempts: number;
    focusAttempts: number;
    rescueAttempts: number;
    dramasCompleted: number;
    averageSecondsToCompleteDrama: number | null;
  };
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  const lo = sorted[Math.floor(mid)] as number;
  const hi = sorted[Math.ceil(mid)] as number;
  return lo + (hi - lo) * (mid - Math.floor(mid));
};

/** The report's numbers for [since, until), from the plans alone (definitions in docs/metrics.md). */
export function groundTruth(
  plans: LearnerPlan[],
  since: Date,
  until: Date,
  now: Date,
  tz: string,
  granularity: 'hour' | 'day' = 'day',
): GroundTruth {
  const cohorts = new Map<string, { newUsers: number; activated: number }>();
  const inWindow = (at: number) => at >= since.getTime() && at < until.getTime();
  const funnelUsers = FUNNEL.map(() => 0);
  const gaps: number[][] = FUNNEL.map(() => []);
  let activated = 0;
  const retention = { d1: { retained: 0, eligible: 0 }, d7: { retained: 0, eligible: 0 } };
  const learning = { attempts: 0, correctAttempts: 0, focusAttempts: 0, rescueAttempts: 0, dramasCompleted: 0 };
  const dramaSeconds: number[] = [];
  const sinceDay = localDay(since.getTime(), tz);
  const untilDay = localDay(until.getTime(), tz);
  const today = localDay(now.getTime(), tz);

  for (const plan of plans) {
    const first = (name: string) => plan.events.find((e) => e.name === name)?.at;
    const launch = first('app_launched') as number;
    if (inWindow(launch)) {
      const windowEnd = launch + METRICS.funnelWindowDays * DAY;
      let ok = true;
      FUNNEL.forEach((step, i) => {
        const at = first(step.event);
        ok = ok && at !== undefined && at < windowEnd;
        if (ok) {
          funnelUsers[i] = (funnelUsers[i] ?? 0) + 1;
          if (i > 0) gaps[i]?.push(Math.max(0, ((at as number) - (first(FUNNEL[i - 1]?.event as string) as number)) / 1000));
        }
      });
      const activation = first('magic_moment_completed');
      const activatedInTime = activation !== undefined && activation < launch + METRICS.activationWindowDays * DAY;
      if (activatedInTime) activated++;
      const dayStartMs = dayStart(localDay(launch, tz), tz);
      const cohortStart =
        granularity === 'day' ? dayStartMs : dayStartMs + Math.floor((launch - dayStartMs) / 3_600_000) * 3_600_000;
      const key = new Date(cohortStart).toISOString();
      const cohort = cohorts.get(key) ?? { newUsers: 0, activated: 0 };
      cohort.newUsers++;
      if (activatedInTime) cohort.activated++;
      cohorts.set(key, cohort);
    }
    const activation = first('magic_moment_completed');
    if (activation !== undefined && inWindow(activation)) {
      const d0 = localDay(activation, tz);
      const activeDays = new Set(plan.events.map((e) => localDay(e.at, tz)));
      if (d0 + 1 < today) {
        retention.d1.eligible++;
        if (activeDays.has(d0 + 1)) retention.d1.retained++;
      }
      if (d0 + 6 < today) {
        retention.d7.eligible++;
        if ([1, 2, 3, 4, 5, 6].some((k) => activeDays.has(d0 + k))) retention.d7.retained++;
      }
    }
    for (const event of plan.events) {
      const day = localDay(event.at, tz);
      if (day < sinceDay || day > untilDay || event.name !== 'keyword_attempt') continue;
      learning.attempts++;
      if (event.properties.correct === true) learning.correctAttempts++;
      if (event.properties.mode === 'focus') learning.focusAttempts++;
      if (event.properties.mode === 'rescue') learning.rescueAttempts++;
    }
    if (activation !== undefined && inWindow(activation)) {
      const started = plan.events.find((e) => e.properties.dramaId === plan.dramaId && DRAMA_START_EVENTS.has(e.name))?.at;
      learning.dramasCompleted++;
      dramaSeconds.push((activation - (started as number)) / 1000);
    }
  }
  const newUsers = funnelUsers[0] ?? 0;
  return {
    cohorts,
    newUsers,
    activated,
    activationRate: ratio(activated, newUsers),
    funnelUsers,
    medianSecondsToConvert: gaps.map((g, i) => (i === 0 ? null : median(g))),
    retention,
    learning: {
      ...learning,
      averageSecondsToCompleteDrama: dramaSeconds.length ? dramaSeconds.reduce((a, b) => a + b, 0) / dramaSeconds.length : null,
    },
  };
}

export interface SimulationTarget {
  /** One or more server base URLs; learners are spread across them. */
  baseUrls: string[];
  /** Learners played at once. */
  concurrency?: number;
  /** Upper bound on requests per second overall (unbounded when absent). */
  rate?: number;
  /** Live mode: spread learners' starts over this many seconds and send in real time. */
  durationSeconds?: number;
  /** The ops token, when known: new learners are created with it, so the per-address limit does not apply. */
  opsToken?: string;
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
    if (plan.reachedStep >= 3)
      await call(plan, base, `/api/v1/users/${user.userId}/interests`, { interestId: plan.interestId }, user.token);
    for (const attempt of plan.attempts) {
      await call(
        plan,
        base,
        `/api/v1/keywords/${attempt.keywordId}/attempts`,
        { selectedClipId: attempt.correct ? correctClip(attempt.keywordId) : wrongClip(attempt.keywordId), mode: attempt.mode },
        user.token,
      );
    }
    if (plan.magicMoment) {
      await call(plan, base, `/api/v1/dramas/${plan.dramaId}/magic-moment`, { understanding: 'got_the_gist' }, user.token);
    }
    for (const item of plan.feedback) {
      await call(
        plan,
        base,
        '/api/v1/feedback',
        { ...item, context: { platform: plan.platform, appVersion: plan.appVersion } },
        user.token,
      );
    }
    const origin = plan.events[0]?.at ?? 0;
    const liveStart = Date.now();
    const wire = (event: PlannedEvent) => ({
      id: event.id,
      name: event.sentName,
      timestamp: new Date(live ? liveStart + (event.at - origin) / 120 : event.at).toISOString(),
      userId: user.userId,
      deviceId: plan.deviceId,
      platform: plan.platform,
      appVersion: plan.appVersion,
      properties: event.properties,
    });
    const events = live ? plan.events.filter((e) => e.at - origin < DAY) : plan.events;
    for (let i = 0, batch = 0; i < events.length; i += BATCH, batch++) {
      const chunk = events.slice(i, i + BATCH);
      if (live) {
        const due = liveStart + ((chunk.at(-1)?.at ?? origin) - origin) / 120;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      }
      const body = { events: chunk.map(wire) };
      const answer = await call(plan, base, '/api/v1/analytics/events', body, user.token);
      if (answer) result.eventsSent += chunk.length;
      if (retries[plan.index]?.[batch]) {
        result.duplicateBatches++;
        await call(plan, base, '/api/v1/analytics/events', body, user.token);
      }
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

/**
 * A UUIDv7 (RFC 9562): `ms` in the first 48 bits, then bits from `random` (0 ≤ x < 1).
 * Time-ordered ids are what docs/metrics.md recommends to clients: they land at the
 * growing end of the dedupe index instead of on a random page of it.
 */
export function uuidV7(ms: number, random: () => number): string {
  const time = Math.trunc(ms).toString(16).padStart(12, '0');
  const hex = Array.from({ length: 18 }, () => Math.floor(random() * 16).toString(16)).join('');
  const variant = '89ab'[Math.floor(random() * 4)];
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${hex.slice(0, 3)}-${variant}${hex.slice(3, 6)}-${hex.slice(6, 18)}`;
}

/** A fresh random seed for runs that do not ask for one. */
export const randomSeed = () => Number.parseInt(randomUUID().slice(0, 8), 16);
