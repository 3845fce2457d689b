/**
 * A learner's way through a drama: vTPR attempts collect story clues (keywords),
 * all clues open the magic moment, the magic moment completes the drama and
 * unlocks the next chapter. The rules live here; the queries in progress-store.ts.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import { retryWhole } from '../db/retry.js';
import { AppError } from '../errors.js';
import { type Catalog, lockStates } from './content.js';
import type { EmotionId } from './emotions.js';
import type { JourneyEvent, JourneyEventSink } from './journey-events.js';
import {
  clueState,
  completeDrama,
  completedDramas,
  countCollected,
  markCluesCompleted,
  progressRows,
  recordClueAttempt,
  startDrama,
} from './progress-store.js';
import { firstReview } from './srs.js';

export type LearningMode = 'normal' | 'focus' | 'rescue';

/** Two errors in a row on a clue start focus mode; four start rescue mode. */
export const FOCUS_AFTER_ERRORS = 2;
export const RESCUE_AFTER_ERRORS = 4;
/** Focus mode: two clips (the right one and one other) instead of four, played at this rate. */
export const FOCUS_PLAYBACK_RATE = 0.75;

const MODE_ZH: Record<LearningMode, string> = { normal: '普通模式', focus: '专注模式', rescue: '救援模式' };

export function suggestedMode(consecutiveErrors: number): LearningMode {
  if (consecutiveErrors >= RESCUE_AFTER_ERRORS) return 'rescue';
  if (consecutiveErrors >= FOCUS_AFTER_ERRORS) return 'focus';
  return 'normal';
}

export interface AttemptInput {
  /** The clip the learner picked; the server grades it. */
  selectedClipId?: string | undefined;
  /** Client-graded result: taken only in rescue mode (the answer shown, pronunciation graded on the device). */
  correct?: boolean | undefined;
  /** The mode the client shows; the server derives it, and refuses a different one. */
  mode?: LearningMode | undefined;
  responseMs?: number | undefined;
}

/** What a mode changes for the learner, for the client to show. */
export interface ModeHelp {
  /** Focus: the clips to offer (the right one and one other, in this order). */
  focus: { clipIds: string[]; playbackRate: number } | null;
  /** Rescue: the right answer, and why. */
  rescue: {
    clipId: string;
    word: string;
    phonetic: string;
    translationZh: string;
    example: { en: string; zh: string };
  } | null;
}

export interface AttemptResult extends ModeHelp {
  keywordId: string;
  dramaId: string;
  correct: boolean;
  /** server: graded by selectedClipId; client: taken from `correct` (rescue mode only). */
  graded: 'server' | 'client';
  /** The mode this attempt was made in (derived by the server). */
  mode: LearningMode;
  collected: boolean;
  newlyCollected: boolean;
  attempts: number;
  consecutiveErrors: number;
  suggestedMode: LearningMode;
  nextReviewAt: Date | null;
  drama: { collected: number; total: number; allCollected: boolean };
}

/** Everything a learning action needs besides its input. */
export interface LearningDeps {
  db: Db;
  catalog: Catalog;
  /** Where the action's own analytics events go (journey-events.ts). */
  events: JourneyEventSink;
}

function assertUnlocked(catalog: Catalog, dramaId: string, completed: ReadonlySet<string>): void {
  const drama = catalog.dramaById.get(dramaId);
  if (!drama) throw new AppError('SMT_ERR_DRAMA_NOT_FOUND');
  const state = lockStates(catalog.dramasByInterest.get(drama.interest_id) ?? [], completed).get(dramaId);
  if (state?.locked) {
    throw new AppError(
      'SMT_ERR_DRAMA_LOCKED',
      { en: `Complete the magic moment of ${state.requires} first`, zh: `请先完成 ${state.requires} 的魔法时刻` },
      {
        requires: state.requires,
      },
    );
  }
}

/** A number from a learner and a keyword: the same on every retry, different between learners. */
const stableDraw = (userId: string, keywordId: string) =>
  createHash('sha256').update(`${userId}:${keywordId}`).digest().readUInt32BE(0);

/** What focus and rescue mode show on a keyword, for this learner. */
export function modeHelp(catalog: Catalog, userId: string, keywordId: string, mode: LearningMode): ModeHelp {
  const keyword = catalog.keywordById.get(keywordId);
  const clips = catalog.clipsByKeyword.get(keywordId) ?? [];
  const right = clips.find((clip) => clip.is_correct);
  if (!keyword || !right || mode === 'normal') return { focus: null, rescue: null };
  if (mode === 'rescue') {
    return {
      focus: null,
      rescue: {
        clipId: right.id,
        word: keyword.word,
        phonetic: keyword.phonetic,
        translationZh: keyword.translation_zh,
        example: { en: keyword.example_en, zh: keyword.example_zh },
      },
    };
  }
  const wrong = clips.filter((clip) => !clip.is_correct);
  const draw = stableDraw(userId, keywordId);
  const other = wrong[draw % Math.max(wrong.length, 1)];
  const pair = other ? [right.id, other.id] : [right.id];
  return { focus: { clipIds: draw & 0x10000 ? pair.reverse() : pair, playbackRate: FOCUS_PLAYBACK_RATE }, rescue: null };
}

/**
 * Record one vTPR attempt on a keyword, made at `at`, in one transaction with the
 * analytics events it makes (keyword_attempt; vtpr_learning_started on a drama's first
 * attempt; focus_mode_triggered / rescue_mode_triggered when the run of errors reaches a
 * mode; first_clue_completed; all_clues_completed).
 */
export async function recordAttempt(
  deps: LearningDeps,
  userId: string,
  keywordId: string,
  input: AttemptInput,
  at: Date,
): Promise<AttemptResult> {
  const { db, catalog } = deps;
  const keyword = catalog.keywordById.get(keywordId);
  if (!keyword) throw new AppError('SMT_ERR_KEYWORD_NOT_FOUND');
  const dramaId = keyword.drama_id;
  if (input.selectedClipId !== undefined && input.correct !== undefined)
    throw new AppError('SMT_ERR_VALIDATION', {
      en: 'Give selectedClipId (server-graded) or correct (rescue mode), not both',
      zh: '请只提供 selectedClipId（服务器评分）或 correct（救援模式）其中之一',
    });
  let serverGrade: boolean | undefined;
  if (input.selectedClipId !== undefined) {
    const clip = catalog.clipsByKeyword.get(keywordId)?.find((c) => c.id === input.selectedClipId);
    if (!clip) throw new AppError('SMT_ERR_CLIP_NOT_FOUND', undefined, { selectedClipId: input.selectedClipId });
    serverGrade = clip.is_correct;
  } else if (input.correct === undefined) {
    throw new AppError('SMT_ERR_VALIDATION', {
      en: 'Give selectedClipId: the clip the learner picked',
      zh: '请提供 selectedClipId：学习者选择的视频片段',
    });
  }
  const total = catalog.keywordsByDrama.get(dramaId)?.length ?? 0;

  const outcome = await retryWhole(() =>
    db.kysely.transaction().execute(async (trx) => {
      assertUnlocked(catalog, dramaId, await completedDramas(trx, userId));
      const before = await clueState(trx, userId, keywordId);
      const mode = suggestedMode(before.consecutiveErrors);
      if (input.mode !== undefined && input.mode !== mode)
        throw new AppError(
          'SMT_ERR_MODE_MISMATCH',
          { en: `This clue is in ${mode} mode for the learner`, zh: `这个线索当前处于 ${MODE_ZH[mode]}` },
          { mode },
        );
      // A client-graded answer is taken only once the server has shown the answer (rescue
      // mode): anything else would let a client collect clues, and activate, unchecked.
      if (serverGrade === undefined && mode !== 'rescue')
        throw new AppError('SMT_ERR_VALIDATION', {
          en: 'Grade by selectedClipId; a client-graded answer (correct) is taken in rescue mode only',
          zh: '请用 selectedClipId 由服务器评分；客户端自评（correct）只在救援模式下接受',
        });
      const correct = serverGrade ?? (input.correct as boolean);
      // Collecting is the keyword's first review (srs.ts): at the first try Good, after
      // errors Hard, once rescue mode showed the answer Again (the earliest review).
      const card = firstReview(at, before.consecutiveErrors === 0 ? 'good' : mode === 'rescue' ? 'again' : 'hard');
      const row = await recordClueAttempt(trx, { userId, keywordId, correct, mode, at, card });
      const started = await startDrama(trx, userId, dramaId, at);
      const collected = await countCollected(trx, userId, dramaId);
      const allNow = collected >= total && (await markCluesCompleted(trx, userId, dramaId, at));
      const newlyCollected = before.collectedAt === null && row.collected_at !== null;
      const next = suggestedMode(row.consecutive_errors);
      const attemptScope = `${keywordId}:${row.attempts}`;
      const graded = serverGrade === undefined ? 'client' : 'server';
      const events: JourneyEvent[] = [];
      if (started) events.push({ name: 'vtpr_learning_started', scope: dramaId, at, properties: { dramaId } });
      events.push({
        name: 'keyword_attempt',
        scope: attemptScope,
        at,
        properties: {
          keywordId,
          dramaId,
          correct,
          mode,
          graded,
          ...(input.responseMs === undefined ? {} : { responseMs: input.responseMs }),
        },
      });
      if (next !== mode && next !== 'normal')
        events.push({
          name: next === 'focus' ? 'focus_mode_triggered' : 'rescue_mode_triggered',
          scope: attemptScope,
          at,
          properties: { keywordId, dramaId },
        });
      if (newlyCollected && collected === 1)
        events.push({ name: 'first_clue_completed', scope: 'first', at, properties: { dramaId, keywordId } });
      if (allNow) events.push({ name: 'all_clues_completed', scope: dramaId, at, properties: { dramaId } });
      await deps.events.record(trx, userId, events);
      return {
        keywordId,
        dramaId,
        correct,
        graded,
        mode,
        collected: row.collected_at !== null,
        newlyCollected,
        attempts: row.attempts,
        consecutiveErrors: row.consecutive_errors,
        suggestedMode: next,
        nextReviewAt: row.next_review_at,
        drama: { collected, total, allCollected: collected >= total },
      } satisfies Omit<AttemptResult, keyof ModeHelp>;
    }),
  );
  return { ...outcome, ...modeHelp(catalog, userId, keywordId, outcome.collected ? 'normal' : outcome.suggestedMode) };
}

export interface MagicMomentResult {
  dramaId: string;
  completedAt: Date;
  /** False when this drama's magic moment was already completed before. */
  firstCompletion: boolean;
  /** True on the learner's first magic moment ever: activation. */
  activated: boolean;
  unlockedDramaId: string | null;
  /** The theme badge, when this completes the theme's last chapter. */
  badgeEarned: string | null;
}

/**
 * Complete a drama's magic moment at `at` (all clues must be collected), with its
 * magic_moment_completed event in the same transaction. Idempotent.
 */
export async function completeMagicMoment(
  deps: LearningDeps,
  userId: string,
  dramaId: string,
  understanding: EmotionId | undefined,
  at: Date,
): Promise<MagicMomentResult> {
  const { db, catalog } = deps;
  const drama = catalog.dramaById.get(dramaId);
  if (!drama) throw new AppError('SMT_ERR_DRAMA_NOT_FOUND');
  const total = catalog.keywordsByDrama.get(dramaId)?.length ?? 0;
  const chapters = catalog.dramasByInterest.get(drama.interest_id) ?? [];
  return retryWhole(() =>
    db.kysely.transaction().execute(async (trx) => {
      const completed = await completedDramas(trx, userId);
      assertUnlocked(catalog, dramaId, completed);
      const collected = await countCollected(trx, userId, dramaId);
      if (collected < total) {
        throw new AppError('SMT_ERR_CLUES_INCOMPLETE', undefined, { collected, total });
      }
      const { completedAt, before } = await completeDrama(trx, userId, dramaId, understanding, at);
      const firstCompletion = before === null;
      if (firstCompletion) {
        await deps.events.record(trx, userId, [
          {
            name: 'magic_moment_completed',
            scope: dramaId,
            at: completedAt,
            properties: { dramaId, ...(understanding ? { understanding } : {}) },
          },
        ]);
      }
      const next = chapters.find((c) => c.chapter === drama.chapter + 1);
      const isLast = chapters.every((c) => c.id === dramaId || completed.has(c.id));
      return {
        dramaId,
        completedAt,
        firstCompletion,
        activated: firstCompletion && completed.size === 0,
        unlockedDramaId: firstCompletion ? (next?.id ?? null) : null,
        badgeEarned: firstCompletion && isLast ? (catalog.interestById.get(drama.interest_id)?.badge_en ?? null) : null,
      };
    }),
  );
}

export interface ProgressReport {
  userId: string;
  keywordsCollected: number;
  dramasCompleted: number;
  reviewsDue: number;
  interests: Array<{
    id: string;
    selected: boolean;
    badgeEarned: boolean;
    dramas: Array<{
      id: string;
      chapter: number;
      locked: boolean;
      collected: number;
      total: number;
      cluesCompletedAt: Date | null;
      magicMomentCompletedAt: Date | null;
    }>;
  }>;
}

export async function getProgress(db: Db, catalog: Catalog, userId: string): Promise<ProgressReport> {
  const rows = await progressRows(db.kysely, userId);
  const dramaRows = rows.dramas;
  const byDrama = new Map(dramaRows.map((row) => [row.drama_id, row]));
  const collectedByDrama = new Map(rows.collectedByDrama.map((row) => [row.drama_id, row.n]));
  const completed = new Set(dramaRows.filter((row) => row.magic_moment_completed_at).map((row) => row.drama_id));
  const selected = new Set(rows.interests.map((row) => row.interest_id));
  const interests = catalog.interests.map((interest) => {
    const chapters = catalog.dramasByInterest.get(interest.id) ?? [];
    const locks = lockStates(chapters, completed);
    return {
      id: interest.id,
      selected: selected.has(interest.id),
      badgeEarned: chapters.length > 0 && chapters.every((c) => completed.has(c.id)),
      dramas: chapters.map((drama) => ({
        id: drama.id,
        chapter: drama.chapter,
        locked: locks.get(drama.id)?.locked ?? false,
        collected: collectedByDrama.get(drama.id) ?? 0,
        total: catalog.keywordsByDrama.get(drama.id)?.length ?? 0,
        cluesCompletedAt: byDrama.get(drama.id)?.clues_completed_at ?? null,
        magicMomentCompletedAt: byDrama.get(drama.id)?.magic_moment_completed_at ?? null,
      })),
    };
  });
  return {
    userId,
    keywordsCollected: [...collectedByDrama.values()].reduce((a, b) => a + b, 0),
    dramasCompleted: completed.size,
    reviewsDue: rows.reviewsDue,
    interests,
  };
}
