/**
 * A population of learners going through the journey, reproducible from a seed:
 * `planPopulation` decides, without any I/O, what every learner does and when (how far
 * they get in the funnel — read from the funnel's one definition — each vTPR attempt,
 * the days they come back). `simulation-driver.ts` plays the plans against the real API;
 * the tests' ground truth (test/helpers/ground-truth.ts) recomputes the report from them.
 */

import { randomUUID } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { AnswerKeyEntry } from '../learning/answer-key.js';
import type { EmotionId } from '../learning/emotions.js';
import { catalogRows } from '../learning/seed.js';
import { firstReview, review, type StoredCard } from '../learning/srs.js';
import { dayStart, localDay } from '../time.js';
import { EVENT_ALIASES, FUNNEL } from './definitions.js';

export const DAY = 86_400_000;
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
  /** Reviews answered right. */
  reviewCorrectRate: number;
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
    reviewCorrectRate: 0.85,
    ...overrides,
  };
}

export interface PlannedEvent {
  /** The client's id (UUIDv7); empty for an event the server records. */
  id: string;
  /** Canonical name. */
  name: string;
  /** Name sent on the wire (a legacy alias sometimes). */
  sentName: string;
  at: number;
  properties: Record<string, unknown>;
  /**
   * Who records it: the client sends its own (launches, onboarding, the preview, returns);
   * the server records those of the actions it performs (learning/journey-events.ts).
   */
  by: 'client' | 'server';
}

export interface PlannedAttempt {
  keywordId: string;
  correct: boolean;
  mode: 'normal' | 'focus' | 'rescue';
  /** When the learner answers (epoch ms): sent as occurredAt in history mode. */
  at: number;
}

export interface PlannedReview {
  keywordId: string;
  correct: boolean;
  at: number;
}

/** Reviews a learner answers at most over a simulation (the requests stay a few per day). */
const MAX_REVIEWS = 30;

export interface PlannedFeedback {
  type: 'magic_moment' | 'overall_experience' | 'bug_report' | 'feature_request';
  rating?: number;
  emotion?: EmotionId;
  text?: string;
  /** When the learner writes it (epoch ms): sent as `writtenAt` in history mode. */
  at: number;
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
  /** When the learner chooses the interest (POST …/interests), if they do. */
  interestAt: number | null;
  attempts: PlannedAttempt[];
  /** When the learner completes the magic moment (POST …/magic-moment), if they do. */
  magicMomentAt: number | null;
  /** Spaced reviews answered on later days (POST …/reviews/{keywordId}). */
  reviews: PlannedReview[];
  magicMoment: boolean;
  events: PlannedEvent[];
  feedback: PlannedFeedback[];
}

/** Events the server records for the actions it performs (learning/journey-events.ts); the client sends the rest. */
const SERVER_RECORDED = new Set([
  'interest_selected',
  'vtpr_learning_started',
  'keyword_attempt',
  'focus_mode_triggered',
  'rescue_mode_triggered',
  'first_clue_completed',
  'all_clues_completed',
  'magic_moment_completed',
  'srs_card_reviewed',
]);

const ALIAS_FOR = new Map<string, string[]>();
for (const [alias, canonical] of Object.entries(EVENT_ALIASES)) {
  ALIAS_FOR.set(canonical, [...(ALIAS_FOR.get(canonical) ?? []), alias]);
}

const content = catalogRows();
const INTERESTS = content.interests.map((i) => i.id as string);
const firstDrama = (interest: string) => `${interest}-01`;
/** A drama's keywords in order (the driver, and tests that play a learner, answer them). */
export const keywordsOf = (drama: string) => content.keywords.filter((k) => k.drama_id === drama).map((k) => k.id as string);

/**
 * The clip that shows a keyword's meaning, and one that does not, from the server's ops
 * answer key (learning/answer-key.ts): the learner API does not say which is which.
 */
export class AnswerKey {
  readonly #byKeyword: Map<string, AnswerKeyEntry>;

  constructor(entries: AnswerKeyEntry[]) {
    this.#byKeyword = new Map(entries.map((entry) => [entry.keywordId, entry]));
  }

  #entry(keywordId: string): AnswerKeyEntry {
    const entry = this.#byKeyword.get(keywordId);
    if (!entry) throw new Error(`the answer key has no keyword ${keywordId}`);
    return entry;
  }

  right(keywordId: string): string {
    return this.#entry(keywordId).rightClipId;
  }

  wrong(keywordId: string): string {
    return this.#entry(keywordId).otherClipIds[0] as string;
  }
}

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
      interestAt: null,
      attempts: [],
      magicMomentAt: null,
      reviews: [],
      magicMoment: false,
      events: [],
      feedback: [],
    };
    const emit = (name: string, at: number, properties: Record<string, unknown> = {}) => {
      // The server records the events of the actions it performs, under their own names.
      if (SERVER_RECORDED.has(name)) {
        plan.events.push({ id: '', name, sentName: name, at: Math.trunc(at), properties, by: 'server' });
        return;
      }
      const aliases = ALIAS_FOR.get(name);
      const sentName = aliases && random() < options.aliasRate ? pick(aliases) : name;
      // Whole milliseconds: what an ISO timestamp on the wire can carry.
      // Seeded, so a seed reproduces ids too.
      plan.events.push({ id: uuidV7(at, random), name, sentName, at: Math.trunc(at), properties, by: 'client' });
    };

    // How far this learner would go with unlimited time.
    let intended = 1;
    while (intended < FUNNEL.length && random() < (options.continueRates[intended - 1] ?? 0)) intended++;

    // Whole milliseconds throughout: what a timestamp on the wire can carry.
    let t = Math.trunc(now - between(0, options.days) * DAY);
    const steps: number[] = [t];
    emit('app_launched', t);
    const advance = (step: number, delay: number, properties: Record<string, unknown> = {}) => {
      t += Math.trunc(delay);
      if (t > now || step > intended) return false;
      emit(FUNNEL[step - 1]?.event as string, t, properties);
      steps.push(t);
      plan.reachedStep = step;
      return true;
    };
    // A few learners pause for hours (across hour and day boundaries), a few for
    // longer than the funnel window (their later steps fall outside it).
    const pause = () => (random() < 0.1 ? between(2, 30) * 60 * MINUTE : random() < 0.03 ? 8 * DAY : 0);

    /** The learner's collected keywords and their FSRS cards. */
    const cards = new Map<string, StoredCard>();
    let going = advance(2, between(5, 60) * SECOND);
    going = going && advance(3, between(10, 120) * SECOND, { interestId });
    if (going) plan.interestAt = t;
    going = going && advance(4, between(60, 90) * SECOND + pause(), { dramaId });
    // vTPR learning starts with the first answer (the server records it then).
    going = going && advance(5, between(5, 30) * SECOND + pause(), { dramaId });
    if (going) {
      // vTPR: clue after clue, each until right; modes follow the server's rule.
      const keywords = keywordsOf(dramaId);
      const target = intended >= 7 ? keywords.length : intended === 6 ? 1 + Math.floor(random() * (keywords.length - 1)) : 0;
      let collected = 0;
      let first = true;
      for (const keywordId of keywords) {
        if (collected >= Math.max(target, 1) || t > now) break;
        let errors = 0;
        let mode: PlannedAttempt['mode'] = 'normal';
        for (;;) {
          if (!first) t += Math.trunc(between(8, 20) * SECOND);
          first = false;
          if (t > now) break;
          const correct = target > 0 && random() < options.correctRate[mode];
          plan.attempts.push({ keywordId, correct, mode, at: t });
          emit('keyword_attempt', t, { keywordId, dramaId, correct, mode, graded: 'server' });
          if (correct) {
            // Collecting is the first review, rated as the server rates it (learning/srs.ts).
            cards.set(keywordId, firstReview(new Date(t), errors === 0 ? 'good' : mode === 'rescue' ? 'again' : 'hard'));
            collected++;
            if (collected === 1) advance(6, 0, { dramaId, keywordId });
            break;
          }
          errors++;
          // The answer that reaches 2 (4) errors in a row starts focus (rescue) mode.
          const next = errors >= 4 ? 'rescue' : errors >= 2 ? 'focus' : 'normal';
          if (next !== mode) emit(next === 'focus' ? 'focus_mode_triggered' : 'rescue_mode_triggered', t, { keywordId, dramaId });
          mode = next;
          if (target === 0 && errors >= 1 + Math.floor(random() * 3)) break; // gives up before any clue
        }
        if (target === 0) break;
      }
      if (collected === keywords.length && advance(7, 0, { dramaId })) {
        t += Math.trunc(between(5, 20) * SECOND);
        if (t <= now && intended >= 8) {
          emit('magic_moment_started', t, { dramaId });
          if (advance(8, between(60, 90) * SECOND, { dramaId })) {
            plan.magicMoment = true;
            plan.magicMomentAt = t;
          }
        }
      }
    }

    // Activated learners come back on later days (local calendar days in tz).
    if (plan.magicMoment) {
      const activatedDay = localDay(t, options.tz);
      for (let day = 1; day <= 7; day++) {
        if (random() >= (day === 1 ? options.returnDay2Rate : options.returnLaterRate)) continue;
        const at = dayStart(activatedDay + day, options.tz) + between(8, 22) * 60 * MINUTE;
        if (at > now) continue;
        emit('app_launched', at);
        // They answer the reviews due then, as the server schedules them (FSRS).
        let reviewAt = Math.trunc(at + between(30, 120) * SECOND);
        for (const [keywordId, card] of cards) {
          if (Date.parse(card.due) > reviewAt || reviewAt > now || plan.reviews.length >= MAX_REVIEWS) continue;
          const correct = random() < options.reviewCorrectRate;
          const next = review(card, new Date(reviewAt), correct ? 'good' : 'again');
          cards.set(keywordId, next);
          plan.reviews.push({ keywordId, correct, at: reviewAt });
          emit('srs_card_reviewed', reviewAt, {
            keywordId,
            dramaId,
            correct,
            rating: correct ? 'good' : 'again',
            scheduledDays: next.scheduled_days,
          });
          reviewAt += Math.trunc(between(8, 20) * SECOND);
        }
      }
    }
    // Feedback: the magic moment's self-assessment right after it, and now and then a
    // word on the app a few minutes after the learner's first session ends.
    if (plan.magicMoment) {
      const emotion =
        random() < 0.75
          ? pick(['fully_understood', 'easier_than_expected', 'got_the_gist', 'want_more'] as const)
          : pick(['a_bit_hard', 'did_not_understand', 'too_hard'] as const);
      plan.feedback.push({ type: 'magic_moment', emotion, at: Math.trunc(Math.min(now, t + between(5, 30) * SECOND)) });
    }
    const at = Math.trunc(Math.min(now, t + between(1, 10) * MINUTE));
    const roll = random();
    if (roll < 0.15)
      plan.feedback.push({
        type: 'overall_experience',
        rating: 4 + Math.floor(random() * 2),
        text: pick(FEEDBACK_TEXTS.positive),
        at,
      });
    else if (roll < 0.23)
      plan.feedback.push({
        type: 'overall_experience',
        rating: 2 + Math.floor(random() * 2),
        text: pick(FEEDBACK_TEXTS.negative),
        at,
      });
    else if (roll < 0.29)
      plan.feedback.push({
        type: 'overall_experience',
        rating: 3 + Math.floor(random() * 2),
        text: pick(FEEDBACK_TEXTS.mixed),
        at,
      });
    else if (roll < 0.33) plan.feedback.push({ type: 'bug_report', text: pick(FEEDBACK_TEXTS.bug), at });
    else if (roll < 0.35) plan.feedback.push({ type: 'bug_report', rating: 1, text: pick(FEEDBACK_TEXTS.urgent), at });
    else if (roll < 0.38) plan.feedback.push({ type: 'feature_request', text: pick(FEEDBACK_TEXTS.feature), at });
    plan.events.sort((a, b) => a.at - b.at);
    plans.push(plan);
  }
  return plans;
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
